import { runMain } from '@ranksafe/serving-kit';
import { startRankingService } from './app';
import { loadRankingConfig } from './config';

runMain('ranking-service', async () => {
  await startRankingService(loadRankingConfig());
});
