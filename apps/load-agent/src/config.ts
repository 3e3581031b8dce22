import { z } from 'zod';
import { loadConfig, serviceEnvSchema } from '@ranksafe/serving-kit';

const ms = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

export const agentEnvSchema = serviceEnvSchema.pick({ METRICS_PORT: true, LOG_LEVEL: true, INSTANCE_ID: true, GRPC_HOST: true, ADMIN_TOKEN: true }).extend({
  /** The ranksafe database: drill_load (what load is wanted) and drill_requests (what was sent). */
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/ranksafe'),
  /** host:port of the gateway (ranksafe.v1.Search) the load goes through. */
  GATEWAY_ADDRESS: z.string().min(1).default('127.0.0.1:50051'),
  /**
   * Queries to send: a TSV with a `query` column (WANDS' query.csv: query_id, query, query_class)
   * or one query a line. Unset: the catalog's judged queries, else ../shared/data/wands/query.csv
   * beside the checkout when it exists, else a built-in list.
   */
  LOAD_QUERIES_FILE: z.string().min(1).optional(),
  /** The catalog index the stack serves (a version directory or a root with CURRENT): its judged queries, users and product ids. */
  LOAD_CATALOG_DIR: z.string().min(1).optional(),
  /** How often the agent looks for load when idle, and heartbeats (and re-reads the row) while sending. */
  LOAD_POLL_MS: ms(50, 60_000, 1000),
  /** How often the requests sent are written to Postgres. */
  LOAD_FLUSH_MS: ms(10, 60_000, 500),
  /** A request due while this many are in flight is not sent and is recorded as DROPPED. */
  LOAD_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(100_000).default(1000),
});
export type AgentConfig = z.infer<typeof agentEnvSchema>;

export const loadAgentConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig('load-agent', agentEnvSchema, env);
