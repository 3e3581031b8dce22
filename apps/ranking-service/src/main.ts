import * as os from 'node:os';
import { runMain } from '@ranksafe/serving-kit';
import { startRankingService } from './app';
import { loadRankingConfig } from './config';

runMain('ranking-service', async () => {
  const cfg = loadRankingConfig();
  // First, so that every thread started later (onnxruntime's pool, libuv's) inherits it.
  if (cfg.RANKING_NICE > 0) os.setPriority(0, Math.max(os.getPriority(0), cfg.RANKING_NICE));
  await startRankingService(cfg);
});
