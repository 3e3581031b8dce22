import { z } from 'zod';
import { loadConfig, serviceEnvSchema } from '@ranksafe/serving-kit';

export const gatewayEnvSchema = serviceEnvSchema.extend({
  GRPC_PORT: serviceEnvSchema.shape.GRPC_PORT.default(50051),
  /** Comma-separated host:port of the retrieval-service replicas. */
  RETRIEVAL_TARGETS: z.string().default('127.0.0.1:50061'),
  /** Comma-separated host:port of the ranking-service replicas. */
  RANKING_TARGETS: z.string().default('127.0.0.1:50071'),
});
export type GatewayConfig = z.infer<typeof gatewayEnvSchema>;

export const loadGatewayConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig('gateway', gatewayEnvSchema, env);
