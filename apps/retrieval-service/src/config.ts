import { z } from 'zod';
import { loadConfig, serviceEnvSchema } from '@ranksafe/serving-kit';

export const retrievalEnvSchema = serviceEnvSchema.extend({
  GRPC_PORT: serviceEnvSchema.shape.GRPC_PORT.default(50061),
});
export type RetrievalConfig = z.infer<typeof retrievalEnvSchema>;

export const loadRetrievalConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig('retrieval-service', retrievalEnvSchema, env);
