// Real Postgres: drill runs and injected faults (migration 0006).
import { scratchDatabase } from '@ranksafe/testing';
import { createPool, getDrillRun, listActiveDrillFaults, listDrillRuns, markDrillFaultReverted, migrateUp, recordDrillFault, upsertDrillRun } from './index';
import type { Pool } from 'pg';

describe('drill runs and faults', () => {
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

  const base = {
    workflowId: 'drill-x-1',
    runId: 'r1',
    scenario: 'ranking-replica-kill',
    target: 'ranking-service-2',
    dryRun: false,
    startedAtUnixMs: 1_000_000,
  };

  it('stores a run as it ends; a retried "running" write never undoes the outcome; figures kept', async () => {
    await upsertDrillRun(pool, { ...base, outcome: 'running' });
    await upsertDrillRun(pool, {
      ...base,
      outcome: 'passed',
      endedAtUnixMs: 1_060_000,
      mttdMs: 700,
      rtoMs: 8000,
      requests: 600,
      failed: 0,
      score: 91.5,
      result: { a: 1 },
    });
    await upsertDrillRun(pool, { ...base, outcome: 'running' }); // a late retry of the first write
    const r = await getDrillRun(pool, 'drill-x-1');
    expect(r).toMatchObject({ outcome: 'passed', mttdMs: 700, rtoMs: 8000, requests: 600, failed: 0, score: 91.5, result: { a: 1 } });
    expect(r!.endedAt!.getTime()).toBe(1_060_000);
    await upsertDrillRun(pool, {
      ...base,
      workflowId: 'drill-y-2',
      scenario: 'tier-lost',
      outcome: 'failed',
      startedAtUnixMs: 2_000_000,
      reason: 'no detection',
    });
    expect((await listDrillRuns(pool)).map((x) => x.workflowId)).toEqual(['drill-y-2', 'drill-x-1']);
    const only = await listDrillRuns(pool, { scenario: 'ranking-replica-kill' });
    expect(only.map((x) => x.workflowId)).toEqual(['drill-x-1']);
    expect(only[0]!.result).toEqual({}); // listed without the document unless asked
    expect((await listDrillRuns(pool, { scenario: 'ranking-replica-kill', withResult: true }))[0]!.result).toEqual({ a: 1 });
  });

  it('records a fault once, lists it while active, and the first revert wins', async () => {
    const f = {
      id: 'drill-x-1/kill/ranking-service-2',
      drillWorkflowId: 'drill-x-1',
      kind: 'kill',
      target: 'ranking-service-2',
      expiresAtUnixMs: Date.now() + 60_000,
    };
    await recordDrillFault(pool, { ...f, detail: { pid: 1 } });
    await recordDrillFault(pool, { ...f, detail: { proven: true } });
    const active = await listActiveDrillFaults(pool);
    expect(active).toHaveLength(1);
    expect(active[0]).toMatchObject({ kind: 'kill', target: 'ranking-service-2', detail: { pid: 1, proven: true }, revertedAt: null });
    expect(await listActiveDrillFaults(pool, 'someone-else')).toHaveLength(0);
    expect(await markDrillFaultReverted(pool, f.id, 'drill')).toBe(true);
    expect(await markDrillFaultReverted(pool, f.id, 'reconciler')).toBe(false);
    expect(await listActiveDrillFaults(pool)).toHaveLength(0);
  });
});
