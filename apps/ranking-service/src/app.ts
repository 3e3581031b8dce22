import { Gauge } from 'prom-client';
import { RankingService } from '@ranksafe/proto';
import { createLogger, serve, startupError, type RunningService } from '@ranksafe/serving-kit';
import type { RankingConfig } from './config';
import { RankingModels } from './service';

/** Start the ranking gRPC server; it reports NOT_SERVING until its model is loaded and warm. */
export async function startRankingService(cfg: RankingConfig, opts: { handleSignals?: boolean } = {}): Promise<{ svc: RunningService; models: RankingModels }> {
  const logger = createLogger('ranking-service', cfg.LOG_LEVEL, cfg.INSTANCE_ID);
  let setReady: (r: boolean) => void = () => undefined;
  const models = new RankingModels(cfg, logger, (r) => setReady(r));
  const svc = await serve({
    component: 'ranking-service',
    env: cfg,
    logger,
    handleSignals: opts.handleSignals,
    services: [{ definition: RankingService, name: 'ranksafe.v1.Ranking', implementation: models.implementation(), adminMethods: ['loadModel', 'unloadModel'] }],
    onShutdown: () => models.closeAll(),
  });
  setReady = (r) => svc.setReady(r);
  new Gauge({
    name: 'ranksafe_ranking_batcher',
    help: 'Dynamic batcher of the serving model since it was loaded: queued and running items, batches and items run, items expired and rejected',
    labelNames: ['stat'],
    registers: [svc.metrics.registry],
    collect() {
      const stats = models.active?.engine.batcher.stats;
      if (stats) for (const [stat, v] of Object.entries(stats)) this.set({ stat }, v);
    },
  });
  const from = cfg.RANKING_MODEL_REF ? `the registry (${cfg.RANKING_MODEL_NAME}@${cfg.RANKING_MODEL_REF})` : cfg.RANKING_MODEL_DIR;
  try {
    const dir = cfg.RANKING_MODEL_REF ? await models.fromRegistry(cfg.RANKING_MODEL_NAME, cfg.RANKING_MODEL_REF) : cfg.RANKING_MODEL_DIR;
    await models.load(dir, true);
  } catch (e) {
    await svc.shutdown('model load failed');
    throw startupError(`ranking-service cannot load its model from ${from}: ${(e as Error).message}`);
  }
  return { svc, models };
}
