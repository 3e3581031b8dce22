// Recovery's saga on the time-skipping test server with fake activities: the happy path and its
// step log, a replica already back (not restarted twice), each failing step running the
// compensations registered before it in reverse, escalation, and bad input.
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import type { Activities, InstanceSummary } from '@ranksafe/activities';
import type { IncidentRecord, StepRecord } from '@ranksafe/db';
import { recordHistory, temporalTimeSkippingEnv } from '@ranksafe/testing';
import { workflowBundlerOptions } from '@ranksafe/platform';
import { recoveryStatusQuery, recoveryWorkflow, SA, type Incident } from '../index';

const inst = (over: Partial<InstanceSummary> = {}): InstanceSummary => ({
  name: 'ranking-service-2',
  component: 'ranking-service',
  address: '127.0.0.1:1',
  pid: 2,
  state: 'running',
  startedAtUnixMs: 5,
  restarts: 1,
  ...over,
});
const incident: Incident = {
  instance: 'ranking-service-2',
  tier: 'ranking-service',
  address: '127.0.0.1:50072',
  reason: 'health UNREACHABLE x3',
  detectedAtUnixMs: 1_000,
  firstFailureAtUnixMs: 500,
  monitorWorkflowId: 'no-such-monitor',
};

describe('recoveryWorkflow', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await temporalTimeSkippingEnv();
  }, 120_000);
  afterAll(async () => {
    await env?.teardown();
  });

  function fakes(over: Partial<Activities> = {}) {
    const calls: string[] = [];
    const steps: StepRecord[] = [];
    const incidents: IncidentRecord[] = [];
    const acts: Partial<Activities> = {
      recordStep: async (s) => void steps.push(s),
      recordOperation: async () => undefined,
      recordIncident: async (i) => void incidents.push(i),
      setReplicaHealth: async ({ override }) => (calls.push(`health:${override}`), { applied: true, detail: override }),
      restartInstance: async ({ name }) => (calls.push(`restart:${name}`), { restarted: true, instance: inst() }),
      waitUntilServing: async () => (calls.push('wait'), { waitedMs: 10 }),
      ensureProductionVersion: async () => (calls.push('production'), { version: 'int8-abc', loaded: false }),
      verifyReplica: async () => (calls.push('verify'), { latencyMs: 3, detail: 'ok' }),
      ...over,
    };
    return { acts, calls, steps, incidents };
  }

  async function run(acts: Partial<Activities>, input: unknown, history?: string) {
    const taskQueue = `recover-${randomUUID()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../index'),
      bundlerOptions: workflowBundlerOptions(),
      activities: acts,
    });
    return worker.runUntil(async () => {
      const h = await env.client.workflow.start(recoveryWorkflow, { taskQueue, workflowId: `recover-test-${randomUUID()}`, args: [input as Incident] });
      let result, error: Error | undefined;
      try {
        result = await h.result();
      } catch (e) {
        error = e as Error;
      }
      if (history) await recordHistory(h, history);
      return { result, error, status: await h.query(recoveryStatusQuery).catch(() => undefined), desc: await h.describe() };
    });
  }

  it('drains, restarts, warms up, checks production, verifies and re-admits; incident recovered', async () => {
    const f = fakes();
    const r = await run(f.acts, incident, 'recovery-recovered');
    expect(r.error).toBeUndefined();
    expect(f.calls).toEqual(['health:not_serving', 'restart:ranking-service-2', 'wait', 'production', 'verify', 'health:none']);
    expect(r.result).toMatchObject({
      outcome: 'recovered',
      restarted: true,
      version: 'int8-abc',
      incidentId: 'ranking-service-2-1000',
      detectedAtUnixMs: 1_000,
    });
    expect(f.steps.filter((s) => s.state === 'completed').map((s) => s.step)).toEqual(['drain', 'restart', 'warm up', 'load production', 'verify', 're-admit']);
    expect(f.incidents.map((i) => i.state)).toEqual(['recovering', 'recovered']);
    expect(f.incidents[1]).toMatchObject({ id: 'ranking-service-2-1000', firstFailureAtUnixMs: 500, recoveredAtUnixMs: expect.any(Number) });
    expect(r.desc.typedSearchAttributes.get(SA.OperationState)).toBe('recovered');
    expect(String(r.desc.memo?.summary)).toMatch(/^ranking-service-2 recovered in \d+ ms after detection \(restarted; serving int8-abc\)/);
  });

  it('does not restart a replica the platform already brought back, and skips the drain of an unreachable one', async () => {
    const f = fakes({
      setReplicaHealth: async ({ override }) => ({ applied: override !== 'not_serving', detail: override === 'not_serving' ? 'unreachable' : override }),
      restartInstance: async () => ({ restarted: false, instance: inst({ startedAtUnixMs: 2_000 }) }),
    });
    const r = await run(f.acts, incident);
    expect(r.result).toMatchObject({ outcome: 'recovered', restarted: false });
    expect(String(r.desc.memo?.summary)).toMatch(/already back, not restarted/);
  });

  const failAt: Array<[string, keyof Activities, string[]]> = [
    ['restart', 'restartInstance', ['health:not_serving', 'health:none']],
    ['warm up', 'waitUntilServing', ['health:not_serving', 'restart:ranking-service-2', 'health:none']],
    ['verify', 'verifyReplica', ['health:not_serving', 'restart:ranking-service-2', 'wait', 'production', 'health:none']],
  ];
  it.each(failAt)('a failing %s step undoes the drain and escalates (unrecovered)', async (step, activity, expected) => {
    const f = fakes({
      [activity]: async () => {
        throw ApplicationFailure.create({ type: 'Broken', nonRetryable: true, message: `${step} broke` });
      },
    } as Partial<Activities>);
    const r = await run(f.acts, incident, step === 'verify' ? 'recovery-unrecovered' : undefined);
    expect(r.error).toBeInstanceOf(WorkflowFailedError);
    expect(((r.error as WorkflowFailedError).cause as ApplicationFailure).type).toBe('Unrecovered');
    expect(f.calls).toEqual(expected);
    expect(f.steps.map((s) => `${s.step}:${s.state}`)).toEqual(expect.arrayContaining([`${step}:failed`, 'undo drain:compensated']));
    expect(f.incidents.map((i) => i.state)).toEqual(['recovering', 'unrecovered']);
    expect(r.status).toMatchObject({ phase: 'escalated', outcome: 'unrecovered', compensations: [{ step: 'drain', ok: true }] });
    expect(r.desc.typedSearchAttributes.get(SA.OperationState)).toBe('unrecovered');
    expect(String(r.desc.memo?.summary)).toMatch(new RegExp(`NOT recovered .*${step} broke`));
  });

  it('keeps going when a compensation itself fails, and records that', async () => {
    const f = fakes({
      setReplicaHealth: async ({ override }) => {
        if (override === 'none') throw ApplicationFailure.create({ nonRetryable: true, message: 'admin RPC refused' });
        return { applied: true, detail: override };
      },
      verifyReplica: async () => {
        throw ApplicationFailure.create({ nonRetryable: true, message: 'canary query failed' });
      },
    });
    const r = await run(f.acts, incident);
    expect(r.error).toBeInstanceOf(WorkflowFailedError);
    expect(r.status?.compensations).toEqual([{ step: 'drain', ok: false, error: expect.stringMatching(/admin RPC refused|Activity task failed/) }]);
    expect(f.steps.map((s) => `${s.step}:${s.state}`)).toContain('undo drain:compensation_failed');
  });

  it('refuses bad input without touching anything', async () => {
    const f = fakes();
    const r = await run(f.acts, { instance: 'Bad Name', tier: 'db', address: 'nowhere' });
    expect(((r.error as WorkflowFailedError).cause as ApplicationFailure).type).toBe('InvalidInput');
    expect(((r.error as WorkflowFailedError).cause as ApplicationFailure).message).toMatch(/instance must be.*tier must be one of.*address must be host:port/);
    expect(f.calls).toEqual([]);
  });
});
