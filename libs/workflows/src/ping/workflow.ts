import { defineQuery, proxyActivities, setHandler, upsertMemo, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '@ranksafe/activities';

const { ping } = proxyActivities<Pick<Activities, 'ping'>>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 5, initialInterval: '200 milliseconds' },
});

export interface PingWorkflowResult {
  message: string;
  worker: string;
  pid: number;
  roundTrips: number;
}

export const pingStatusQuery = defineQuery<string>('status');

/**
 * The smallest proof that Temporal, the drill-worker and its activities are wired: it runs the
 * ping activity `rounds` times and reports which worker answered.
 */
export async function pingWorkflow(message: string, rounds = 1): Promise<PingWorkflowResult> {
  let status = 'started';
  setHandler(pingStatusQuery, () => status);
  let last = { message: '', worker: '', pid: 0 };
  for (let i = 1; i <= rounds; i++) {
    status = `round ${i}/${rounds}`;
    last = await ping(message);
  }
  status = 'done';
  upsertMemo({ summary: `ping "${message}" answered by ${last.worker} pid ${last.pid} (${rounds} round trip(s), run ${workflowInfo().runId})` });
  return { message: last.message, worker: last.worker, pid: last.pid, roundTrips: rounds };
}
