import { z } from 'zod';
import { loadConfig, serviceEnvSchema } from '@ranksafe/serving-kit';

export const rankingEnvSchema = serviceEnvSchema.extend({
  GRPC_PORT: serviceEnvSchema.shape.GRPC_PORT.default(50071),
});
export type RankingConfig = z.infer<typeof rankingEnvSchema>;

export const loadRankingConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig('ranking-service', rankingEnvSchema, env);
