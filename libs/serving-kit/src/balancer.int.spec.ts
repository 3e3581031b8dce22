// Client-side load balancing over real gRPC replicas on loopback.
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { Registry } from 'prom-client';
import { AdminClient, HealthOverride, RetrievalClient, RetrievalService, RetrieveRequest } from '@ranksafe/proto';
import { adminMetadata } from './auth';
import { REPLICA_CHANNEL_OPTIONS, ReplicaPool, type ReplicaPoolOptions } from './balancer';
import { unaryCall } from './client';
import { loadConfig, serviceEnvSchema } from './config';
import { GrpcError, invalidArgument, unimplemented } from './errors';
import { unary } from './handlers';
import { createLogger } from './logger';
import { serve, type RunningService } from './server';

const TOKEN = 'test-admin-token-0123456789';
const insecure = grpc.credentials.createInsecure();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A replica whose Retrieve answers with its name, or fails with `failWith` when set. */
interface Replica {
  name: string;
  svc: RunningService;
  hits: number;
  failWith?: grpc.status;
  /** Answer this much later (a replica stalled for a moment). */
  delayMs?: number;
}

async function startReplica(name: string, port = 0): Promise<Replica> {
  const rep = { name, hits: 0 } as Replica;
  const env = loadConfig('test', serviceEnvSchema, {
    GRPC_PORT: String(port),
    METRICS_PORT: '-1',
    LOG_LEVEL: 'silent',
    ADMIN_TOKEN: TOKEN,
    SHUTDOWN_GRACE_MS: '2000',
    INSTANCE_ID: name,
  });
  rep.svc = await serve({
    component: 'test-replica',
    env,
    handleSignals: false,
    services: [
      {
        definition: RetrievalService,
        name: 'ranksafe.v1.Retrieval',
        implementation: {
          // Every other method (the service grows) answers UNIMPLEMENTED.
          ...Object.fromEntries(Object.keys(RetrievalService).map((k) => [k, unary(async () => Promise.reject(unimplemented(k)))])),
          retrieve: unary(async (req: RetrieveRequest) => {
            rep.hits++;
            if (rep.delayMs) await sleep(rep.delayMs);
            if (!req.query) throw invalidArgument('query', 'must not be empty');
            if (rep.failWith !== undefined) throw new GrpcError(rep.failWith, `${name} failing on purpose`);
            return { candidates: [], indexVersion: name };
          }),
        },
      },
    ],
  });
  rep.svc.setReady(true);
  return rep;
}

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const req = (query = 'shoes') => RetrieveRequest.fromPartial({ query, topN: 10 });

