// Real gRPC over loopback: the one server bootstrap every service uses.
import * as http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { AdminClient, FaultKind, HealthOverride, RetrievalClient, RetrievalService, RetrieveRequest, type RetrieveResponse } from '@ranksafe/proto';
import { adminMetadata } from './auth';
import { checkHealth, listReflectedServices, unaryCall } from './client';
import { loadConfig, serviceEnvSchema } from './config';
import { invalidArgument } from './errors';
import { unary } from './handlers';
import { serve, type RunningService } from './server';

const TOKEN = 'test-admin-token-0123456789';
const insecure = grpc.credentials.createInsecure();

function retrievalImpl(onRetrieve: (req: RetrieveRequest) => Promise<RetrieveResponse>) {
  return {
    retrieve: unary(onRetrieve),
    getProducts: unary(async () => ({ products: [], missingIds: [], rankTexts: [] })),
    getUserHistory: unary(async () => ({ interactions: [] })),
    loadIndex: unary(async () => ({ indexVersion: 'v1', products: 0 })),
    describeIndex: unary(async () => ({ indexVersion: 'v1', products: 3, sha256: 'abc', loadedAtUnixMs: 1, users: 0, embeddingModel: undefined, path: '' })),
  };
}

async function start(env: Record<string, string> = {}, onRetrieve?: (req: RetrieveRequest) => Promise<RetrieveResponse>, admittedMethods: string[] = []) {
  const cfg = loadConfig('test', serviceEnvSchema, {
    GRPC_PORT: '0',
    METRICS_PORT: '0',
    LOG_LEVEL: 'silent',
    ADMIN_TOKEN: TOKEN,
    SHUTDOWN_GRACE_MS: '5000',
    ...env,
  });
  return serve({
    component: 'test-service',
    env: cfg,
    handleSignals: false,
    services: [
      {
        definition: RetrievalService,
        name: 'ranksafe.v1.Retrieval',
        implementation: retrievalImpl(
          onRetrieve ??
            (async (req) => {
              if (!req.query) throw invalidArgument('query', 'must not be empty');
              if (req.query === 'boom') throw new Error('kaboom with secret details');
              return { candidates: [], indexVersion: 'v1' };
            }),
        ),
        adminMethods: ['loadIndex'],
        admittedMethods,
      },
    ],
  });
}

function get(url: string): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) =>
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
      })
      .on('error', reject),
  );
}

