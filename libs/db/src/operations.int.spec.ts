// Real Postgres: the operations log, step records and incidents (migration 0005).
import { scratchDatabase } from '@ranksafe/testing';
import { createPool, listIncidents, listOperations, listSteps, migrateUp, recordStep, upsertIncident, upsertOperation } from './index';
import type { Pool } from 'pg';

describe('operations log', () => {
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

  it('upserts an operation: the state moves, the detail merges, the start time stays', async () => {
    await upsertOperation(pool, { workflowId: 'recover-r1', runId: 'a', kind: 'recovery', target: 'r1', state: 'running', detail: { incident: 'i1' } });
    const [first] = await listOperations(pool, { kind: 'recovery' });
    await upsertOperation(pool, {
      workflowId: 'recover-r1',
      runId: 'a',
      kind: 'recovery',
      target: 'r1',
      state: 'recovered',
      endedAt: new Date(),
      detail: { steps: 6 },
    });
    const ops = await listOperations(pool, { kind: 'recovery' });
    expect(ops).toHaveLength(1);
    expect(ops[0]).toMatchObject({ state: 'recovered', detail: { incident: 'i1', steps: 6 } });
    expect(ops[0]!.startedAt).toEqual(first!.startedAt);
    expect(ops[0]!.endedAt).toBeInstanceOf(Date);
  });

  it('records steps in order; writing the same step record twice is counted, not duplicated', async () => {
    await recordStep(pool, { workflowId: 'w', runId: 'r', seq: 1, step: 'drain', state: 'started', atUnixMs: 1_000 });
    await recordStep(pool, { workflowId: 'w', runId: 'r', seq: 1, step: 'drain', state: 'completed', atUnixMs: 2_000 });
    await recordStep(pool, { workflowId: 'w', runId: 'r', seq: 1, step: 'drain', state: 'completed', atUnixMs: 2_000 });
    await recordStep(pool, { workflowId: 'w', runId: 'r', seq: 2, step: 'restart', state: 'failed', atUnixMs: 3_000, detail: { error: 'boom' } });
    const steps = await listSteps(pool, 'w');
    expect(steps.map((s) => `${s.seq}:${s.step}:${s.state}:${s.writes}`)).toEqual(['1:drain:started:1', '1:drain:completed:2', '2:restart:failed:1']);
    expect(steps[2]!.detail).toEqual({ error: 'boom' });
    await expect(recordStep(pool, { workflowId: 'w', runId: 'r', seq: 3, step: 'x', state: 'exploded' as never })).rejects.toThrow(/check constraint/);
  });

  it('opens an incident and moves it to recovered without losing the recovery id', async () => {
    await upsertIncident(pool, {
      id: 'i1',
      instance: 'ranking-service-2',
      component: 'ranking-service',
      reason: 'health: UNREACHABLE x3',
      detectedAtUnixMs: 10_000,
      firstFailureAtUnixMs: 9_000,
      state: 'open',
    });
    await upsertIncident(pool, {
      id: 'i1',
      instance: 'ranking-service-2',
      component: 'ranking-service',
      reason: 'health: UNREACHABLE x3',
      detectedAtUnixMs: 10_000,
      state: 'recovering',
      recoveryWorkflowId: 'recover-ranking-service-2',
    });
    expect((await listIncidents(pool, { openOnly: true })).map((i) => i.state)).toEqual(['recovering']);
    await upsertIncident(pool, {
      id: 'i1',
      instance: 'ranking-service-2',
      component: 'ranking-service',
      reason: 'health: UNREACHABLE x3',
      detectedAtUnixMs: 10_000,
      state: 'recovered',
      recoveredAtUnixMs: 15_000,
    });
    const [i] = await listIncidents(pool, { instance: 'ranking-service-2' });
    expect(i).toMatchObject({ state: 'recovered', recoveryWorkflowId: 'recover-ranking-service-2' });
    expect(i!.recoveredAt!.getTime() - i!.detectedAt.getTime()).toBe(5_000);
    expect(i!.firstFailureAt!.getTime()).toBe(9_000);
    expect(await listIncidents(pool, { openOnly: true })).toEqual([]);
  });
});
