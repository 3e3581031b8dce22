import { z } from 'zod';
import { loadConfig, serviceEnvSchema } from '@ranksafe/serving-kit';

export const registryEnvSchema = serviceEnvSchema.extend({
  GRPC_PORT: serviceEnvSchema.shape.GRPC_PORT.default(50081),
  DATABASE_URL: z.string().url('DATABASE_URL must be a postgres:// URL'),
  /** How often readiness re-checks the database. */
  DB_CHECK_INTERVAL_MS: z.coerce.number().int().min(100).default(5000),
});
export type RegistryConfig = z.infer<typeof registryEnvSchema>;

export const loadRegistryConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig('model-registry', registryEnvSchema, env);