describe('serve()', () => {
  let svc: RunningService;
  let retrieval: RetrievalClient;
  let admin: AdminClient;
  const md = () => adminMetadata(new grpc.Metadata(), TOKEN);

  beforeAll(async () => {
    svc = await start();
    retrieval = new RetrievalClient(svc.address, insecure);
    admin = new AdminClient(svc.address, insecure);
  });
  afterAll(async () => {
    retrieval.close();
    admin.close();
    await svc.shutdown();
  });

  it('reports NOT_SERVING until ready, then SERVING for the server and each service', async () => {
    expect((await checkHealth(svc.address)).status).toBe('NOT_SERVING');
    svc.setReady(true);
    expect((await checkHealth(svc.address)).status).toBe('SERVING');
    expect((await checkHealth(svc.address, 'ranksafe.v1.Retrieval')).status).toBe('SERVING');
    expect((await checkHealth(svc.address, 'no.such.Service')).status).toBe('SERVICE_UNKNOWN');
  });

  it('lists the services it serves, and only those, through server reflection', async () => {
    const names = await listReflectedServices(svc.address);
    // Only what this server serves: not the other services of the protos (Ranking, Search, ModelRegistry …).
    expect(names).toEqual(['grpc.health.v1.Health', 'ranksafe.v1.Admin', 'ranksafe.v1.Retrieval']);
  });

  it('answers bad input with INVALID_ARGUMENT naming the field', async () => {
    const err = await unaryCall(retrieval.retrieve.bind(retrieval), RetrieveRequest.fromPartial({ query: '' })).catch((e) => e);
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toBe('query: must not be empty');
    expect(err.metadata.get('field')).toEqual(['query']);
  });

  it('turns an unexpected handler error into INTERNAL without leaking it, and keeps serving', async () => {
    const err = await unaryCall(retrieval.retrieve.bind(retrieval), RetrieveRequest.fromPartial({ query: 'boom' })).catch((e) => e);
    expect(err.code).toBe(grpc.status.INTERNAL);
    expect(err.details).not.toContain('secret');
    await expect(unaryCall(retrieval.retrieve.bind(retrieval), RetrieveRequest.fromPartial({ query: 'ok' }))).resolves.toMatchObject({ indexVersion: 'v1' });
  });

  it('guards admin RPCs with the token', async () => {
    const noToken = await unaryCall(admin.listFaults.bind(admin), {}).catch((e) => e);
    expect(noToken.code).toBe(grpc.status.UNAUTHENTICATED);
    const wrong = await unaryCall(admin.listFaults.bind(admin), {}, { metadata: adminMetadata(new grpc.Metadata(), 'wrong-token-wrong-token!!') }).catch(
      (e) => e,
    );
    expect(wrong.code).toBe(grpc.status.PERMISSION_DENIED);
    const loadIndex = await unaryCall(retrieval.loadIndex.bind(retrieval), { source: { $case: 'localPath', value: '/x' } }).catch((e) => e);
    expect(loadIndex.code).toBe(grpc.status.UNAUTHENTICATED);
    await expect(unaryCall(admin.listFaults.bind(admin), {}, { metadata: md() })).resolves.toEqual({ faults: [] });
    await expect(unaryCall(admin.describe.bind(admin), {}, { metadata: md() })).resolves.toMatchObject({ service: 'test-service', pid: process.pid });
  });

  it('injects and clears an error fault on one method only', async () => {
    const fault = await unaryCall(
      admin.injectFault.bind(admin),
      { spec: { kind: FaultKind.FAULT_KIND_ERROR, methods: ['/ranksafe.v1.Retrieval/Retrieve'], latencyMs: 0, statusCode: 0, probability: 0, ttlMs: 0 } },
      { metadata: md() },
    );
    const err = await unaryCall(retrieval.retrieve.bind(retrieval), RetrieveRequest.fromPartial({ query: 'ok' })).catch((e) => e);
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toContain(fault.id);
    await expect(unaryCall(retrieval.describeIndex.bind(retrieval), {})).resolves.toMatchObject({ products: 3 });
    expect((await unaryCall(admin.listFaults.bind(admin), {}, { metadata: md() })).faults).toHaveLength(1);
    expect(await unaryCall(admin.clearFaults.bind(admin), { id: '' }, { metadata: md() })).toEqual({ cleared: 1 });
    await expect(unaryCall(retrieval.retrieve.bind(retrieval), RetrieveRequest.fromPartial({ query: 'ok' }))).resolves.toBeDefined();
  });

  it('refuses a bad fault spec with INVALID_ARGUMENT', async () => {
    const err = await unaryCall(
      admin.injectFault.bind(admin),
      { spec: { kind: FaultKind.FAULT_KIND_LATENCY, methods: [], latencyMs: 0, statusCode: 0, probability: 0, ttlMs: 0 } },
      { metadata: md() },
    ).catch((e) => e);
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^spec.latency_ms/);
  });

  it('lets a hung call run into the client deadline', async () => {
    await unaryCall(
      admin.injectFault.bind(admin),
      { spec: { kind: FaultKind.FAULT_KIND_HANG, methods: [], latencyMs: 0, statusCode: 0, probability: 0, ttlMs: 0 } },
      { metadata: md() },
    );
    const err = await unaryCall(retrieval.retrieve.bind(retrieval), RetrieveRequest.fromPartial({ query: 'ok' }), { deadlineMs: 300 }).catch((e) => e);
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await unaryCall(admin.clearFaults.bind(admin), { id: '' }, { metadata: md() });
  });

  it('lets an operator force the health status and release it', async () => {
    svc.setReady(true);
    await unaryCall(admin.setHealthOverride.bind(admin), { override: HealthOverride.HEALTH_OVERRIDE_NOT_SERVING }, { metadata: md() });
    expect((await checkHealth(svc.address)).status).toBe('NOT_SERVING');
    await unaryCall(admin.setHealthOverride.bind(admin), { override: HealthOverride.HEALTH_OVERRIDE_NONE }, { metadata: md() });
    expect((await checkHealth(svc.address)).status).toBe('SERVING');
  });

  it('exports Prometheus metrics and /healthz over HTTP', async () => {
    const m = await get(`http://127.0.0.1:${svc.metricsPort}/metrics`);
    expect(m.code).toBe(200);
    expect(m.body).toMatch(/ranksafe_rpc_total\{method="\/ranksafe.v1.Retrieval\/Retrieve",code="UNAVAILABLE",service="test-service"/);
    expect(m.body).toContain('ranksafe_faults_applied_total');
    expect((await get(`http://127.0.0.1:${svc.metricsPort}/healthz`)).code).toBe(200);
  });

  it('fails fast with one line when its port is taken', async () => {
    const port = svc.address.split(':')[1]!;
    await expect(start({ GRPC_PORT: port })).rejects.toMatchObject({
      fatalStartup: true,
      message: `test-service cannot listen on 127.0.0.1:${port}: the port is in use; stop the other process or set GRPC_PORT to a free port`,
    });
  });
});

describe('serve() without an admin token', () => {
  it('denies every admin RPC', async () => {
    const svc = await start({ ADMIN_TOKEN: '' });
    const admin = new AdminClient(svc.address, insecure);
    const err = await unaryCall(admin.listFaults.bind(admin), {}, { metadata: adminMetadata(new grpc.Metadata(), TOKEN) }).catch((e) => e);
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    admin.close();
    await svc.shutdown();
  });
});

