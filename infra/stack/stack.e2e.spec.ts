// The whole stack as a person runs it: `npm start`'s supervisor, the ops CLI, Ctrl-C, kill -9.
// Real processes, real Temporal dev server (with its Web UI), real Postgres, real gRPC.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { isAlive, PlatformClient, WORKSPACE_ROOT } from '@ranksafe/platform';
import * as grpc from '@grpc/grpc-js';
import { closedLoop } from '@ranksafe/loadgen';
import { ModelKind, RecommendRequest, SearchClient, SearchRequest } from '@ranksafe/proto';
import { unaryCall } from '@ranksafe/serving-kit';
import { eventually } from '@ranksafe/testing';
import { NODE, testStack, type TestStack } from './harness';

describe('the local stack (npm start) end to end', () => {
  let stack: TestStack;
  let env: NodeJS.ProcessEnv;
  let base: number;
  let dataDir: string;
  const start = () => stack.start();
  const stopUp = () => stack.stop();
  const ops = (...args: string[]) => stack.ops(...args);
  const pidsOfStack = () => stack.pids();

  beforeAll(async () => {
    // This test proves the serving path degrades on its own when replicas die; with the
    // monitors on, Recovery would bring them back mid-assertion.
    stack = await testStack('stack', { MONITORS: 'off' });
    ({ env, base, dataDir } = stack);
  });
  afterAll(async () => {
    await stack?.teardown();
  });

  it('comes up healthy, runs a workflow, and Ctrl-C leaves no process behind', async () => {
    await start();
    expect(stack.output).toContain(`Temporal UI          http://127.0.0.1:${base + 7}`);
    expect(stack.output).toContain(`Platform             127.0.0.1:${base + 8}  ranksafe.v1.Platform`);

    const status = ops('status', '--json');
    expect(status.status).toBe(0);
    const report = JSON.parse(status.stdout);
    expect(report.allServing).toBe(true);
    expect(report.components.map((c: { component: string }) => c.component).sort()).toEqual(
      [
        'drill-worker',
        'gateway',
        'model-registry',
        'postgres',
        'ranking-service-1',
        'ranking-service-2',
        'retrieval-service-1',
        'retrieval-service-2',
        'temporal',
        'temporal-ui',
      ].sort(),
    );

    const ping = ops('ping-workflow', '-m', 'e2e');
    expect(ping.stderr).toBe('');
    expect(ping.stdout).toMatch(/^workflow ping-\S+ completed in \d+ ms: "e2e" answered by worker/);

    const pids = [...pidsOfStack(), stack.up!.pid!];
    expect(pids.length).toBe(10); // temporal + registry-db-proxy + 7 apps + supervisor
    stack.up!.kill('SIGINT');
    const code = await new Promise<number | null>((r) => stack.up!.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    await eventually(() => pids.every((p) => !isAlive(p)), 15_000);
    expect(fs.existsSync(path.join(dataDir, 'run', 'stack.json'))).toBe(false);

    const down = ops('status');
    expect(down.status).toBe(1);
    expect(down.stdout).toContain('UNREACHABLE');
  });

  it('comes back after kill -9 of everything, with the Temporal history of the first run', async () => {
    await start();
    const ping = ops('ping-workflow', '-m', 'before-crash');
    const workflowId = /workflow (ping-\S+) completed/.exec(ping.stdout)![1]!;
    const pids = [...pidsOfStack(), stack.up!.pid!];
    for (const p of pids) process.kill(p, 'SIGKILL');
    await eventually(() => pids.every((p) => !isAlive(p)), 15_000);

    await start();
    expect(ops('status').status).toBe(0);
    const conn = await Connection.connect({ address: `127.0.0.1:${base + 6}` });
    try {
      const d = await new Client({ connection: conn }).workflow.getHandle(workflowId).describe();
      expect(d.status.name).toBe('COMPLETED');
    } finally {
      await conn.close();
    }
  });

  it('serves search and recommend; kill -9 of a ranking replica under load loses no request; no ranking at all degrades', async () => {
    // The stack from the previous test is still up.
    const client = new SearchClient(`127.0.0.1:${base}`, grpc.credentials.createInsecure());
    const search = (query: string) => unaryCall(client.search.bind(client), SearchRequest.fromPartial({ query, k: 5 }), { deadlineMs: 10_000 });
    try {
      const first = await search('stainless steel water bottle');
      expect(first.degraded).toBe(false);
      expect(first.results).toHaveLength(5);
      expect(first.rankingModel?.name).toBe('minilm-l6-v2');
      const rec = await unaryCall(client.recommend.bind(client), RecommendRequest.fromPartial({ subject: { $case: 'userId', value: 'u0001' }, k: 5 }), {
        deadlineMs: 10_000,
      });
      expect(rec.results).toHaveLength(5);
      expect(rec.degraded).toBe(false);
      // Start trained the demo's sequential recommender on the catalog's histories and registered it; the
      // ranking replicas serve it, and Recommend answers from it (for a user, and for a session of the shop).
      expect(rec).toMatchObject({
        path: 'sequential',
        fallbackReason: '',
        rankingModel: { name: 'seqrec-demo', kind: ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER },
      });
      const session = await unaryCall(client.recommend.bind(client), RecommendRequest.fromPartial({ subject: { $case: 'userId', value: 's00001' }, k: 5 }), {
        deadlineMs: 10_000,
      });
      expect(session).toMatchObject({ path: 'sequential', degraded: false });
      expect(session.results).toHaveLength(5);
      expect(ops('model', 'list', 'seqrec-demo').stdout).toMatch(/fp32-[0-9a-f]{12}\s+sequential-recommender/);

      // The same through the ops CLI, and a rolling index reload over both retrieval replicas.
      const viaOps = ops('search', 'velvet sofa', '-k', '3');
      expect(viaOps.status).toBe(0);
      expect(viaOps.stdout).toMatch(/^ranked by minilm-l6-v2 /);
      expect(viaOps.stdout.trim().split('\n')).toHaveLength(6); // head, header, rule, 3 rows
      const reload = ops('index', 'load', path.join(dataDir, 'indexes', 'demo'));
      expect(reload.stderr).toBe('');
      expect(reload.stdout).toMatch(/retrieval-service-1: serving idx-\w+ \(1500 products\)[\s\S]*retrieval-service-2: serving idx-/);
      expect(ops('index', 'describe').stdout).toMatch(/retrieval-service-2\s+idx-\w+\s+1500\s+2050/);
      // Start seeded the registry; both tiers loaded their production versions through it.
      const history = ops('model', 'history', 'minilm-l6-v2', 'production');
      expect(history.stdout).toMatch(/int8-[0-9a-f]{12}\s+npm-start/);
      expect(ops('model', 'list', 'demo-catalog').stdout).toMatch(/idx-\w+\s+catalog-index/);
      expect(fs.readdirSync(path.join(dataDir, 'registry-cache', 'ranking', 'ranking-service-1')).some((f) => /^[0-9a-f]{64}$/.test(f))).toBe(true);

      const pidOf = (name: string) => JSON.parse(fs.readFileSync(path.join(dataDir, 'run', `${name}.pid`), 'utf8')).pid as number;
      const queries = ['sofa', 'running shoes', 'coffee table', 'headphones', 'face serum', 'desk lamp', 'cookware set', 'yoga mat'];
      // 4-way closed-loop load through the kill -9 and the SIGTERM: not one request may fail.
      const outcomes: string[] = [];
      const load = closedLoop({
        concurrency: 4,
        request: (i) => search(queries[i % queries.length]!),
        classify: (r) => ({ degraded: r.degraded }),
        onRecord: (r) => outcomes.push(r.status !== 'OK' ? r.status : r.degraded ? 'degraded' : 'ranked'),
      });
      try {
        await eventually(() => outcomes.length >= 20, 30_000);
        process.kill(pidOf('ranking-service-1'), 'SIGKILL');
        const atKill = outcomes.length;
        await eventually(() => outcomes.length >= atKill + 40, 60_000);
        expect(load.stats.failed).toEqual({});
        expect(outcomes.slice(atKill).filter((o) => o === 'ranked').length).toBeGreaterThan(30);

        process.kill(pidOf('ranking-service-2'), 'SIGTERM');
        await eventually(() => outcomes.slice(-10).every((o) => o === 'degraded') && outcomes.length >= atKill + 60, 60_000);
        load.stop();
        const summary = await load.done;
        expect(summary.errorSamples).toEqual([]);
        expect(summary.failedTotal).toBe(0);
      } finally {
        load.stop(); // a failed expectation must not leave the load running
      }
      const degraded = await search('garden planter');
      expect(degraded).toMatchObject({ degraded: true, degradedReason: 'ranking_unavailable' });
      expect(degraded.results).toHaveLength(5);

      // Both ranking replicas brought back through the Platform service, on their names and ports;
      // the gateway's pool finds them again by health checks.
      const state = JSON.parse(fs.readFileSync(path.join(dataDir, 'run', 'stack.json'), 'utf8'));
      expect(state.platformAddress).toBe(`127.0.0.1:${base + 8}`);
      const platform = new PlatformClient(state.platformAddress, fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim());
      try {
        expect((await platform.list({ component: 'ranking-service' })).map((i) => [i.name, i.state, i.address])).toEqual([
          ['ranking-service-1', 'exited', `127.0.0.1:${base + 3}`],
          ['ranking-service-2', 'exited', `127.0.0.1:${base + 4}`], // its own SIGTERM: not asked by the platform
        ]);
        const r1 = await platform.restart('ranking-service-1', { graceMs: 5000 });
        const r2 = await platform.start('ranking-service-2');
        expect([r1.restarts, r2.restarts, r1.state, r2.state]).toEqual([1, 1, 'running', 'running']);
        await eventually(async () => (await search('velvet sofa')).degraded === false, 120_000, 250);
        await eventually(
          async () => (await platform.events({ instance: 'ranking-service-1', limit: 5 })).some((e) => e.event === 'ready' && e.detail.pid === r1.pid),
          60_000,
        );
        await expect(platform.kill('no-such-replica')).rejects.toMatchObject({ reason: 'not_found' });
      } finally {
        platform.close();
      }
    } finally {
      client.close();
    }
  });

  it('refuses a second start while one runs, and a taken port, with one line each', async () => {
    // The stack from the previous test is still up.
    const again = spawnSync(NODE[0]!, [...NODE.slice(1), 'infra/stack/up.ts'], { cwd: WORKSPACE_ROOT, env, encoding: 'utf8', timeout: 60_000 });
    expect(again.status).toBe(1);
    expect(again.stderr.trim()).toMatch(/^error: ranksafe is already running \(supervisor pid \d+\); stop it/);

    await stopUp();
    const blocker = net.createServer().listen(base, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    try {
      const taken = spawnSync(NODE[0]!, [...NODE.slice(1), 'infra/stack/up.ts'], { cwd: WORKSPACE_ROOT, env, encoding: 'utf8', timeout: 60_000 });
      expect(taken.status).toBe(1);
      expect(taken.stderr.trim()).toBe(
        `error: port ${base} (gateway gRPC) is in use on 127.0.0.1; stop the process using it or set GATEWAY_PORT to another port`,
      );
    } finally {
      blocker.close();
    }
    const badDb = spawnSync(NODE[0]!, [...NODE.slice(1), 'infra/stack/up.ts'], {
      cwd: WORKSPACE_ROOT,
      env: { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/ranksafe' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(badDb.status).toBe(1);
    expect(badDb.stderr.trim()).toMatch(/^error: DATABASE_URL postgres:\/\/postgres@127\.0\.0\.1:1\/ranksafe is unreachable \(ECONNREFUSED/);
    expect(badDb.stderr.trim().split('\n')).toHaveLength(1);
  });
});
