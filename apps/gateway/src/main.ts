import { runMain, serve } from '@ranksafe/serving-kit';
import { loadGatewayConfig } from './config';

// The Search/Recommend hot path arrives with the hot-path issue; until then the gateway is a
// health-checked, admin-capable server so that the stack is whole.
runMain('gateway', async () => {
  const cfg = loadGatewayConfig();
  const svc = await serve({ component: 'gateway', env: cfg, services: [] });
  svc.setReady(true);
});