describe('graceful shutdown', () => {
  it('finishes in-flight calls, then refuses new ones and reports NOT_SERVING meanwhile', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    const svc = await start({}, async () => {
      entered();
      await gate;
      return { candidates: [], indexVersion: 'drained' };
    });
    svc.setReady(true);
    const client = new RetrievalClient(svc.address, insecure);
    const inflight = unaryCall(client.retrieve.bind(client), RetrieveRequest.fromPartial({ query: 'slow' }));
    await inHandler;
    const done = svc.shutdown('test');
    expect(svc.isServing()).toBe(false);
    release();
    await expect(inflight).resolves.toMatchObject({ indexVersion: 'drained' });
    await done;
    const after = await unaryCall(client.retrieve.bind(client), RetrieveRequest.fromPartial({ query: 'x' }), { deadlineMs: 2000 }).catch((e) => e);
    expect(after.code).toBe(grpc.status.UNAVAILABLE);
    client.close();
  });
});

describe('admission control', () => {
  it('sheds a burst past its limit with RESOURCE_EXHAUSTED at once, serves the rest, and keeps serving', async () => {
    let running = 0;
    let maxRunning = 0;
    const svc = await start(
      { ADMISSION_INITIAL_LIMIT: '2', ADMISSION_MIN_LIMIT: '2', ADMISSION_MAX_LIMIT: '2', ADMISSION_TARGET_MS: '1000', ADMISSION_MAX_QUEUE_MS: '60' },
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 50));
        running--;
        return { candidates: [], indexVersion: 'v1' };
      },
      ['retrieve'],
    );
    svc.setReady(true);
    const client = new RetrievalClient(svc.address, insecure);
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 40 }, async () => {
          const t0 = performance.now();
          const r = await unaryCall(client.retrieve.bind(client), RetrieveRequest.fromPartial({ query: 'q' }), { deadlineMs: 10_000 }).then(
            () => 'OK',
            (e: grpc.ServiceError) => grpc.status[e.code]!,
          );
          return { r, ms: performance.now() - t0 };
        }),
      );
      const ok = outcomes.filter((o) => o.r === 'OK');
      const shed = outcomes.filter((o) => o.r === 'RESOURCE_EXHAUSTED');
      expect(ok.length + shed.length).toBe(40); // nothing else: no timeout, no crash
      expect(maxRunning).toBeLessThanOrEqual(2);
      expect(ok.length).toBeGreaterThanOrEqual(2);
      expect(shed.length).toBeGreaterThan(20);
      // Shed at once, not after waiting for a slot (the served ones took 50 ms each, two at a time).
      expect(Math.min(...shed.map((o) => o.ms))).toBeLessThan(Math.max(...ok.map((o) => o.ms)));
      const err = await Promise.all(
        [1, 2, 3, 4, 5, 6, 7, 8].map(() => unaryCall(client.retrieve.bind(client), RetrieveRequest.fromPartial({ query: 'q' })).catch((e) => e)),
      );
      const one = err.find((e) => e instanceof Error) as grpc.ServiceError;
      expect(one.details).toMatch(/^overloaded: \d+ in flight at a limit of 2.*retry with backoff/);
      expect(await svc.metrics.registry.metrics()).toMatch(/ranksafe_admission_shed_total\{[^}]*reason="queue_full"[^}]*\} \d+/);
      expect(svc.admission!.stats()).toMatchObject({ limit: 2, inFlight: 0, queued: 0 });
      await expect(unaryCall(client.retrieve.bind(client), RetrieveRequest.fromPartial({ query: 'after' }))).resolves.toMatchObject({ indexVersion: 'v1' });
    } finally {
      client.close();
      await svc.shutdown();
    }
  });

  it('refuses at once a call whose deadline leaves too little for the work', async () => {
    const svc = await start(
      {},
      async () => {
        await new Promise((r) => setTimeout(r, 100));
        return { candidates: [], indexVersion: 'v1' };
      },
      ['retrieve'],
    );
    svc.setReady(true);
    const client = new RetrievalClient(svc.address, insecure);
    try {
      // A call takes ~100 ms (learnt from the first): 50 ms of deadline cannot be enough.
      await unaryCall(client.retrieve.bind(client), RetrieveRequest.fromPartial({ query: 'q' }));
      const e = await unaryCall(client.retrieve.bind(client), RetrieveRequest.fromPartial({ query: 'q' }), { deadlineMs: 50 }).catch((x) => x);
      expect([e.code, e.details]).toEqual([grpc.status.RESOURCE_EXHAUSTED, expect.stringMatching(/^cannot finish within the deadline/)]);
    } finally {
      client.close();
      await svc.shutdown();
    }
  });
});
