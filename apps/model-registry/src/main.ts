import { runMain } from '@ranksafe/serving-kit';
import { startRegistry } from './app';
import { loadRegistryConfig } from './config';

runMain('model-registry', async () => {
  await startRegistry(loadRegistryConfig());
});
