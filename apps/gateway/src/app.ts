import * as grpc from '@grpc/grpc-js';
import { RankingClient, RetrievalClient, SearchService, type SearchServer } from '@ranksafe/proto';
import { createLogger, ReplicaPool, REPLICA_CHANNEL_OPTIONS, serve, ServiceMetrics, unary, type RunningService } from '@ranksafe/serving-kit';
import type { GatewayConfig } from './config';
import { GatewayMetrics, SearchPipeline } from './pipeline';

export interface RunningGateway {
  svc: RunningService;
  pipeline: SearchPipeline;
  retrieval: ReplicaPool<RetrievalClient>;
  ranking: ReplicaPool<RankingClient>;
}

/**
 * Start the gateway: balanced, health-checked pools over the retrieval and ranking replicas, and
 * the public Search service. It is ready once it can reach a retrieval replica.
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
  const retrieval = new ReplicaPool({ ...poolOptions, name: 'retrieval', targets: cfg.RETRIEVAL_TARGETS, healthService: 'ranksafe.v1.Retrieval' }, (t) => new RetrievalClient(t, creds, REPLICA_CHANNEL_OPTIONS));
  const ranking = new ReplicaPool({ ...poolOptions, name: 'ranking', targets: cfg.RANKING_TARGETS, healthService: 'ranksafe.v1.Ranking' }, (t) => new RankingClient(t, creds, REPLICA_CHANNEL_OPTIONS));
  const pipeline = new SearchPipeline(cfg, retrieval, ranking, new GatewayMetrics(metrics.registry), logger);
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
    services: [{ definition: SearchService, name: 'ranksafe.v1.Search', implementation }],
    onShutdown: async () => {
      retrieval.close();
      ranking.close();
    },
  });
  retrieval.start();
  ranking.start();
  svc.setReady(true);
  return { svc, pipeline, retrieval, ranking };
}
