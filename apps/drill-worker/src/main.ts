import * as os from 'node:os';
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import { createLogger, runMain, ServiceMetrics, startMetricsServer, watchSupervisor } from '@ranksafe/serving-kit';
import { loadWorkerConfig } from './config';
import { createDrillWorker, startColdPathMetrics, startFaultReconciler } from './worker';

runMain('drill-worker', async () => {
  const cfg = loadWorkerConfig();
  const logger = createLogger('drill-worker', cfg.LOG_LEVEL, cfg.INSTANCE_ID);
  // The cold path must not starve serving on a shared machine (the quality gate runs two models
  // here): lower this process's CPU priority before Temporal's and onnxruntime's threads exist, so
  // they inherit it.
  if (cfg.DRILL_WORKER_NICE > 0) {
    try {
      os.setPriority(cfg.DRILL_WORKER_NICE);
    } catch (e) {
      logger.warn({ err: (e as Error).message }, 'could not lower the CPU priority');
    }
  }
  // The SDK's own logs go through the same JSON logger as everything else.
  const sdkLevel = ({ fatal: 'ERROR', error: 'ERROR', warn: 'WARN', info: 'INFO', debug: 'DEBUG', trace: 'TRACE', silent: 'ERROR' } as const)[cfg.LOG_LEVEL];
  Runtime.install({
    logger: new DefaultLogger(sdkLevel, (e: LogEntry) => {
      const lvl = e.level === 'TRACE' ? 'trace' : e.level === 'DEBUG' ? 'debug' : e.level === 'INFO' ? 'info' : e.level === 'WARN' ? 'warn' : 'error';
      logger[lvl]({ sdk: e.meta }, e.message);
    }),
  });
  const { worker, deps, close } = await createDrillWorker(cfg);
  const metrics = new ServiceMetrics('drill-worker', cfg.INSTANCE_ID);
  // The cold path (incidents, backups and RPO, rollouts) is exported here too, read on each scrape.
  const coldPath =
    cfg.METRICS_PORT >= 0
      ? startColdPathMetrics(cfg, metrics.registry, deps.registry, (source, e) => logger.warn({ source, error: e.message }, 'cold-path metrics: read failed'))
      : undefined;
  const reconciler = startFaultReconciler(deps, cfg.DRILL_RECONCILE_MS, (msg, detail) => logger.warn(detail, msg));
  const http = cfg.METRICS_PORT >= 0 ? await startMetricsServer(metrics, cfg.GRPC_HOST, cfg.METRICS_PORT, () => worker.getState() === 'RUNNING') : undefined;
  const stop = () => {
    logger.info('draining');
    worker.shutdown();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  watchSupervisor(stop);
  logger.info({ address: cfg.TEMPORAL_ADDRESS, taskQueue: cfg.TEMPORAL_TASK_QUEUE, metricsPort: http?.port }, 'worker running');
  await worker.run();
  await http?.close();
  await coldPath?.close();
  reconciler.close();
  await close();
  logger.info('stopped');
});
