// The real drill-worker against the real Temporal dev server (official CLI binary).
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporalDevEnv } from '@ranksafe/testing';
import { pingWorkflow, pingStatusQuery } from '@ranksafe/workflows';
import { loadWorkerConfig } from './config';
import { createDrillWorker } from './worker';

describe('drill-worker', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await temporalDevEnv();
  }, 120_000);
  afterAll(async () => {
    await env?.teardown();
  });

  it('runs the ping workflow end to end with its real activities', async () => {
    const taskQueue = `drills-${randomUUID()}`;
    const cfg = loadWorkerConfig({ TEMPORAL_ADDRESS: env.address, TEMPORAL_TASK_QUEUE: taskQueue, LOG_LEVEL: 'warn' });
    const { worker, close } = await createDrillWorker(cfg);
    try {
      const workflowId = `ping-${randomUUID()}`;
      const result = await worker.runUntil(async () => {
        const handle = await env.client.workflow.start(pingWorkflow, { taskQueue, workflowId, args: ['integration', 2] });
        const r = await handle.result();
        expect(await handle.query(pingStatusQuery)).toBe('done');
        const desc = await handle.describe();
        expect(String(desc.memo?.summary)).toContain('answered by');
        return r;
      });
      expect(result).toMatchObject({ message: 'integration', pid: process.pid, roundTrips: 2 });
    } finally {
      await close();
    }
  });

  it('fails fast with one line when Temporal is unreachable', async () => {
    const cfg = loadWorkerConfig({ TEMPORAL_ADDRESS: '127.0.0.1:1', LOG_LEVEL: 'warn' });
    await expect(createDrillWorker(cfg)).rejects.toMatchObject({
      fatalStartup: true,
      message: expect.stringMatching(/^drill-worker cannot reach Temporal at 127\.0\.0\.1:1/),
    });
  });
});
