import { runMain } from '@ranksafe/serving-kit';
import { startRetrievalService } from './app';
import { loadRetrievalConfig } from './config';

runMain('retrieval-service', async () => {
  await startRetrievalService(loadRetrievalConfig());
});
