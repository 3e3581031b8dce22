// Real Postgres (a scratch database, migration 0005) behind the cold-path metrics: incidents and
// operations are written with libs/db's own functions, and what /metrics answers (over HTTP, as
// Prometheus scrapes it) is checked. The registry is a fake: only its ListSnapshots answer matters.
import { Registry } from 'prom-client';
import type { Pool } from 'pg';
import type { Snapshot } from '@ranksafe/proto';
import { createPool, migrateUp, upsertIncident, upsertOperation, type IncidentRecord } from '@ranksafe/db';
import { ServiceMetrics, startMetricsServer, type MetricsServer } from '@ranksafe/serving-kit';
import { scratchDatabase } from '@ranksafe/testing';
import { registerColdPathMetrics } from './cold-path-metrics';
import type { SnapshotRegistry } from './snapshots';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format → samples (no escapes in our label values). */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** Samples of `name` whose labels include `labels`. */
const samples = (text: string, name: string, labels: Record<string, string> = {}) =>
  parse(text).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

/** The one value of `name` with `labels`; undefined when the series is absent. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples(text, name, labels);
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${found.length} series`);
  return found[0]?.value;
}

const snap = (over: Partial<Snapshot>): Snapshot => ({
  id: 's',
  label: 'l',
  createdAtUnixMs: 0,
  verifiedAtUnixMs: 0,
  rows: 1,
  artifacts: 1,
  bytes: 1,
  status: 'unverified',
  ...over,
});

type ListSnapshots = (signal?: AbortSignal) => Promise<{ snapshots: Snapshot[]; rpoMs: number }>;

/** A registry whose ListSnapshots answer the test sets; counts its calls. */
function fakeRegistry() {
  const f: { calls: number; answer: ListSnapshots; registry: Pick<SnapshotRegistry, 'listSnapshots'> } = {
    calls: 0,
    answer: async () => ({ snapshots: [], rpoMs: -1 }),
    registry: {
      listSnapshots: (o) => {
        f.calls++;
        return f.answer(o?.signal);
      },
    },
  };
  return f;
}

const incident = (over: Partial<IncidentRecord> & Pick<IncidentRecord, 'id' | 'instance' | 'state' | 'detectedAtUnixMs'>): IncidentRecord => ({
  component: over.instance.replace(/-\d+$/, ''),
  reason: 'health: UNREACHABLE x3',
  ...over,
});

