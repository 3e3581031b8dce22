import { NativeConnection, Runtime, Worker, DefaultLogger, type LogLevel } from '@temporalio/worker';
import * as activities from '@ranksafe/activities';
import { startupError } from '@ranksafe/serving-kit';
import type { WorkerConfig } from './config';

let runtimeInstalled = false;

/** Connect to Temporal and build the drill worker (workflows bundled from libs/workflows). */
export async function createDrillWorker(cfg: Pick<WorkerConfig, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'TEMPORAL_TASK_QUEUE' | 'LOG_LEVEL' | 'SHUTDOWN_GRACE_MS'>) {
  if (!runtimeInstalled) {
    const level = ({ fatal: 'ERROR', error: 'ERROR', warn: 'WARN', info: 'INFO', debug: 'DEBUG', trace: 'TRACE', silent: 'ERROR' } as const)[cfg.LOG_LEVEL] as LogLevel;
    Runtime.install({ logger: new DefaultLogger(level) });
    runtimeInstalled = true;
  }
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address: cfg.TEMPORAL_ADDRESS });
  } catch (e) {
    throw startupError(`drill-worker cannot reach Temporal at ${cfg.TEMPORAL_ADDRESS} (${(e as Error).message}); start it (npm start) or fix TEMPORAL_ADDRESS`);
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
