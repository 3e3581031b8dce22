import { createPool, migrateUp, probeDatabase, redactUrl } from '@ranksafe/db';
import { ModelRegistryService } from '@ranksafe/proto';
import { LocalArtifactStore, Registry, RegistrySnapshots } from '@ranksafe/registry-core';
import { serve, startupError, type RunningService } from '@ranksafe/serving-kit';
import { registryBackupDir, type RegistryConfig } from './config';
import { REGISTRY_MUTATIONS, REGISTRY_READS, registryService } from './service';

/**
 * Start the registry: migrate the schema, open the artifact store, serve ModelRegistry. It is
 * SERVING only while Postgres answers.
 */
export async function startRegistry(cfg: RegistryConfig, opts: { handleSignals?: boolean } = {}): Promise<{ svc: RunningService; registry: Registry }> {
  const problem = await probeDatabase(cfg.DATABASE_URL);
  if (problem) throw startupError(`model-registry cannot reach DATABASE_URL ${redactUrl(cfg.DATABASE_URL)} (${problem}); fix the URL or start Postgres`);
  const { applied } = await migrateUp(cfg.DATABASE_URL);
  // A database that does not answer a connection within 3 s fails the call (UNAVAILABLE) instead of hanging it.
  const pool = createPool(cfg.DATABASE_URL, { connectionTimeoutMillis: 3000 });
  const store = await LocalArtifactStore.open(cfg.REGISTRY_ARTIFACT_DIR);
  const registry = new Registry(pool, store, { maxArtifactBytes: cfg.REGISTRY_MAX_ARTIFACT_BYTES });
  const snapshots = new RegistrySnapshots(pool, store, {
    databaseUrl: cfg.DATABASE_URL,
    backupDir: registryBackupDir(cfg),
    retention: cfg.REGISTRY_SNAPSHOT_RETENTION,
  });
  let timer: NodeJS.Timeout | undefined;
  const svc = await serve({
    component: 'model-registry',
    env: cfg,
    handleSignals: opts.handleSignals,
    services: [
      {
        definition: ModelRegistryService,
        name: 'ranksafe.v1.ModelRegistry',
        implementation: registryService(registry, snapshots),
        adminMethods: [...REGISTRY_MUTATIONS, ...(cfg.REGISTRY_READS_REQUIRE_TOKEN ? REGISTRY_READS : [])],
      },
    ],
    onShutdown: async () => {
      clearInterval(timer);
      await pool.end();
    },
  });
  svc.logger.info({ applied, artifacts: cfg.REGISTRY_ARTIFACT_DIR }, 'schema up to date');
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
  timer = setInterval(() => void check(), cfg.DB_CHECK_INTERVAL_MS);
  timer.unref();
  return { svc, registry };
}
