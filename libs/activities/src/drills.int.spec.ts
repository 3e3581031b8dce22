// The drill activities over real Postgres (a scratch database, migrations 0005-0006) with a fake
// Platform and fake serving replicas: the guard and the blast radius, injection recorded before it
// happens and never repeated by a retry, the proof, the revert, the reconciler, the steady-state
// hypothesis on recorded requests, and rollouts refused while a drill runs.
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Pool } from 'pg';
import { createPool, insertDrillRequests, listActiveDrillFaults, migrateUp, recordDrillFault, upsertIncident, upsertOperation } from '@ranksafe/db';
import { resolveDrillSpec } from '@ranksafe/drills';
import type { ReplicaInfo, ReplicaPlatform } from '@ranksafe/platform';
import { scratchDatabase } from '@ranksafe/testing';
import type { DrillConfig, DrillDeps } from './drill-faults';
import { allowed, createDrillActivities, readyTargets, reconcileDrillFaults } from './drills';
import { createRolloutActivities } from './rollout';
import type { ReplicaModel, ServingControl } from './serving';

function fakePlatform(names: string[]) {
  const now = new Date();
  const procs = new Map<string, ReplicaInfo>(
    names.map((n, i) => [
      n,
      {
        name: n,
        component: n.replace(/-\d+$/, ''),
        address: n === 'load-agent' ? undefined : `127.0.0.1:${5000 + i}`,
        pid: 100 + i,
        state: n === 'load-agent' ? 'stopped' : 'running',
        startedAt: now,
        restarts: 0,
      },
    ]),
  );
  const calls: string[] = [];
  const get = async (name: string) => {
    const p = procs.get(name);
    if (!p) throw Object.assign(new Error(`${name} not found`), { name: 'PlatformError', reason: 'not_found' });
    return { ...p };
  };
  const platform: ReplicaPlatform = {
    list: async (f) => [...procs.values()].filter((p) => !f?.component || p.component === f.component).map((p) => ({ ...p })),
    get,
    start: async (name) => {
      calls.push(`start:${name}`);
      const p = procs.get(name)!;
      if (p.state !== 'running') Object.assign(p, { state: 'running', pid: p.pid + 1000, startedAt: new Date(), restarts: p.restarts + 1 });
      return { ...p };
    },
    stop: async (name) => (calls.push(`stop:${name}`), Object.assign(procs.get(name)!, { state: 'stopped' }), get(name)),
    kill: async (name) => (calls.push(`kill:${name}`), Object.assign(procs.get(name)!, { state: 'killed', signal: 'SIGKILL' }), get(name)),
    restart: async (name, opts = {}) => {
      calls.push(`restart:${name}:${opts.resetEnv ? 'reset' : JSON.stringify(opts.env ?? {})}`);
      const p = procs.get(name)!;
      const envOverrides = opts.resetEnv ? undefined : opts.env && Object.keys(opts.env).length ? { ...opts.env } : p.envOverrides;
      Object.assign(p, { state: 'running', pid: p.pid + 1000, startedAt: new Date(), restarts: p.restarts + 1, envOverrides });
      return get(name);
    },
    events: async () => [],
  };
  return { platform, procs, calls };
}

function fakeServing(over: Partial<ServingControl> = {}) {
  const calls: string[] = [];
  const serving = {
    health: async () => ({ status: 'SERVING' as const }),
    canaryQuery: async () => ({ latencyMs: 12, detail: 'ok' }),
    injectFault: async (address: string, f: { kind: string; latencyMs?: number }) => (
      calls.push(`inject:${address}:${f.kind}:${f.latencyMs}`),
      { id: 'af-1', expiresAtUnixMs: Date.now() + 60_000 }
    ),
    clearFaults: async (address: string, id?: string) => (calls.push(`clear:${address}:${id}`), { cleared: 1 }),
    ...over,
  } as unknown as ServingControl;
  return { serving, calls };
}