describe('cold-path metrics', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let pool: Pool;
  let metrics: ServiceMetrics;
  let server: MetricsServer;
  const reg = fakeRegistry();
  const errors: string[] = [];
  const scrape = async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };

  beforeAll(async () => {
    db = await scratchDatabase();
    await migrateUp(db.url);
    pool = createPool(db.url, { max: 2 });
    metrics = new ServiceMetrics('drill-worker', 'drill-worker-test');
    registerColdPathMetrics(metrics.registry, {
      pool,
      registry: reg.registry,
      rpoTargetMs: 7_200_000,
      timeoutMs: 300,
      onError: (source, e) => errors.push(`${source}: ${e.message}`),
    });
    server = await startMetricsServer(metrics, '127.0.0.1', 0, () => true);
  });
  afterAll(async () => {
    await server?.close();
    await pool?.end();
    await db?.drop();
  });

  it('on an empty history: no incidents or rollouts, no verified snapshot (RPO age -1), the target, every source up', async () => {
    const text = await scrape();
    expect(samples(text, 'ranksafe_incidents_open')).toEqual([]);
    expect(samples(text, 'ranksafe_rollout_state')).toEqual([]);
    expect(value(text, 'ranksafe_snapshot_rpo_age_seconds')).toBe(-1);
    expect(value(text, 'ranksafe_snapshot_last_verified_timestamp_seconds')).toBe(0);
    expect(value(text, 'ranksafe_snapshot_rpo_target_seconds')).toBe(7200);
    expect(value(text, 'ranksafe_snapshot_last_run_failed')).toBe(0);
    expect(value(text, 'ranksafe_snapshot_last_run_timestamp_seconds')).toBe(0);
    for (const source of ['incidents', 'snapshot_runs', 'snapshots', 'rollouts']) {
      expect(value(text, 'ranksafe_cold_path_up', { source })).toBe(1);
      expect(value(text, 'ranksafe_cold_path_collect_errors_total', { source })).toBe(0);
    }
    // The process's own metrics and default labels are still there.
    expect(value(text, 'ranksafe_snapshot_rpo_target_seconds', { service: 'drill-worker', instance: 'drill-worker-test' })).toBe(7200);
    expect(text).toMatch(/^process_cpu_user_seconds_total/m);
    expect(errors).toEqual([]);
  });

  it('counts open incidents by component and state, each instance by its newest incident', async () => {
    // ranking-service-1: unrecovered once, then a later incident was recovered (e.g. `ops recover`): nothing open.
    await upsertIncident(pool, incident({ id: 'r1-a', instance: 'ranking-service-1', state: 'unrecovered', detectedAtUnixMs: 1_000 }));
    await upsertIncident(pool, incident({ id: 'r1-b', instance: 'ranking-service-1', state: 'recovered', detectedAtUnixMs: 2_000, recoveredAtUnixMs: 3_000 }));
    // ranking-service-2: recovered once, then unrecovered: it needs a person.
    await upsertIncident(pool, incident({ id: 'r2-a', instance: 'ranking-service-2', state: 'recovered', detectedAtUnixMs: 1_000, recoveredAtUnixMs: 1_500 }));
    await upsertIncident(pool, incident({ id: 'r2-b', instance: 'ranking-service-2', state: 'unrecovered', detectedAtUnixMs: 5_000 }));
    // retrieval: one replica recovering now, one found with recovery off (open).
    await upsertIncident(pool, incident({ id: 'q1', instance: 'retrieval-service-1', state: 'recovering', detectedAtUnixMs: 6_000 }));
    await upsertIncident(pool, incident({ id: 'q2', instance: 'retrieval-service-2', state: 'open', detectedAtUnixMs: 6_500 }));
    let text = await scrape();
    const open = (component: string, state: string) => value(text, 'ranksafe_incidents_open', { component, state });
    expect([open('ranking-service', 'open'), open('ranking-service', 'recovering'), open('ranking-service', 'unrecovered')]).toEqual([0, 0, 1]);
    expect([open('retrieval-service', 'open'), open('retrieval-service', 'recovering'), open('retrieval-service', 'unrecovered')]).toEqual([1, 1, 0]);
    expect(samples(text, 'ranksafe_incidents_open', { state: 'recovered' })).toEqual([]);

    // The recovery of retrieval-service-1 ends; ranking-service-2 is recovered by hand (a new incident).
    await upsertIncident(pool, incident({ id: 'q1', instance: 'retrieval-service-1', state: 'recovered', detectedAtUnixMs: 6_000, recoveredAtUnixMs: 7_000 }));
    await upsertIncident(
      pool,
      incident({ id: 'r2-c', instance: 'ranking-service-2', state: 'recovering', detectedAtUnixMs: 8_000, reason: 'started by hand' }),
    );
    text = await scrape();
    expect([open('ranking-service', 'recovering'), open('ranking-service', 'unrecovered'), open('retrieval-service', 'recovering')]).toEqual([1, 0, 0]);
  });

  it("says whether the latest finished backup run failed; a run in progress doesn't change it", async () => {
    const run = (id: string, state: string, startedAt: number, endedAt: number | null) =>
      upsertOperation(pool, {
        workflowId: `backup-snapshot-${id}`,
        runId: 'r',
        kind: 'snapshot',
        target: 'model-registry',
        state,
        startedAt: new Date(startedAt),
        endedAt: endedAt === null ? null : new Date(endedAt),
      });
    await run('1', 'verified', 10_000, 11_000);
    let text = await scrape();
    expect(value(text, 'ranksafe_snapshot_last_run_failed')).toBe(0);
    expect(value(text, 'ranksafe_snapshot_last_run_timestamp_seconds')).toBe(11);

    await run('2', 'failed', 20_000, 21_000);
    await run('3', 'running', 30_000, null);
    text = await scrape();
    expect(value(text, 'ranksafe_snapshot_last_run_failed')).toBe(1);
    expect(value(text, 'ranksafe_snapshot_last_run_timestamp_seconds')).toBe(21);

    await run('3', 'verified', 30_000, 31_000);
    text = await scrape();
    expect(value(text, 'ranksafe_snapshot_last_run_failed')).toBe(0);
    expect(value(text, 'ranksafe_snapshot_last_run_timestamp_seconds')).toBe(31);
  });

  it('exports the RPO age and the newest verified snapshot from ListSnapshots', async () => {
    const now = Date.now();
    reg.answer = async () => ({
      rpoMs: 1_000_000,
      snapshots: [
        snap({ id: 'new', status: 'failed: rows differ', createdAtUnixMs: now - 10_000 }),
        snap({ id: 'ok', status: 'verified', createdAtUnixMs: now - 1_000_000, verifiedAtUnixMs: now - 990_000 }),
        snap({ id: 'old', status: 'verified', createdAtUnixMs: now - 5_000_000, verifiedAtUnixMs: now - 4_990_000 }),
      ],
    });
    const text = await scrape();
    expect(value(text, 'ranksafe_snapshot_rpo_age_seconds')).toBe(1000);
    expect(value(text, 'ranksafe_snapshot_last_verified_timestamp_seconds')).toBeCloseTo((now - 1_000_000) / 1000, 3);
  });

  it('exports the current state of each model’s latest rollout, and whether it is still running', async () => {
    const rollout = (model: string, version: string, state: string, startedAt: number, endedAt: number | null) =>
      upsertOperation(pool, {
        workflowId: `rollout-${model}-${version}`,
        runId: 'r',
        kind: 'rollout',
        target: model,
        state,
        startedAt: new Date(startedAt),
        endedAt: endedAt === null ? null : new Date(endedAt),
      });
    await rollout('minilm-l6-v2', 'v1', 'succeeded', 1_000, 2_000);
    await rollout('minilm-l6-v2', 'v2', 'running', 3_000, null);
    await rollout('bert4rec', 'v7', 'rolled-back', 1_000, 4_000);
    await rollout('ce-rerank', 'v1', 'paused-by-hand', 1_000, null); // a state this code does not know yet
    const text = await scrape();
    const state = (model: string) => Object.fromEntries(samples(text, 'ranksafe_rollout_state', { model }).map((s) => [s.labels.state, s.value] as const));
    expect(state('minilm-l6-v2')).toEqual({ running: 1, succeeded: 0, 'rolled-back': 0, frozen: 0, failed: 0 });
    expect(state('bert4rec')).toEqual({ running: 0, succeeded: 0, 'rolled-back': 1, frozen: 0, failed: 0 });
    expect(state('ce-rerank')).toEqual({ running: 0, succeeded: 0, 'rolled-back': 0, frozen: 0, failed: 0, 'paused-by-hand': 1 });
    expect(value(text, 'ranksafe_rollout_running', { model: 'minilm-l6-v2' })).toBe(1);
    expect(value(text, 'ranksafe_rollout_running', { model: 'bert4rec' })).toBe(0);
    expect(value(text, 'ranksafe_rollout_running', { model: 'ce-rerank' })).toBe(1);
  });

  it('a failing or hanging registry counts an error and leaves its gauges out; the scrape and the other sources still answer', async () => {
    errors.length = 0;
    reg.answer = async () => {
      throw new Error('14 UNAVAILABLE: registry down');
    };
    let text = await scrape();
    expect(value(text, 'ranksafe_cold_path_collect_errors_total', { source: 'snapshots' })).toBe(1);
    expect(value(text, 'ranksafe_cold_path_up', { source: 'snapshots' })).toBe(0);
    expect(value(text, 'ranksafe_snapshot_rpo_age_seconds')).toBeUndefined();
    expect(value(text, 'ranksafe_snapshot_last_verified_timestamp_seconds')).toBeUndefined();
    expect(value(text, 'ranksafe_incidents_open', { component: 'ranking-service', state: 'recovering' })).toBe(1);
    expect(value(text, 'ranksafe_cold_path_up', { source: 'incidents' })).toBe(1);
    expect(errors).toEqual(['snapshots: 14 UNAVAILABLE: registry down']);

    // It hangs (until the scrape gives up and aborts the call): bounded by the 300 ms timeout.
    let aborted = false;
    reg.answer = (signal) => new Promise((_, reject) => signal?.addEventListener('abort', () => ((aborted = true), reject(new Error('aborted')))));
    const t0 = Date.now();
    text = await scrape();
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(aborted).toBe(true);
    expect(value(text, 'ranksafe_cold_path_collect_errors_total', { source: 'snapshots' })).toBe(2);
    expect(errors[1]).toMatch(/snapshots took longer than 300 ms/);

    // Back: the next scrape is whole again.
    reg.answer = async () => ({ rpoMs: 5_000, snapshots: [snap({ status: 'verified', createdAtUnixMs: Date.now() - 5_000 })] });
    text = await scrape();
    expect(value(text, 'ranksafe_snapshot_rpo_age_seconds')).toBe(5);
    expect(value(text, 'ranksafe_cold_path_up', { source: 'snapshots' })).toBe(1);
    expect(value(text, 'ranksafe_cold_path_collect_errors_total', { source: 'snapshots' })).toBe(2);
  });

  it('a Postgres read that hangs (its table locked) is cut off by the timeout; the late answer is not used', async () => {
    const before = value(await scrape(), 'ranksafe_cold_path_collect_errors_total', { source: 'incidents' })!;
    const locker = createPool(db.url, { max: 1 });
    const c = await locker.connect();
    try {
      await c.query('BEGIN');
      await c.query('LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE');
      const t0 = Date.now();
      const text = await scrape(); // the hung read holds one of the pool's two connections; the other reads use the other
      expect(Date.now() - t0).toBeLessThan(3_000);
      expect(value(text, 'ranksafe_cold_path_collect_errors_total', { source: 'incidents' })).toBe(before + 1);
      expect(value(text, 'ranksafe_cold_path_up', { source: 'incidents' })).toBe(0);
      expect(samples(text, 'ranksafe_incidents_open')).toEqual([]);
      expect(value(text, 'ranksafe_rollout_running', { model: 'bert4rec' })).toBe(0); // operations are not locked
    } finally {
      await c.query('COMMIT');
      c.release();
      await locker.end();
    }
    // The hung read finishes now; it must not fill in the gauge behind the scrape's back. (Its
    // values are looked at without a scrape, which would read again: prom-client's own store.)
    await new Promise((r) => setTimeout(r, 300));
    const stored = metrics.registry.getSingleMetric('ranksafe_incidents_open') as unknown as { hashMap: Record<string, unknown> };
    expect(Object.keys(stored.hashMap)).toEqual([]);
    expect(value(await scrape(), 'ranksafe_incidents_open', { component: 'ranking-service', state: 'recovering' })).toBe(1);
  });

  it('an unreachable database fails only its own sources; one scrape reads each source once', async () => {
    const dead = createPool('postgres://postgres@127.0.0.1:1/none', { connectionTimeoutMillis: 500 });
    const r = new Registry();
    const f = fakeRegistry();
    const failed: string[] = [];
    registerColdPathMetrics(r, { pool: dead, registry: f.registry, rpoTargetMs: 60_000, timeoutMs: 1_000, onError: (s) => failed.push(s) });
    try {
      const text = await r.metrics();
      expect(f.calls).toBe(1); // ten metrics, one read
      expect(failed.sort()).toEqual(['incidents', 'rollouts', 'snapshot_runs']);
      for (const source of ['incidents', 'snapshot_runs', 'rollouts']) expect(value(text, 'ranksafe_cold_path_collect_errors_total', { source })).toBe(1);
      expect(value(text, 'ranksafe_cold_path_collect_errors_total', { source: 'snapshots' })).toBe(0);
      expect(value(text, 'ranksafe_snapshot_last_run_failed')).toBeUndefined();
      expect(samples(text, 'ranksafe_incidents_open')).toEqual([]);
      expect(value(text, 'ranksafe_snapshot_rpo_age_seconds')).toBe(-1);
      expect(value(text, 'ranksafe_snapshot_rpo_target_seconds')).toBe(60);
      // Two scrapes at once share one read.
      await Promise.all([r.metrics(), r.metrics()]);
      expect(f.calls).toBe(2);
    } finally {
      await dead.end();
    }
  });
});
