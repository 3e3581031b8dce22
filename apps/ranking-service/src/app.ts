import { Gauge } from 'prom-client';
import { RankingService } from '@ranksafe/proto';
import { createLogger, serve, startupError, type RunningService } from '@ranksafe/serving-kit';
import type { RankingConfig } from './config';
import { RankingModels } from './service';

/** Start the ranking gRPC server; it reports NOT_SERVING until its first model is loaded and warmed up (its cache may still be warming). */
export async function startRankingService(cfg: RankingConfig, opts: { handleSignals?: boolean } = {}): Promise<{ svc: RunningService; models: RankingModels }> {
  const logger = createLogger('ranking-service', cfg.LOG_LEVEL, cfg.INSTANCE_ID);
  let setReady: (r: boolean) => void = () => undefined;
  const models = new RankingModels(cfg, logger, (r) => setReady(r));
  const svc = await serve({
    component: 'ranking-service',
    env: cfg,
    logger,
    handleSignals: opts.handleSignals,
    services: [
      {
        definition: RankingService,
        name: 'ranksafe.v1.Ranking',
        implementation: models.implementation(),
        adminMethods: ['loadModel', 'setDefault', 'unloadModel'],
        admittedMethods: ['rank', 'embed', 'recommend'],
      },
    ],
    onShutdown: () => models.closeAll(),
  });
  setReady = (r) => svc.setReady(r);
  new Gauge({
    name: 'ranksafe_ranking_batcher',
    help: 'Dynamic batcher of each loaded model version since it was loaded: queued and running items, batches and items run, items expired and rejected',
    labelNames: ['model', 'version', 'default', 'stat'],
    registers: [svc.metrics.registry],
    collect() {
      this.reset();
      for (const m of models.list()) {
        const s = models.get(m.model!.name, m.model!.version);
        if (!s) continue;
        const labels = { model: m.model!.name, version: m.model!.version, default: String(m.isDefault) };
        for (const [stat, v] of Object.entries(s.runtime.batcher.stats)) this.set({ ...labels, stat }, v);
      }
    },
  });
  new Gauge({
    name: 'ranksafe_ranking_embedding_cache',
    help: 'Embedding cache of each loaded model version: entries, capacity, hits, misses; and its warming progress (warm_done, warm_target)',
    labelNames: ['model', 'version', 'default', 'stat'],
    registers: [svc.metrics.registry],
    collect() {
      this.reset();
      for (const m of models.list()) {
        const labels = { model: m.model!.name, version: m.model!.version, default: String(m.isDefault) };
        const c = m.cache!;
        for (const [stat, v] of Object.entries({
          size: c.size,
          capacity: c.capacity,
          hits: c.hits,
          misses: c.misses,
          warm_done: m.warmDone,
          warm_target: m.warmTarget,
        }))
          this.set({ ...labels, stat }, v);
      }
    },
  });
  new Gauge({
    name: 'ranksafe_ranking_execution_provider',
    help: 'Execution provider of each loaded model version: 1 for the provider it runs on (active) and the one it was configured for (requested); requested != active = it fell back (cuda missing: cpu)',
    labelNames: ['model', 'version', 'default', 'requested', 'active'],
    registers: [svc.metrics.registry],
    collect() {
      this.reset();
      for (const m of models.list())
        this.set(
          {
            model: m.model!.name,
            version: m.model!.version,
            default: String(m.isDefault),
            requested: m.requestedExecutionProvider,
            active: m.executionProvider,
          },
          1,
        );
    },
  });
  const from = cfg.RANKING_MODEL_REF ? `the registry (${cfg.RANKING_MODEL_NAME}@${cfg.RANKING_MODEL_REF})` : cfg.RANKING_MODEL_DIR;
  try {
    await models.loadAtStart({ name: cfg.RANKING_MODEL_NAME, ref: cfg.RANKING_MODEL_REF, dir: cfg.RANKING_MODEL_DIR });
  } catch (e) {
    await svc.shutdown('model load failed');
    throw startupError(`ranking-service cannot load its model from ${from}: ${(e as Error).message}`);
  }
  // The sequential recommender is an addition: a replica that cannot load it serves search and the
  // embedding-profile recommendations without it (the gateway falls back), and says why.
  const rec = cfg.RANKING_RECOMMENDER_REF ?? cfg.RANKING_RECOMMENDER_DIR;
  if (rec) {
    try {
      await models.loadAtStart({ name: cfg.RANKING_RECOMMENDER_NAME, ref: cfg.RANKING_RECOMMENDER_REF, dir: rec });
    } catch (e) {
      logger.error({ recommender: rec, err: (e as Error).message }, 'sequential recommender not loaded: Recommend falls back to the embedding profile');
    }
  }
  return { svc, models };
}
