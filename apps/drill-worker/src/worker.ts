import { NativeConnection, Worker } from '@temporalio/worker';
import * as activities from '@ranksafe/activities';
import { startupError } from '@ranksafe/serving-kit';
import type { WorkerConfig } from './config';

/** Connect to Temporal and build the drill worker (workflows bundled from libs/workflows). */
export async function createDrillWorker(cfg: Pick<WorkerConfig, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'TEMPORAL_TASK_QUEUE' | 'SHUTDOWN_GRACE_MS'>) {
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address: cfg.TEMPORAL_ADDRESS });
  } catch (e) {
    throw startupError(`drill-worker cannot reach Temporal at ${cfg.TEMPORAL_ADDRESS} (${(e as Error).message.split('\n')[0]}); start it (npm start) or fix TEMPORAL_ADDRESS`);
  }
  const worker = await Worker.create({
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue: cfg.TEMPORAL_TASK_QUEUE,
    workflowsPath: require.resolve('@ranksafe/workflows'),
    activities,
    shutdownGraceTime: cfg.SHUTDOWN_GRACE_MS,
  });
  return { worker, connection };
}
