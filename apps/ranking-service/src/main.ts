import { runMain, serve } from '@ranksafe/serving-kit';
import { loadRankingConfig } from './config';

// ONNX Runtime ranking arrives with the hot-path issue; this is the health-checked shell.
runMain('ranking-service', async () => {
  const cfg = loadRankingConfig();
  const svc = await serve({ component: 'ranking-service', env: cfg, services: [] });
  svc.setReady(true);
});
