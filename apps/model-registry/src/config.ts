import * as path from 'node:path';
import { z } from 'zod';
import { WORKSPACE_ROOT } from '@ranksafe/platform';
import { loadConfig, serviceEnvSchema } from '@ranksafe/serving-kit';

export const registryEnvSchema = serviceEnvSchema.extend({
  GRPC_PORT: serviceEnvSchema.shape.GRPC_PORT.default(50081),
  DATABASE_URL: z.string().url('DATABASE_URL must be a postgres:// URL'),
  /** How often readiness re-checks the database. */
  DB_CHECK_INTERVAL_MS: z.coerce.number().int().min(100).default(5000),
  /** Content-addressed artifact store (local disk). */
  REGISTRY_ARTIFACT_DIR: z.string().default(path.join(WORKSPACE_ROOT, '.data', 'registry', 'artifacts')),
  /** Largest artifact accepted by RegisterVersion, in bytes. */
  REGISTRY_MAX_ARTIFACT_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(4 * 1024 ** 3),
  /** Backup root of CreateSnapshot (snapshots/ and a shared artifacts/ store); '' = <REGISTRY_ARTIFACT_DIR>/../backups. */
  REGISTRY_BACKUP_DIR: z.string().default(''),
  /** Snapshots kept (newest first; the newest verified one is always kept too). */
  REGISTRY_SNAPSHOT_RETENTION: z.coerce.number().int().min(1).default(10),
  /** Reads need the admin token too (mutations always do). */
  REGISTRY_READS_REQUIRE_TOKEN: z
    .enum(['true', 'false', '1', '0', ''])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
});
export type RegistryConfig = z.infer<typeof registryEnvSchema>;

/** REGISTRY_BACKUP_DIR, defaulting to `backups` beside the artifact directory. */
export const registryBackupDir = (cfg: Pick<RegistryConfig, 'REGISTRY_BACKUP_DIR' | 'REGISTRY_ARTIFACT_DIR'>): string =>
  cfg.REGISTRY_BACKUP_DIR ? path.resolve(cfg.REGISTRY_BACKUP_DIR) : path.join(path.dirname(path.resolve(cfg.REGISTRY_ARTIFACT_DIR)), 'backups');

export const loadRegistryConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig('model-registry', registryEnvSchema, env);
