import { runMain, serve } from '@ranksafe/serving-kit';
import { loadRetrievalConfig } from './config';

// BM25 + HNSW retrieval arrives with the hot-path issue; this is the health-checked shell.
runMain('retrieval-service', async () => {
  const cfg = loadRetrievalConfig();
  const svc = await serve({ component: 'retrieval-service', env: cfg, services: [] });
  svc.setReady(true);
});
