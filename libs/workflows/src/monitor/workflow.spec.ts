// FailureDetection on the time-skipping test server with fake activities: a failure starts exactly
// one Recovery (child `recover-<instance>`), the failed replica is left out of probing until that
// recovery reports back, and a planned drain is not probed (so it is no incident).
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Activities, ProbeInput } from '@ranksafe/activities';
import { eventually, temporalTimeSkippingEnv } from '@ranksafe/testing';
import { workflowBundlerOptions } from '@ranksafe/platform';
import { announceDrainSignal, monitorStatusQuery, monitorWorkflow } from '../index';

const replicas = [
  { instance: 'ranking-service-1', address: '127.0.0.1:50071' },
  { instance: 'ranking-service-2', address: '127.0.0.1:50072' },
];

describe('monitorWorkflow', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await temporalTimeSkippingEnv();
  }, 120_000);
  afterAll(async () => {
    await env?.teardown();
  });

  it('detects a failure, starts one recovery, leaves the replica out until it is back, and ignores a planned drain', async () => {
    const probes: ProbeInput[] = [];
    const restarts: string[] = [];
    let failed = false;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const acts: Partial<Activities> = {
      probeUntilFailure: async (input) => {
        probes.push(input);
        await new Promise((r) => setTimeout(r, 400));
        if (!failed && input.replicas.some((r) => r.instance === 'ranking-service-2')) {
          failed = true;
          return {
            rounds: 3,
            failure: {
              instance: 'ranking-service-2',
              address: '127.0.0.1:50072',
              reason: 'health UNREACHABLE',
              consecutive: 3,
              firstFailureAtUnixMs: 100,
              detectedAtUnixMs: 200,
            },
          };
        }
        return { rounds: 1 };
      },
      recordStep: async () => undefined,
      recordOperation: async () => undefined,
      recordIncident: async () => undefined,
      setReplicaHealth: async () => ({ applied: true, detail: '' }),
      restartInstance: async ({ name }) => {
        restarts.push(name);
        await released;
        return { restarted: true, instance: { name, component: 'ranking-service', pid: 1, state: 'running', startedAtUnixMs: 300, restarts: 1 } };
      },
      waitUntilServing: async () => ({ waitedMs: 1 }),
      ensureProductionVersion: async () => ({ version: 'v1', loaded: false }),
      verifyReplica: async () => ({ latencyMs: 1, detail: 'ok' }),
    };
    const taskQueue = `monitor-${randomUUID()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../index'),
      bundlerOptions: workflowBundlerOptions(),
      activities: acts,
    });
    await worker.runUntil(async () => {
      const workflowId = `monitor-test-${randomUUID()}`;
      const h = await env.client.workflow.start(monitorWorkflow, { taskQueue, workflowId, args: [{ tier: 'ranking-service', replicas }] });
      // While the recovery runs, only ranking-service-1 is probed.
      await eventually(async () => (await h.query(monitorStatusQuery)).recovering.includes('ranking-service-2'), 30_000);
      await eventually(() => probes.some((p) => p.replicas.length === 1 && p.replicas[0]!.instance === 'ranking-service-1'), 30_000);
      release();
      // The recovery reports back: both are probed again; one incident, one recovery.
      await eventually(async () => {
        const s = await h.query(monitorStatusQuery);
        return s.recovering.length === 0 && s.probing.length === 2;
      }, 30_000);
      const s = await h.query(monitorStatusQuery);
      expect(s).toMatchObject({ incidents: 1, lastIncident: { id: 'ranking-service-2-200', instance: 'ranking-service-2' } });
      expect(restarts).toEqual(['ranking-service-2']);
      const rec = await env.client.workflow.getHandle('recover-ranking-service-2').result();
      expect(rec).toMatchObject({ outcome: 'recovered', incidentId: 'ranking-service-2-200' });
      // A planned drain of ranking-service-1: it is not probed while announced.
      await h.signal(announceDrainSignal, { instance: 'ranking-service-1', forMs: 60_000, by: 'test' });
      await eventually(async () => (await h.query(monitorStatusQuery)).probing.join() === 'ranking-service-2', 30_000);
      const n = probes.length;
      await eventually(() => probes.length > n + 1, 30_000);
      expect(probes.slice(n + 1).every((p) => p.replicas.every((r) => r.instance !== 'ranking-service-1'))).toBe(true);
      await h.terminate('test over');
    });
  }, 120_000);
});
