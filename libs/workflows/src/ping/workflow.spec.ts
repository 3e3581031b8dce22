// The Java time-skipping test server (official binary, existing-path) with fake activities.
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { temporalTimeSkippingEnv } from '@ranksafe/testing';
import { workflowBundlerOptions } from '@ranksafe/platform';
import { pingWorkflow } from '../index';

describe('pingWorkflow', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await temporalTimeSkippingEnv();
  }, 120_000);
  afterAll(async () => {
    await env?.teardown();
  });

  it('runs the ping activity once per round and reports who answered', async () => {
    const calls: string[] = [];
    let failFirst = true;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'test-ping',
      workflowsPath: require.resolve('../index'),
      bundlerOptions: workflowBundlerOptions(),
      activities: {
        ping: async (message: string) => {
          calls.push(message);
          if (failFirst) {
            failFirst = false;
            throw new Error('transient');
          }
          return { message, worker: 'fake-host', pid: 42, attempt: 1, atUnixMs: 0 };
        },
      },
    });
    const result = await worker.runUntil(
      env.client.workflow.execute(pingWorkflow, { taskQueue: 'test-ping', workflowId: `ping-${randomUUID()}`, args: ['hello', 3] }),
    );
    expect(result).toEqual({ message: 'hello', worker: 'fake-host', pid: 42, roundTrips: 3 });
    // One retry after the transient failure, then three successful rounds.
    expect(calls).toEqual(['hello', 'hello', 'hello', 'hello']);
  });
});