describe('ReplicaPool', () => {
  let a: Replica;
  let b: Replica;
  let pool: ReplicaPool<RetrievalClient> | undefined;
  let registry: Registry;

  const makePool = (opts: Partial<ReplicaPoolOptions> = {}) => {
    registry = new Registry();
    pool = new ReplicaPool<RetrievalClient>(
      {
        name: 'retrieval',
        targets: [a.svc.address, b.svc.address],
        healthService: 'ranksafe.v1.Retrieval',
        healthIntervalMs: 100,
        ejectForMs: 300,
        registry,
        logger: createLogger('test', 'silent'),
        ...opts,
      },
      (t) => new RetrievalClient(t, insecure, REPLICA_CHANNEL_OPTIONS),
    );
    pool.start();
    return pool;
  };
  const ready = async (p: ReplicaPool<RetrievalClient>, n = 2) => until(`${n} ready replicas`, () => p.readyCount() === n);
  const retrieve = (p: ReplicaPool<RetrievalClient>, idempotent = true, query = 'shoes', deadlineMs = 3000) =>
    p.call((c) => c.retrieve, req(query), { deadlineMs, idempotent });
  const stateOf = (p: ReplicaPool<RetrievalClient>, r: Replica) => p.snapshot().find((s) => s.target === r.svc.address)!.state;
  const metric = async (name: string, labels: Record<string, string>) => {
    const m = (await registry.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
    return m?.value ?? 0;
  };

  beforeEach(async () => {
    [a, b] = await Promise.all([startReplica('a'), startReplica('b')]);
  });
  afterEach(async () => {
    pool?.close();
    pool = undefined;
    await Promise.all([a.svc.shutdown(), b.svc.shutdown()]);
  });

  it('spreads calls round robin across healthy replicas and reports per-target metrics', async () => {
    const p = makePool();
    await ready(p);
    const served: string[] = [];
    for (let i = 0; i < 10; i++) served.push((await retrieve(p)).indexVersion);
    expect(served.filter((s) => s === 'a')).toHaveLength(5);
    expect(served.filter((s) => s === 'b')).toHaveLength(5);
    expect(a.hits).toBe(5);
    expect(b.hits).toBe(5);
    expect(p.snapshot()).toEqual([
      { target: a.svc.address, state: 'ready', health: 'SERVING', consecutiveFailures: 0, inflight: 0 },
      { target: b.svc.address, state: 'ready', health: 'SERVING', consecutiveFailures: 0, inflight: 0 },
    ]);
    expect(await metric('ranksafe_client_requests_total', { pool: 'retrieval', target: b.svc.address, code: 'OK' })).toBe(5);
    expect(await metric('ranksafe_client_replica_ready', { pool: 'retrieval', target: a.svc.address })).toBe(1);
  });

  it('loses no idempotent call when a replica stops mid-stream', async () => {
    const p = makePool();
    await ready(p);
    const results: string[] = [];
    let stopped: Promise<void> | undefined;
    const worker = async () => {
      for (let i = 0; i < 40; i++) {
        results.push((await retrieve(p)).indexVersion);
        if (results.length === 30) stopped = b.svc.shutdown('test');
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    await stopped;
    // Every attempt that failed on the stopping replica was retried on the other one.
    const failedOnB = await metric('ranksafe_client_requests_total', { target: b.svc.address, code: 'UNAVAILABLE' });
    expect(await metric('ranksafe_client_retries_total', { outcome: 'attempted' })).toBe(failedOnB);
    expect(results).toHaveLength(160);
    expect(results.filter((r) => r === 'b').length).toBeGreaterThan(0);
    expect(results.filter((r) => r === 'a').length).toBeGreaterThan(80);
    await until('b out of rotation', () => stateOf(p, b) !== 'ready');
    expect(p.readyCount()).toBe(1);
    // After the stop every call goes to a, without errors.
    for (let i = 0; i < 5; i++) await expect(retrieve(p)).resolves.toMatchObject({ indexVersion: 'a' });
  });

  it('sends no traffic to a replica whose health says NOT_SERVING, and takes it back after', async () => {
    const p = makePool();
    await ready(p);
    const admin = new AdminClient(b.svc.address, insecure);
    const md = () => adminMetadata(new grpc.Metadata(), TOKEN);
    try {
      await unaryCall(admin.setHealthOverride.bind(admin), { override: HealthOverride.HEALTH_OVERRIDE_NOT_SERVING }, { metadata: md() });
      await until('b not serving', () => stateOf(p, b) === 'not_serving');
      expect(p.readyCount()).toBe(1);
      const before = b.hits;
      for (let i = 0; i < 10; i++) await expect(retrieve(p, false)).resolves.toMatchObject({ indexVersion: 'a' });
      expect(b.hits).toBe(before);
      expect(await metric('ranksafe_client_replica_ready', { pool: 'retrieval', target: b.svc.address })).toBe(0);

      await unaryCall(admin.setHealthOverride.bind(admin), { override: HealthOverride.HEALTH_OVERRIDE_NONE }, { metadata: md() });
      await ready(p);
      for (let i = 0; i < 4; i++) await retrieve(p, false);
      expect(b.hits).toBeGreaterThan(before);
    } finally {
      admin.close();
    }
  });

  it('retries an idempotent UNAVAILABLE on the other replica while the budget lasts, then returns the error', async () => {
    // ratio 0 and 0.1/s over the 10 s window: exactly one retry in the window.
    const p = makePool({ retryBudget: { ratio: 0, minPerSecond: 0.1 }, ejectAfterFailures: 100 });
    await ready(p);
    a.failWith = grpc.status.UNAVAILABLE;
    b.failWith = grpc.status.UNAVAILABLE;

    const first = await retrieve(p).catch((e) => e);
    expect(first.code).toBe(grpc.status.UNAVAILABLE);
    expect(a.hits + b.hits).toBe(2); // tried on both replicas
    expect(a.hits).toBe(1);

    const second = await retrieve(p).catch((e) => e);
    expect(second.code).toBe(grpc.status.UNAVAILABLE);
    expect(second.details).toMatch(/^[ab] failing on purpose$/);
    expect(a.hits + b.hits).toBe(3); // budget spent: no retry
    expect(await metric('ranksafe_client_retries_total', { pool: 'retrieval', outcome: 'attempted' })).toBe(1);
    expect(await metric('ranksafe_client_retries_total', { pool: 'retrieval', outcome: 'budget_exhausted' })).toBe(1);
  });

  it('retries RESOURCE_EXHAUSTED (an overloaded replica) on another replica', async () => {
    const p = makePool();
    await ready(p);
    b.failWith = grpc.status.RESOURCE_EXHAUSTED;
    for (let i = 0; i < 4; i++) await expect(retrieve(p)).resolves.toMatchObject({ indexVersion: 'a' });
    expect(b.hits).toBeGreaterThan(0);
    expect(a.hits).toBe(4);
    expect(stateOf(p, b)).toBe('ready'); // overload does not eject
  });

  it('an attempt that runs out of its attemptTimeoutMs is tried again on another replica, within the whole deadline', async () => {
    const p = makePool({ ejectAfterFailures: 100 });
    await ready(p);
    b.delayMs = 1000;
    for (let i = 0; i < 4; i++) {
      const t0 = Date.now();
      await expect(p.call((c) => c.retrieve, req(), { deadlineMs: 600, attemptTimeoutMs: 200, idempotent: true })).resolves.toMatchObject({
        indexVersion: 'a',
      });
      expect(Date.now() - t0).toBeLessThan(600);
    }
    expect(b.hits).toBeGreaterThan(0);
    expect(await metric('ranksafe_client_retries_total', { pool: 'retrieval', outcome: 'attempted' })).toBe(b.hits);
    // Without a per-attempt timeout, the stalled replica takes the whole deadline: no time to retry.
    a.delayMs = 1000;
    const err = await p.call((c) => c.retrieve, req(), { deadlineMs: 300, idempotent: true }).catch((e) => e);
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });

  it('never retries a non-idempotent call', async () => {
    const p = makePool({ ejectAfterFailures: 100 });
    await ready(p);
    a.failWith = grpc.status.UNAVAILABLE;
    b.failWith = grpc.status.UNAVAILABLE;
    const err = await retrieve(p, false).catch((e) => e);
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(a.hits + b.hits).toBe(1);
    expect(await metric('ranksafe_client_retries_total', { pool: 'retrieval', outcome: 'attempted' })).toBe(0);
  });

  it('does not retry INVALID_ARGUMENT, nor count it against the replica', async () => {
    const p = makePool({ ejectAfterFailures: 1 });
    await ready(p);
    for (let i = 0; i < 3; i++) {
      const err = await retrieve(p, true, '').catch((e) => e);
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toBe('query: must not be empty');
    }
    expect(a.hits + b.hits).toBe(3);
    expect(p.snapshot().map((s) => [s.state, s.consecutiveFailures])).toEqual([
      ['ready', 0],
      ['ready', 0],
    ]);
  });

  it('ejects a replica after consecutive failures and takes it back once it recovers and reports SERVING', async () => {
    const lines: Array<{ msg: string; target?: string; to?: string; pool?: string }> = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const p = makePool({ ejectAfterFailures: 3, logger });
    await ready(p);
    b.failWith = grpc.status.INTERNAL; // health still SERVING: only the calls show the problem
    for (let i = 0; i < 6; i++) await retrieve(p, false).catch(() => undefined);
    expect(b.hits).toBe(3);
    expect(stateOf(p, b)).toBe('ejected');
    expect(p.readyCount()).toBe(1);
    expect(await metric('ranksafe_client_ejections_total', { pool: 'retrieval', target: b.svc.address })).toBe(1);
    for (let i = 0; i < 5; i++) await expect(retrieve(p, false)).resolves.toMatchObject({ indexVersion: 'a' });
    expect(b.hits).toBe(3);

    // Fixed, but reporting NOT_SERVING: stays out even after the ejection time.
    b.failWith = undefined;
    b.svc.setReady(false);
    await sleep(700);
    expect(stateOf(p, b)).toBe('ejected');
    for (let i = 0; i < 3; i++) await retrieve(p, false);
    expect(b.hits).toBe(3);

    b.svc.setReady(true);
    await until('b back in rotation', () => stateOf(p, b) === 'ready');
    for (let i = 0; i < 4; i++) await retrieve(p, false);
    expect(b.hits).toBeGreaterThan(3);
    expect(p.snapshot().every((s) => s.consecutiveFailures === 0)).toBe(true);
    const bChanges = lines.filter((l) => l.msg === 'replica state changed' && l.target === b.svc.address).map((l) => l.to);
    expect(bChanges).toEqual(['ready', 'ejected', 'ready']);
    expect(lines.find((l) => l.msg === 'replica ejected')).toMatchObject({ pool: 'retrieval', target: b.svc.address });
  });

  it('re-admits an ejected replica on its first passing health check after it went down (a restart), not after the ejection backoff', async () => {
    const lines: Array<{ msg: string; target?: string; to?: string; reason?: string }> = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    // An ejection far longer than the test: only a recovery can bring b back in time.
    const p = makePool({ ejectAfterFailures: 3, ejectForMs: 40_000, logger });
    await ready(p);
    const target = b.svc.address;
    b.failWith = grpc.status.INTERNAL;
    for (let i = 0; i < 6; i++) await retrieve(p, false).catch(() => undefined);
    expect(stateOf(p, b)).toBe('ejected');

    // Fixed, health SERVING all along (a gray failure): it serves its ejection.
    b.failWith = undefined;
    await sleep(600); // several health checks, all SERVING
    expect(stateOf(p, b)).toBe('ejected');
    for (let i = 0; i < 3; i++) await retrieve(p, false);
    expect(b.hits).toBe(3);

    // Killed and restarted on the same port (what Recovery does through the Platform).
    const port = b.svc.port;
    await b.svc.shutdown();
    await until('a failed health check of b', () => p.snapshot().find((x) => x.target === target)!.health === 'UNREACHABLE');
    expect(stateOf(p, b)).toBe('ejected');
    b = await startReplica('b', port);
    await until('b back in rotation', () => stateOf(p, b) === 'ready');
    const back = lines.filter((l) => l.target === target && l.msg === 'replica state changed').pop();
    expect(back).toMatchObject({ to: 'ready', reason: 'recovered: health SERVING again after a failed check' });
    for (let i = 0; i < 4; i++) await retrieve(p, false);
    expect(b.hits).toBeGreaterThan(0);

    // Its backoff started over: failing again ejects it for the base time, not double.
    b.failWith = grpc.status.INTERNAL;
    for (let i = 0; i < 8 && stateOf(p, b) !== 'ejected'; i++) await retrieve(p, false).catch(() => undefined);
    expect(stateOf(p, b)).toBe('ejected');
    const ejected = lines.filter((l) => l.msg === 'replica ejected' && l.target === target) as Array<{ ejectForMs?: number }>;
    expect(ejected.map((l) => l.ejectForMs)).toEqual([40_000, 40_000]); // without the reset: 40 s, then 60 s
  });

  it('still calls replicas that are not known to be healthy when none is SERVING', async () => {
    a.svc.setReady(false);
    b.svc.setReady(false);
    const p = makePool();
    await until('health known', () => p.snapshot().every((s) => s.state === 'not_serving'));
    expect(p.readyCount()).toBe(0);
    await expect(retrieve(p)).resolves.toBeDefined();
    await expect(retrieve(p)).resolves.toBeDefined();
    expect(a.hits).toBe(1);
    expect(b.hits).toBe(1);
  });

  it('ejects no more than maxEjectedPercent, and fails fast when every replica is ejected', async () => {
    a.failWith = grpc.status.UNAVAILABLE;
    b.failWith = grpc.status.UNAVAILABLE;
    const half = makePool({ ejectAfterFailures: 2, ejectForMs: 60_000 });
    await ready(half);
    for (let i = 0; i < 8; i++) await retrieve(half, false).catch(() => undefined);
    expect(half.snapshot().filter((s) => s.state === 'ejected')).toHaveLength(1);
    half.close();

    const all = makePool({ ejectAfterFailures: 2, ejectForMs: 60_000, maxEjectedPercent: 100 });
    await ready(all);
    for (let i = 0; i < 4; i++) await retrieve(all, false).catch(() => undefined);
    expect(all.snapshot().map((s) => s.state)).toEqual(['ejected', 'ejected']);
    const hits = a.hits + b.hits;
    const err = await retrieve(all).catch((e) => e);
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toBe(`no ready retrieval replica (${a.svc.address}=ejected, ${b.svc.address}=ejected)`);
    expect(a.hits + b.hits).toBe(hits);
  });
});