describe('drill activities (real Postgres, fake platform and replicas)', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let pool: Pool;
  beforeAll(async () => {
    db = await scratchDatabase();
    await migrateUp(db.url);
    pool = createPool(db.url);
  });
  afterAll(async () => {
    await pool?.end();
    await db.drop();
  });
  beforeEach(async () => {
    await pool.query('TRUNCATE incidents, operations, drill_faults, drill_requests, drill_load');
  });

  const names = ['ranking-service-1', 'ranking-service-2', 'retrieval-service-1', 'retrieval-service-2', 'load-agent'];
  const config = (over: Partial<DrillConfig> = {}): DrillConfig => ({
    enabled: true,
    allowList: ['ranking-service', 'retrieval-service'],
    reportDir: '/tmp/rs-drill-reports',
    gatewayMetrics: [],
    loadAgent: 'load-agent',
    isWorkflowRunning: async () => true,
    ...over,
  });
  const snapshots: Array<{ id: string; label: string; status: string; createdAtUnixMs: number; rows: number; artifacts: number; bytes: number }> = [];
  const registry = {
    listSnapshots: async () => ({ snapshots: snapshots.map((x) => ({ ...x, verifiedAtUnixMs: 0 })), rpoMs: 0 }),
    verifySnapshot: async (id: string) => ({ ...snapshots.find((x) => x.id === id)!, verifiedAtUnixMs: Date.now() }),
  } as unknown as DrillDeps['registry'];
  const world = (over: Partial<DrillConfig> = {}, serving = fakeServing()) => {
    const p = fakePlatform([...names, 'model-registry']);
    const deps: DrillDeps = { pool, platform: p.platform, serving: serving.serving, drills: config(over), registry };
    return { ...p, serving, deps, act: createDrillActivities(deps) };
  };
  const kill = resolveDrillSpec({ scenario: 'ranking-replica-kill' });

  it("preflight: the tier's last replica, the blast radius, and what will be reverted", async () => {
    const { act } = world();
    const plan = await act.drillPreflight({ workflowId: 'drill-1', spec: kill });
    expect(plan.instances).toEqual([{ name: 'ranking-service-2', address: '127.0.0.1:5001' }]);
    expect(plan.blastRadius).toEqual({
      tier: 'ranking-service',
      instances: ['ranking-service-2'],
      replicas: 2,
      capacityShare: 0.5,
      fault: 'SIGKILL',
      reverts: ['start ranking-service-2 again if no recovery brought it back', 'stop the load agent (load-agent)'],
    });
    const all = await act.drillPreflight({ workflowId: 'drill-1', spec: resolveDrillSpec({ scenario: 'ranking-tier-lost' }) });
    expect(all.blastRadius).toMatchObject({ instances: ['ranking-service-1', 'ranking-service-2'], capacityShare: 1 });
  });

  it('preflight refuses (DrillRefused, with the reason): disabled, off the allow-list, not steady, excluded, unknown target', async () => {
    const refusal = async (w: ReturnType<typeof world>, spec = kill) =>
      w.act.drillPreflight({ workflowId: 'drill-1', spec }).then(
        () => 'accepted',
        (e: { type?: string; message: string }) => `${e.type}: ${e.message}`,
      );
    expect(await refusal(world({ enabled: false }))).toMatch(/^DrillRefused: drills are disabled/);
    expect(await refusal(world({ allowList: ['retrieval-service'] }))).toMatch(/ranking-service-2 not on the drill allow-list/);
    expect(await refusal(world({ allowList: ['ranking-service-2'] }))).toBe('accepted');
    expect(allowed(['*'], 'x', 'y')).toBe(true);
    const down = world();
    down.procs.get('ranking-service-1')!.state = 'exited';
    expect(await refusal(down)).toMatch(/not steady: ranking-service-1 is exited/);
    const sick = world({}, fakeServing({ health: async () => ({ status: 'NOT_SERVING' }) } as Partial<ServingControl>));
    expect(await refusal(sick)).toMatch(/not steady: ranking-service-1 health is NOT_SERVING/);
    expect(await refusal(world(), resolveDrillSpec({ scenario: 'ranking-replica-kill', target: { instances: ['ranking-service-9'] } }))).toMatch(
      /target ranking-service-9 is not a ranking-service replica/,
    );
    await upsertIncident(pool, {
      id: 'i1',
      instance: 'ranking-service-1',
      component: 'ranking-service',
      reason: 'x',
      detectedAtUnixMs: Date.now(),
      state: 'recovering',
    });
    expect(await refusal(world())).toMatch(/open incident\(s\) ranking-service-1 \(recovering\)/);
    await pool.query('TRUNCATE incidents');
    await upsertOperation(pool, { workflowId: 'rollout-minilm', runId: 'r', kind: 'rollout', target: 'minilm', state: 'running' });
    expect(await refusal(world())).toMatch(/rollout rollout-minilm \(minilm\) is running; drills exclude it/);
    // …unless that workflow is gone (a run that never recorded its end)
    expect(await refusal(world({ isWorkflowRunning: async () => false }))).toBe('accepted');
  });

  it('injects a kill once (recorded before, a retry injects nothing), proves it, and reverts it', async () => {
    const w = world();
    const plan = await w.act.drillPreflight({ workflowId: 'drill-2', spec: kill });
    const first = await w.act.injectDrillFault({ drillWorkflowId: 'drill-2', spec: kill, instances: plan.instances });
    const retry = await w.act.injectDrillFault({ drillWorkflowId: 'drill-2', spec: kill, instances: plan.instances });
    expect(w.calls.filter((c) => c.startsWith('kill:'))).toEqual(['kill:ranking-service-2']);
    expect(retry).toEqual(first);
    expect(first.faults[0]).toMatchObject({ id: 'drill-2/kill/ranking-service-2', pid: 101 });
    const proof = await w.act.proveDrillInjection({ spec: kill, faults: first.faults, instances: plan.instances });
    expect(proof).toMatchObject({ ok: true, detail: 'ranking-service-2 killed by SIGKILL (pid 101 gone)' });
    const r = await w.act.revertDrillFaults({ drillWorkflowId: 'drill-2' });
    expect(r.reverted).toEqual(['ranking-service-2 started again (it was killed)']);
    expect(await listActiveDrillFaults(pool, 'drill-2')).toEqual([]);
    expect((await w.act.revertDrillFaults({ drillWorkflowId: 'drill-2' })).reverted).toEqual([]);
  });

  it('a kill that did not take is no proof; a latency fault is proven by a probe that is really slow', async () => {
    const w = world();
    const plan = await w.act.drillPreflight({ workflowId: 'drill-3', spec: kill });
    const fake = [{ id: 'x', instance: 'ranking-service-2', kind: 'kill', injectedAtUnixMs: Date.now(), pid: 101 }];
    expect(await w.act.proveDrillInjection({ spec: kill, faults: fake, instances: plan.instances })).toMatchObject({
      ok: false,
      detail: 'ranking-service-2 still runs as pid 101: the kill did not take',
    });
    const latency = resolveDrillSpec({ scenario: 'ranking-replica-latency' });
    const slow = world({}, fakeServing({ canaryQuery: async () => ({ latencyMs: 3010, detail: 'ok' }) } as Partial<ServingControl>));
    const inj = await slow.act.injectDrillFault({ drillWorkflowId: 'drill-3', spec: latency, instances: plan.instances });
    expect(slow.serving.calls).toEqual(['inject:127.0.0.1:5001:latency:3000']);
    expect((await slow.act.proveDrillInjection({ spec: latency, faults: inj.faults, instances: plan.instances })).ok).toBe(true);
    const fast = world();
    expect((await fast.act.proveDrillInjection({ spec: latency, faults: inj.faults, instances: plan.instances })).detail).toMatch(/did not take/);
    await slow.act.revertDrillFaults({ drillWorkflowId: 'drill-3' });
    expect(slow.serving.calls).toContain('clear:127.0.0.1:5001:af-1');
  });

  it('gpu-lost: restarts the replica as a GPU replica with no GPU visible, proves it, detects the cpu fall-back the replica reports, reverts to its normal config', async () => {
    const gpu = resolveDrillSpec({ scenario: 'gpu-unavailable' });
    const reported: { models: ReplicaModel[] } = { models: [] };
    const w = world({}, fakeServing({ listModels: async () => reported.models } as Partial<ServingControl>));
    const plan = await w.act.drillPreflight({ workflowId: 'drill-gpu', spec: gpu });
    expect(plan.blastRadius.fault).toMatch(
      /^restarted as a GPU replica whose GPU is gone \(RANKING_EXECUTION_PROVIDER=cuda RANKING_CUDA_FALLBACK=cpu CUDA_VISIBLE_DEVICES=""\)/,
    );
    const inj = await w.act.injectDrillFault({ drillWorkflowId: 'drill-gpu', spec: gpu, instances: plan.instances });
    expect(w.calls).toEqual(['restart:ranking-service-2:{"RANKING_EXECUTION_PROVIDER":"cuda","RANKING_CUDA_FALLBACK":"cpu","CUDA_VISIBLE_DEVICES":""}']);
    expect(inj.faults[0]).toMatchObject({ id: 'drill-gpu/gpu-lost/ranking-service-2', pid: 101, extra: { priorEnv: {}, restartedPid: 1101 } });
    const proof = await w.act.proveDrillInjection({ spec: gpu, faults: inj.faults, instances: plan.instances });
    expect(proof).toMatchObject({
      ok: true,
      detail: expect.stringContaining('ranking-service-2 restarted (pid 101 → 1101) as a GPU replica with no GPU visible'),
    });

    const observe = () =>
      w.act.observeDrill({
        runId: 'drill-gpu',
        spec: gpu,
        instances: plan.instances,
        tierReplicas: plan.tierReplicas,
        injectedAtUnixMs: inj.injectedAtUnixMs,
        faults: inj.faults,
      });
    // Not loaded yet (or on cpu as configured): not detected, not restored.
    reported.models = [
      { model: 'minilm', version: 'v1', isDefault: true, warm: true, executionProvider: 'cpu', requestedExecutionProvider: 'cpu', loadedAtUnixMs: Date.now() },
    ];
    let o = await observe();
    expect(o.detectedAtUnixMs).toBeUndefined();
    expect([o.fullCapacity, o.capacityDetail]).toEqual([false, 'ranking-service-2 not serving on the cpu fall-back (runs on cpu, cpu requested)']);
    // The replica reports the fall-back; an incident the monitor opened for the restart is still recovering.
    const loadedAt = Date.now();
    reported.models = [
      {
        ...reported.models[0]!,
        requestedExecutionProvider: 'cuda',
        executionProviderFallback: 'CUDA execution provider unavailable (x)',
        loadedAtUnixMs: loadedAt,
      },
    ];
    await upsertIncident(pool, {
      id: 'inc-gpu',
      instance: 'ranking-service-2',
      component: 'ranking-service',
      reason: 'health',
      detectedAtUnixMs: Date.now(),
      state: 'recovering',
    });
    o = await observe();
    expect(o.detectedAtUnixMs).toBe(loadedAt);
    expect(o.incidents.map((i) => [i.id, i.state])).toEqual([
      ['ranking-service-2/execution-provider', 'serving on cpu, cuda requested (CUDA execution provider unavailable (x))'],
      ['inc-gpu', 'recovering'],
    ]);
    expect([o.fullCapacity, o.capacityDetail]).toEqual([false, 'ranking-service-2: incident inc-gpu recovering']);
    await upsertIncident(pool, {
      id: 'inc-gpu',
      instance: 'ranking-service-2',
      component: 'ranking-service',
      reason: 'health',
      detectedAtUnixMs: Date.now(),
      state: 'recovered',
    });
    expect((await observe()).fullCapacity).toBe(true);

    // A restart the Recovery made keeps the overrides (a changed pod spec); the revert puts the declared env back, from the record alone.
    const r = await w.act.revertDrillFaults({ drillWorkflowId: 'drill-gpu' });
    expect(r.reverted).toEqual(['ranking-service-2 restarted with its normal config (pid 1101 → 2101; its declared env)']);
    expect(w.calls.at(-1)).toBe('restart:ranking-service-2:reset');
    expect(w.procs.get('ranking-service-2')!.envOverrides).toBeUndefined();
    // Reverting again (the reconciler finding a record the drill could not mark): nothing restarted.
    await recordDrillFault(pool, {
      id: 'gpu-again',
      drillWorkflowId: 'drill-gone',
      kind: 'gpu-lost',
      target: 'ranking-service-2',
      expiresAtUnixMs: Date.now() - 1,
    });
    expect((await reconcileDrillFaults(w.deps)).map((x) => x.detail)).toEqual(['ranking-service-2 already runs with its normal config (its declared env)']);
    expect(w.calls.filter((c) => c.startsWith('restart:'))).toHaveLength(2);
  });

  it('the reconciler reverts expired faults and those of drills that are not running, and leaves the rest', async () => {
    const w = world({ isWorkflowRunning: async (id) => id === 'drill-live' });
    for (const [id, drill, expires] of [
      ['a', 'drill-live', Date.now() + 60_000],
      ['b', 'drill-live', Date.now() - 1000],
      ['c', 'drill-gone', Date.now() + 60_000],
    ] as const) {
      await recordDrillFault(pool, { id, drillWorkflowId: drill, kind: 'kill', target: 'ranking-service-2', expiresAtUnixMs: expires });
    }
    w.procs.get('ranking-service-2')!.state = 'killed';
    const r = await reconcileDrillFaults(w.deps);
    expect(r.map((x) => [x.id, x.why])).toEqual([
      ['b', 'expired'],
      ['c', 'its drill drill-gone is not running'],
    ]);
    expect(w.calls.filter((c) => c.startsWith('start:'))).toEqual(['start:ranking-service-2']); // once: the second finds it running
    expect((await listActiveDrillFaults(pool)).map((f) => f.id)).toEqual(['a']);
  });

  it('judges the steady-state hypothesis on the recorded requests', async () => {
    const { act } = world();
    const t0 = Date.now() - 10_000;
    const recs = Array.from({ length: 40 }, (_, i) => ({
      at: t0 + i * 100,
      rpc: 'search' as const,
      latencyMs: 20 + i,
      status: i < 38 ? 'OK' : 'UNAVAILABLE',
      degraded: i % 10 === 0,
    }));
    await insertDrillRequests(pool, 'drill-4', recs);
    const h = resolveDrillSpec({ scenario: 'ranking-replica-kill' }).steadyState;
    const bad = await act.checkSteadyState({ runId: 'drill-4', name: 'before', hypothesis: h, fromUnixMs: t0, toUnixMs: t0 + 10_000 });
    expect(bad.ok).toBe(false);
    expect(bad.detail).toMatch(/^error rate 5.0% > 0.0%; degraded 10.0% > 5.0% \(40 requests, 2 failed \(UNAVAILABLE 2\), 4 degraded/);
    const clean = await act.checkSteadyState({
      runId: 'drill-4',
      name: 'before',
      hypothesis: { ...h, maxErrorRate: 0.1, maxDegradedShare: 0.2 },
      fromUnixMs: t0,
      toUnixMs: t0 + 10_000,
    });
    expect(clean).toMatchObject({ ok: true, figures: { requests: 40, failed: 2, degraded: 4 } });
    const few = await act.checkSteadyState({ runId: 'drill-4', name: 'before', hypothesis: { ...h, minRequests: 100 }, fromUnixMs: t0, toUnixMs: t0 + 10_000 });
    expect(few.detail).toMatch(/only 40 requests in the window \(at least 100 to judge\)/);
  });

  it('a backup drill restores the newest verified snapshot into a sandbox, proves it by its rows and reports its age (RPO)', async () => {
    const w = world({ allowList: ['model-registry'] });
    const spec = resolveDrillSpec({ scenario: 'backup-restore' });
    const plan = await w.act.drillPreflight({ workflowId: 'drill-5', spec });
    expect(plan.blastRadius).toMatchObject({
      tier: 'model-registry',
      instances: ['model-registry'],
      fault: expect.stringContaining('restore the newest verified snapshot'),
    });
    // The restore heartbeats (it can take a while): run it in an activity context.
    const inActivity = <A, R>(fn: (a: A) => Promise<R>, a: A) => new MockActivityEnvironment().run(fn, a) as Promise<R>;
    await expect(inActivity(w.act.injectDrillFault, { drillWorkflowId: 'drill-5', spec, instances: plan.instances })).rejects.toMatchObject({
      type: 'NoSnapshot',
    });
    const hourAgo = Date.now() - 3_600_000;
    snapshots.push(
      { id: 'old', label: 'a', status: 'verified', createdAtUnixMs: hourAgo - 60_000, rows: 10, artifacts: 2, bytes: 100 },
      { id: 'new', label: 'b', status: 'verified', createdAtUnixMs: hourAgo, rows: 12, artifacts: 3, bytes: 120 },
      { id: 'bad', label: 'c', status: 'failed', createdAtUnixMs: Date.now(), rows: 0, artifacts: 0, bytes: 0 },
    );
    const inj = await inActivity(w.act.injectDrillFault, { drillWorkflowId: 'drill-5', spec, instances: plan.instances });
    expect(inj.faults[0]!.restore).toMatchObject({ snapshotId: 'new', status: 'verified', rows: 12 });
    expect(inj.faults[0]!.restore!.rpoMs).toBeGreaterThanOrEqual(3_600_000);
    const proof = await w.act.proveDrillInjection({ spec, faults: inj.faults, instances: plan.instances });
    expect(proof).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/^snapshot new \(b\) restored into a sandbox and verified in \d+ ms: 12 rows, 3 artifacts, 120 bytes; RPO 36\d\d s/),
    });
    const strict = resolveDrillSpec({ scenario: 'backup-restore', expect: { rpoTargetMs: 60_000 } });
    expect((await w.act.proveDrillInjection({ spec: strict, faults: inj.faults, instances: plan.instances })).detail).toMatch(/verified, but too old: RPO/);
    snapshots.length = 0;
  });

  it('reads "in rotation" from a gateway\'s metrics text', () => {
    const text = [
      '# HELP ranksafe_client_replica_ready 1 when a replica is in rotation',
      'ranksafe_client_replica_ready{pool="ranking",target="127.0.0.1:5000"} 1',
      'ranksafe_client_replica_ready{pool="ranking",target="127.0.0.1:5001"} 0',
    ].join('\n');
    expect([...readyTargets(text)]).toEqual([
      ['127.0.0.1:5000', true],
      ['127.0.0.1:5001', false],
    ]);
  });

  it('a rollout is refused while a drill runs on its tier', async () => {
    const w = world();
    await upsertOperation(pool, { workflowId: 'drill-live', runId: 'r', kind: 'drill', target: 'ranking-service', state: 'running' });
    const registry = {
      getVersion: async () => ({ spec: { kind: 1, sha256: 'c' } }),
      aliasVersion: async () => 'v1',
    };
    const rollout = createRolloutActivities({ pool, platform: w.platform, serving: w.serving.serving, registry, drills: w.deps.drills } as never);
    await expect(rollout.planRollout({ kind: 'RANKING_MODEL', model: 'minilm', version: 'v2' })).rejects.toMatchObject({
      type: 'DrillRunning',
      message: expect.stringContaining('drill drill-live is running on ranking-service'),
    });
  });
});
