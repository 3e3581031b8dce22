// The Temporal Schedules of schedules.ts on the real dev server (the time-skipping server has no
// Schedules): the backup schedule's configuration is authoritative (an update that does not say
// paused resumes it), a drill schedule keeps its state unless told, holds its input, and is deleted.
// Nothing here needs a worker: schedules are created, described and changed, not run
// (apps/drill-worker/src/snapshot.int.spec.ts and apps/ops/src/commands/drill.int.spec.ts run them).
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporalDevEnv } from '@ranksafe/testing';
import { deleteDrillSchedule, describeDrillSchedule, describeSchedule, drillScheduleId, ensureDrillSchedule, ensureSnapshotSchedule } from './schedules';

describe('Temporal Schedules (dev server)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await temporalDevEnv();
  }, 120_000);
  afterAll(async () => {
    await env?.teardown();
  });

  it('creates the backup schedule, then brings it in line with the configuration', async () => {
    const scheduleId = `backup-snapshot-test-${randomUUID().slice(0, 8)}`;
    const o = { scheduleId, taskQueue: 'tq', rpoTargetMs: 7_200_000 };
    const first = await ensureSnapshotSchedule(env.client, { ...o, intervalMs: 3_600_000, paused: true });
    expect(first).toMatchObject({ scheduleId, created: true, intervalMs: 3_600_000, paused: true });
    const second = await ensureSnapshotSchedule(env.client, { ...o, intervalMs: 900_000 });
    expect(second).toMatchObject({ created: false, intervalMs: 900_000, paused: false });
    expect(await describeSchedule(env.client, scheduleId)).toMatchObject({ created: false, intervalMs: 900_000, paused: false });
    await env.client.schedule.getHandle(scheduleId).delete();
  });

  it('keeps a drill schedule paused or running unless told, holds its input, deletes it', async () => {
    const scenario = 'ranking-tier-lost';
    await deleteDrillSchedule(env.client, scenario);
    expect(await describeDrillSchedule(env.client, scenario)).toBeUndefined();
    const input = { scenario, dryRun: true } as const;
    const created = await ensureDrillSchedule(env.client, { taskQueue: 'tq', input, intervalMs: 86_400_000, paused: true });
    expect(created).toMatchObject({ scheduleId: drillScheduleId(scenario), scenario, created: true, intervalMs: 86_400_000, paused: true, input });
    const d = await env.client.schedule.getHandle(drillScheduleId(scenario)).describe();
    expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: 'drillWorkflow', workflowId: `drill-${scenario}`, taskQueue: 'tq' });
    expect(d.policies.overlap).toBe('SKIP');

    const changed = await ensureDrillSchedule(env.client, { taskQueue: 'tq', input: { scenario, load: { ratePerSec: 5 } }, intervalMs: 3_600_000 });
    expect(changed).toMatchObject({ created: false, intervalMs: 3_600_000, paused: true });
    expect((await describeDrillSchedule(env.client, scenario))?.input).toEqual({ scenario, load: { ratePerSec: 5 } });
    expect(await ensureDrillSchedule(env.client, { taskQueue: 'tq', input, intervalMs: 3_600_000, paused: false })).toMatchObject({ paused: false });
    await expect(ensureDrillSchedule(env.client, { taskQueue: 'tq', input: { scenario: 'nope' as never }, intervalMs: 60_000 })).rejects.toThrow(
      'no drill scenario "nope"',
    );

    expect(await deleteDrillSchedule(env.client, scenario)).toBe(true);
    expect(await deleteDrillSchedule(env.client, scenario)).toBe(false);
  });
});
