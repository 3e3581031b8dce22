import { createPool, migrateUp, probeDatabase, redactUrl } from '@ranksafe/db';
import { runMain, serve, startupError } from '@ranksafe/serving-kit';
import { loadRegistryConfig } from './config';

// The registry owns the database: it migrates the schema on start and is SERVING only while
// Postgres answers. Versions, aliases and snapshots arrive with the registry issue.
runMain('model-registry', async () => {
  const cfg = loadRegistryConfig();
  const problem = await probeDatabase(cfg.DATABASE_URL);
  if (problem) throw startupError(`model-registry cannot reach DATABASE_URL ${redactUrl(cfg.DATABASE_URL)} (${problem}); fix the URL or start Postgres`);
  const { applied } = await migrateUp(cfg.DATABASE_URL);
  const pool = createPool(cfg.DATABASE_URL);
  const svc = await serve({ component: 'model-registry', env: cfg, services: [], onShutdown: () => pool.end() });
  svc.logger.info({ applied }, 'schema up to date');
  const check = async () => {
    try {
      await pool.query('SELECT 1');
      svc.setReady(true);
    } catch (e) {
      svc.logger.error({ err: (e as Error).message }, 'database check failed');
      svc.setReady(false);
    }
  };
  await check();
  setInterval(() => void check(), cfg.DB_CHECK_INTERVAL_MS).unref();
});
