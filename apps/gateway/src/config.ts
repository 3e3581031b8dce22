import { z } from 'zod';
import { loadConfig, serviceEnvSchema } from '@ranksafe/serving-kit';

const targets = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
  )
  .refine((t) => t.length > 0 && t.every((x) => /^[\w.-]+:\d+$/.test(x)), 'must be a comma-separated list of host:port');

export const gatewayEnvSchema = serviceEnvSchema.extend({
  GRPC_PORT: serviceEnvSchema.shape.GRPC_PORT.default(50051),
  /** A call slower than this shrinks the admission limit (serving-kit ADMISSION_*). */
  ADMISSION_TARGET_MS: serviceEnvSchema.shape.ADMISSION_TARGET_MS.default(300),
  /** Comma-separated host:port of the retrieval-service replicas. */
  RETRIEVAL_TARGETS: targets.default(['127.0.0.1:50061', '127.0.0.1:50062']),
  /** Comma-separated host:port of the ranking-service replicas. */
  RANKING_TARGETS: targets.default(['127.0.0.1:50071', '127.0.0.1:50072']),
  /** Candidates retrieved and rescored per request (a request may ask for fewer with rerank_depth). */
  GATEWAY_TOP_N: z.coerce.number().int().min(1).max(1000).default(100),
  /** Results when a request leaves k at 0, and the largest k accepted. */
  GATEWAY_DEFAULT_K: z.coerce.number().int().min(1).default(10),
  GATEWAY_MAX_K: z.coerce.number().int().min(1).max(1000).default(100),
  /** Deadline budget of each stage (ms); the whole request is also bound by the client's deadline. */
  GATEWAY_RETRIEVAL_BUDGET_MS: z.coerce.number().int().min(1).default(200),
  GATEWAY_RANKING_BUDGET_MS: z.coerce.number().int().min(1).default(250),
  /** Attempts of a retrieval call, each within GATEWAY_RETRIEVAL_BUDGET_MS on another replica (paid from the retry budget). */
  GATEWAY_RETRIEVAL_ATTEMPTS: z.coerce.number().int().min(1).max(3).default(2),
  /**
   * Recommend's first path: "sequential" asks the ranking service's sequential-recommender model
   * (falling back to the embedding profile when it cannot answer), "profile" goes to the embedding
   * profile directly.
   */
  GATEWAY_RECOMMENDER: z.enum(['sequential', 'profile']).default('sequential'),
  /** The sequential recommender's model name on the ranking service; empty = its default recommender. */
  GATEWAY_RECOMMENDER_MODEL: z.string().default(''),
  /** Recommend: how many of a user's most recent interactions form the profile (and the sequential model's history). */
  GATEWAY_PROFILE_ITEMS: z.coerce.number().int().min(1).max(200).default(50),
  /** Load balancing over replicas: health check period, ejection after consecutive failures, for how long. */
  GATEWAY_HEALTH_INTERVAL_MS: z.coerce.number().int().min(50).default(1000),
  GATEWAY_EJECT_AFTER_FAILURES: z.coerce.number().int().min(1).default(3),
  GATEWAY_EJECT_MS: z.coerce.number().int().min(100).default(5000),
  /** Retries allowed as a share of calls (over 10 s) on top of a floor of 5 per second. */
  GATEWAY_RETRY_BUDGET_RATIO: z.coerce.number().min(0).max(1).default(0.2),
  /**
   * Postgres holding the canary routing (GatewayAdmin.SetRouting), so a restarted gateway comes back
   * with the same split; unset = the split lives in this process only.
   */
  DATABASE_URL: z.string().url('DATABASE_URL must be a postgres:// URL').optional(),
  /** Gateways sharing one split (one row of gateway_routing). */
  GATEWAY_ROUTING_SCOPE: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/)
    .default('default'),
  /** How often the stored split is re-read (changes made through another gateway of the scope). */
  GATEWAY_ROUTING_POLL_MS: z.coerce.number().int().min(100).default(2000),
  /** Canary share when SetRouting names a canary version without a weight. */
  GATEWAY_CANARY_DEFAULT_WEIGHT: z.coerce.number().min(0).max(1).default(0.1),
});
export type GatewayConfig = z.infer<typeof gatewayEnvSchema>;

export const loadGatewayConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig('gateway', gatewayEnvSchema, env);
