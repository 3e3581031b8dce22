import { RetrievalService } from '@ranksafe/proto';
import { createLogger, serve, startupError, type RunningService } from '@ranksafe/serving-kit';
import type { RetrievalConfig } from './config';
import { RetrievalState } from './service';

/** Start the retrieval gRPC server; it reports NOT_SERVING until its index and encoder are loaded. */
export async function startRetrievalService(
  cfg: RetrievalConfig,
  opts: { handleSignals?: boolean } = {},
): Promise<{ svc: RunningService; state: RetrievalState }> {
  const logger = createLogger('retrieval-service', cfg.LOG_LEVEL, cfg.INSTANCE_ID);
  let setReady: (r: boolean) => void = () => undefined;
  const state = new RetrievalState(cfg, logger, (r) => setReady(r));
  const svc = await serve({
    component: 'retrieval-service',
    env: cfg,
    logger,
    handleSignals: opts.handleSignals,
    services: [
      {
        definition: RetrievalService,
        name: 'ranksafe.v1.Retrieval',
        implementation: state.implementation(),
        adminMethods: ['loadIndex'],
        admittedMethods: ['retrieve', 'getProducts', 'getUserHistory'],
      },
    ],
    onShutdown: () => state.close(),
  });
  setReady = (r) => svc.setReady(r);
  try {
    await state.start();
  } catch (e) {
    await svc.shutdown('index load failed');
    throw startupError(`retrieval-service cannot start: ${(e as Error).message}`);
  }
  return { svc, state };
}
