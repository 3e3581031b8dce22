import { runMain } from '@ranksafe/serving-kit';
import { startGateway } from './app';
import { loadGatewayConfig } from './config';

runMain('gateway', async () => {
  await startGateway(loadGatewayConfig());
});
