import * as grpc from '@grpc/grpc-js';
import type { Pool } from 'pg';
import { createPool, migrateUp, redactUrl } from '@ranksafe/db';
import { GatewayAdminService, RankingClient, RetrievalClient, SearchService, type SearchServer } from '@ranksafe/proto';
import { createLogger, ReplicaPool, REPLICA_CHANNEL_OPTIONS, serve, ServiceMetrics, startupError, unary, type RunningService } from '@ranksafe/serving-kit';
import { gatewayAdmin } from './admin';
import { CanaryAnalyzer } from './canary';
import type { GatewayConfig } from './config';
import { GatewayMetrics, SearchPipeline } from './pipeline';
import { RoutingTable } from './routing';

export interface RunningGateway {
  svc: RunningService;
  pipeline: SearchPipeline;
  retrieval: ReplicaPool<RetrievalClient>;
  ranking: ReplicaPool<RankingClient>;
  routing: RoutingTable;
  analysis: CanaryAnalyzer;
}

/**
 * Start the gateway: balanced, health-checked pools over the retrieval and ranking replicas, and
 * the public Search service, and GatewayAdmin (canary routing, stored in Postgres when DATABASE_URL
 * is set). It is ready once it can reach a retrieval replica.
 */
export async function startGateway(cfg: GatewayConfig, opts: { handleSignals?: boolean } = {}): Promise<RunningGateway> {
  const instance = cfg.INSTANCE_ID ?? `gateway-${process.pid}`;
  const logger = createLogger('gateway', cfg.LOG_LEVEL, instance);
  const metrics = new ServiceMetrics('gateway', instance);
  const poolOptions = {
    healthIntervalMs: cfg.GATEWAY_HEALTH_INTERVAL_MS,
    ejectAfterFailures: cfg.GATEWAY_EJECT_AFTER_FAILURES,
    ejectForMs: cfg.GATEWAY_EJECT_MS,
    retryBudget: { ratio: cfg.GATEWAY_RETRY_BUDGET_RATIO, minPerSecond: 5 },
    registry: metrics.registry,
    logger,
  };
  const creds = grpc.credentials.createInsecure();
  const retrieval = new ReplicaPool(
    { ...poolOptions, name: 'retrieval', targets: cfg.RETRIEVAL_TARGETS, healthService: 'ranksafe.v1.Retrieval' },
    (t) => new RetrievalClient(t, creds, REPLICA_CHANNEL_OPTIONS),
  );
  const ranking = new ReplicaPool(
    { ...poolOptions, name: 'ranking', targets: cfg.RANKING_TARGETS, healthService: 'ranksafe.v1.Ranking' },
    (t) => new RankingClient(t, creds, REPLICA_CHANNEL_OPTIONS),
  );
  let db: Pool | undefined;
  if (cfg.DATABASE_URL) {
    try {
      await migrateUp(cfg.DATABASE_URL);
    } catch (e) {
      throw startupError(`gateway cannot migrate ${redactUrl(cfg.DATABASE_URL)}: ${(e as Error).message}`);
    }
    db = createPool(cfg.DATABASE_URL, { max: 2 });
    db.on('error', (e) => logger.warn({ err: e.message }, 'postgres pool error'));
  } else {
    logger.warn('no DATABASE_URL: the canary routing lives in this process only and is lost on restart');
  }
  const routing = new RoutingTable(db, cfg.GATEWAY_ROUTING_SCOPE, logger);
  await routing.start(cfg.GATEWAY_ROUTING_POLL_MS);
  const analysis = new CanaryAnalyzer();
  const pipeline = new SearchPipeline(cfg, retrieval, ranking, new GatewayMetrics(metrics.registry), logger, routing, analysis);
  const implementation: SearchServer = {
    search: unary((req, ctx) => pipeline.search(req, ctx)),
    recommend: unary((req, ctx) => pipeline.recommend(req, ctx)),
  };
  const svc = await serve({
    component: 'gateway',
    env: cfg,
    logger,
    metrics,
    handleSignals: opts.handleSignals,
    services: [
      { definition: SearchService, name: 'ranksafe.v1.Search', implementation, admittedMethods: ['search', 'recommend'] },
      {
        definition: GatewayAdminService,
        name: 'ranksafe.v1.GatewayAdmin',
        implementation: gatewayAdmin(routing, analysis, instance, cfg.GATEWAY_CANARY_DEFAULT_WEIGHT),
        adminMethods: Object.keys(GatewayAdminService),
      },
    ],
    onShutdown: async () => {
      routing.stop();
      retrieval.close();
      ranking.close();
      await db?.end();
    },
  });
  retrieval.start();
  ranking.start();
  svc.setReady(true);
  return { svc, pipeline, retrieval, ranking, routing, analysis };
}
