import * as path from 'node:path';
import { Counter, Gauge } from 'prom-client';
import { createPool, probeDatabase, redactUrl } from '@ranksafe/db';
import { WORKSPACE_ROOT } from '@ranksafe/platform';
import { createLogger, runMain, ServiceMetrics, startMetricsServer, startupError, watchSupervisor } from '@ranksafe/serving-kit';
import { LoadAgent, pgLoadStore } from './agent';
import { loadAgentConfig } from './config';
import { gatewaySender } from './gateway';
import { loadWorkload } from './workload';

runMain('load-agent', async () => {
  const cfg = loadAgentConfig();
  const instance = cfg.INSTANCE_ID ?? `load-agent-${process.pid}`;
  const logger = createLogger('load-agent', cfg.LOG_LEVEL, cfg.INSTANCE_ID);
  const problem = await probeDatabase(cfg.DATABASE_URL);
  if (problem) throw startupError(`load-agent: cannot reach the database at DATABASE_URL=${redactUrl(cfg.DATABASE_URL)}: ${problem}`);
  const workload = loadWorkload(
    {
      queriesFile: cfg.LOAD_QUERIES_FILE,
      catalogDir: cfg.LOAD_CATALOG_DIR,
      defaultQueriesFile: path.resolve(WORKSPACE_ROOT, '..', 'shared', 'data', 'wands', 'query.csv'),
    },
    (msg) => logger.warn(msg),
  );
  const pool = createPool(cfg.DATABASE_URL, { max: 2 }, (e) => logger.warn({ error: e.message }, 'idle database connection lost'));
  const gateway = gatewaySender(cfg.GATEWAY_ADDRESS, workload);

  const metrics = new ServiceMetrics('load-agent', cfg.INSTANCE_ID);
  const requests = new Counter({
    name: 'ranksafe_load_requests_total',
    help: 'Requests the load agent sent for drills, by rpc and outcome (a gRPC status name, DEGRADED for a degraded OK answer, DROPPED when not sent)',
    labelNames: ['rpc', 'status'],
    registers: [metrics.registry],
  });
  const active = new Gauge({ name: 'ranksafe_load_active', help: '1 while the agent runs a drill load', registers: [metrics.registry] });

  const agent = new LoadAgent({
    store: pgLoadStore(pool),
    send: gateway.send,
    agent: { pid: process.pid, instance },
    pollMs: cfg.LOAD_POLL_MS,
    flushMs: cfg.LOAD_FLUSH_MS,
    maxInFlight: cfg.LOAD_MAX_IN_FLIGHT,
    log: logger,
    onRecord: (_runId, r) => requests.inc({ rpc: r.rpc, status: r.status === 'OK' && r.degraded ? 'DEGRADED' : r.status }),
    onLoad: (runId) => active.set(runId ? 1 : 0),
  });
  let stopping = false;
  const http = cfg.METRICS_PORT >= 0 ? await startMetricsServer(metrics, cfg.GRPC_HOST, cfg.METRICS_PORT, () => !stopping) : undefined;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping: no new requests, writing what was sent');
    void agent.stop();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  watchSupervisor(stop);
  logger.info(
    { gateway: cfg.GATEWAY_ADDRESS, database: redactUrl(cfg.DATABASE_URL), metricsPort: http?.port, ...workload.sources },
    'load agent waiting for drill load',
  );
  await agent.start();
  gateway.close();
  await http?.close();
  await pool.end();
  logger.info('stopped');
});
