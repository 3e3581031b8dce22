// BackupSnapshot on the Java time-skipping test server (official binary, existing-path) with fake
// activities: the success path and its step log, a failed verification failing the workflow,
// a transient registry error retried, and bad input refused.
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import type { Activities, SnapshotSummary } from '@ranksafe/activities';
import type { StepRecord } from '@ranksafe/db';
import { recordHistory, temporalTimeSkippingEnv } from '@ranksafe/testing';
import { workflowBundlerOptions } from '@ranksafe/platform';
import { backupSnapshotStatusQuery, backupSnapshotWorkflow, SA } from '../index';

const snap = (over: Partial<SnapshotSummary> = {}): SnapshotSummary => ({
  id: 'snap-1',
  label: 'l',
  status: 'unverified',
  createdAtUnixMs: 1,
  verifiedAtUnixMs: 0,
  rows: 12,
  artifacts: 3,
  bytes: 4096,
  ...over,
});

describe('backupSnapshotWorkflow', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await temporalTimeSkippingEnv();
  }, 120_000);
  afterAll(async () => {
    await env?.teardown();
  });

  function fakes(over: Partial<Activities> = {}) {
    const steps: StepRecord[] = [];
    const ops: string[] = [];
    const calls: string[] = [];
    const acts: Partial<Activities> = {
      recordStep: async (s) => void steps.push(s),
      recordOperation: async (o) => void ops.push(o.state),
      createRegistrySnapshot: async ({ label }) => (calls.push(`create:${label}`), snap({ label })),
      verifyRegistrySnapshot: async ({ id }) => (calls.push(`verify:${id}`), snap({ id, status: 'verified', verifiedAtUnixMs: 2 })),
      registryRpo: async () => (calls.push('rpo'), { rpoMs: 1500, snapshots: 1 }),
      ...over,
    };
    return { acts, steps, ops, calls };
  }

  async function run(acts: Partial<Activities>, input: unknown, workflowId = `backup-snapshot-${randomUUID()}`, history?: string) {
    const taskQueue = `snap-${randomUUID()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../index'),
      bundlerOptions: workflowBundlerOptions(),
      activities: acts,
    });
    return worker.runUntil(async () => {
      const h = await env.client.workflow.start(backupSnapshotWorkflow, { taskQueue, workflowId, args: [input as never] });
      try {
        const result = await h.result();
        if (history) await recordHistory(h, history);
        return { result, status: await h.query(backupSnapshotStatusQuery), desc: await h.describe() };
      } catch (e) {
        if (history) await recordHistory(h, history);
        return { error: e as Error, status: await h.query(backupSnapshotStatusQuery).catch(() => undefined), desc: await h.describe() };
      }
    });
  }

  it('creates, verifies and measures RPO; the label is the workflow id; every step is logged', async () => {
    const f = fakes();
    const workflowId = `backup-snapshot-${randomUUID()}`;
    const r = await run(f.acts, { rpoTargetMs: 60_000 }, workflowId, 'snapshot-verified');
    expect(r.result).toMatchObject({ snapshotId: 'snap-1', label: workflowId, verified: true, rows: 12, rpoMs: 1500, rpoTargetMs: 60_000, rpoMet: true });
    expect(f.calls).toEqual([`create:${workflowId}`, 'verify:snap-1', 'rpo']);
    expect(f.steps.map((s) => `${s.seq}:${s.step}:${s.state}`)).toEqual([
      '1:create snapshot:started',
      '1:create snapshot:completed',
      '2:verify snapshot:started',
      '2:verify snapshot:completed',
      '3:measure RPO:started',
      '3:measure RPO:completed',
    ]);
    expect(f.ops).toEqual(['running', 'verified']);
    expect(r.status?.phase).toBe('done');
    expect(String(r.desc.memo?.summary)).toMatch(/snapshot snap-1 verified: 12 rows, 3 artifacts.*RPO 2 s \(target 60 s, met\)/);
    expect(r.desc.typedSearchAttributes.get(SA.OperationState)).toBe('verified');
    expect(r.desc.typedSearchAttributes.get(SA.Operation)).toBe('snapshot');
  });

  it('fails the workflow when verification fails (non-retryable), and says so in the memo', async () => {
    let verifies = 0;
    const f = fakes({
      verifyRegistrySnapshot: async ({ id }) => {
        verifies++;
        throw ApplicationFailure.create({ type: 'SnapshotVerificationFailed', nonRetryable: true, message: `snapshot ${id} failed: row counts differ` });
      },
    });
    const r = await run(f.acts, {}, undefined, 'snapshot-verification-failed');
    expect(r.error).toBeInstanceOf(WorkflowFailedError);
    expect(verifies).toBe(1);
    expect(f.steps.at(-1)).toMatchObject({ step: 'verify snapshot', state: 'failed', detail: { error: expect.stringMatching(/row counts differ/) } });
    expect(f.ops).toEqual(['running', 'failed']);
    expect(r.status).toMatchObject({ phase: 'failed', snapshotId: 'snap-1' });
    expect(r.desc.typedSearchAttributes.get(SA.OperationState)).toBe('failed');
    expect(String(r.desc.memo?.summary)).toMatch(/^snapshot FAILED: .*row counts differ/);
  });

  it('retries a transient registry error and does not create twice', async () => {
    let attempts = 0;
    const f = fakes();
    const create = f.acts.createRegistrySnapshot!;
    f.acts.createRegistrySnapshot = async (i) => {
      if (++attempts === 1) throw new Error('UNAVAILABLE: registry restarting');
      return create(i);
    };
    const r = await run(f.acts, { verify: false });
    expect(r.result).toMatchObject({ verified: false });
    expect(attempts).toBe(2);
    expect(f.calls.filter((c) => c.startsWith('create:'))).toHaveLength(1);
    expect(f.calls).not.toContain('verify:snap-1');
  });

  it('refuses bad input with one non-retryable error naming every problem', async () => {
    const f = fakes();
    const r = await run(f.acts, { verify: 'yes', rpoTargetMs: -5, colour: 'red' });
    expect(r.error).toBeInstanceOf(WorkflowFailedError);
    const cause = (r.error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('InvalidInput');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toMatch(/unknown field "colour".*verify must be true or false.*rpoTargetMs must be a positive integer/);
    expect(f.calls).toEqual([]);
  });
});
