import { z } from 'zod';
import { loadConfig, portVar } from '@ranksafe/serving-kit';
import type { RestartPolicy } from './platform';

/**
 * Configuration of the local stack (`npm start`, `ops`, the test harness). Every variable is
 * documented in README.md "Configuration"; defaults are the embedded ones.
 */
export const stackEnvSchema = z.object({
  RANKSAFE_DATA_DIR: z.string().default('.data'),
  RANKSAFE_HOST: z.string().default('127.0.0.1'),
  GATEWAY_PORT: portVar(50051),
  RETRIEVAL_PORT: portVar(50061),
  RETRIEVAL_REPLICAS: z.coerce.number().int().min(1).max(8).default(2),
  RANKING_PORT: portVar(50071),
  RANKING_REPLICAS: z.coerce.number().int().min(1).max(8).default(2),
  REGISTRY_PORT: portVar(50081),
  /** The registry's database proxy (a TCP proxy the Platform runs in front of Postgres for the registry alone: what the registry-db-unavailable drill cuts). */
  REGISTRY_DB_PROXY_PORT: portVar(54339),
  /** How often the registry re-checks its database (its health is NOT_SERVING while the check fails). */
  REGISTRY_DB_CHECK_INTERVAL_MS: z.coerce.number().int().min(100).default(1000),
  /** ranksafe.v1.Platform, served by the supervisor itself (list, start, stop, kill, restart replicas). */
  PLATFORM_PORT: portVar(50091),
  /** The supervisor's own Prometheus /metrics port (the Platform service); -1 = none. */
  PLATFORM_METRICS_PORT: z.coerce.number().int().min(-1).max(65535).default(9399),
  /** `never` (default): a crashed replica stays down until someone restarts it. `on-failure`: the supervisor restarts it after a crash or a Kill, with exponential backoff. */
  PLATFORM_RESTART_POLICY: z.enum(['never', 'on-failure']).default('never'),
  /** First backoff of the on-failure policy; doubles per consecutive failure up to PLATFORM_RESTART_MAX_BACKOFF_MS. */
  PLATFORM_RESTART_BACKOFF_MS: z.coerce.number().int().min(0).max(600_000).default(500),
  /** Largest backoff; a process that ran at least this long before failing starts over at the first backoff. */
  PLATFORM_RESTART_MAX_BACKOFF_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  /** Metrics ports are METRICS_PORT_BASE + n, one per process. */
  METRICS_PORT_BASE: portVar(9400),
  /** Use this Temporal cluster instead of starting the embedded dev server. */
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_PORT: portVar(7233),
  TEMPORAL_UI_PORT: portVar(8233),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('ranksafe-drills'),
  /** postgres://… to use; unset = local server on 127.0.0.1:5432, else embedded. */
  DATABASE_URL: z.string().url().optional(),
  /** auto (DATABASE_URL, then 127.0.0.1:5432, then embedded), external, or embedded. */
  POSTGRES_MODE: z.enum(['auto', 'external', 'embedded']).default('auto'),
  EMBEDDED_PG_PORT: portVar(54329),
  /** Catalog index the retrieval replicas serve: an index directory, or a root with a CURRENT file. Unset = <data>/indexes/demo, built on first start. */
  CATALOG_INDEX: z.string().optional(),
  /** Build the first index from this catalog (JSONL or CSV; see tools/data) instead of the synthetic demo shop. */
  CATALOG_FILE: z.string().optional(),
  /** Size of the synthetic demo shop built on first start (products, users). */
  DEMO_CATALOG_PRODUCTS: z.coerce.number().int().min(10).max(5_000_000).default(100_000),
  DEMO_CATALOG_USERS: z.coerce.number().int().min(0).max(1_000_000).default(2_000),
  /** Shopping sessions (users s00001 …, an order a sequential recommender learns) added to the demo shop's histories. */
  DEMO_CATALOG_SESSIONS: z.coerce.number().int().min(0).max(1_000_000).default(20_000),
  /**
   * The demo's sequential recommender: on = trained at start on the served catalog's histories (numpy,
   * tools/seqrec light, about a minute for the 100k shop; once per index version, then reused), registered as
   * seqrec-demo with production, and served by the ranking replicas for Recommend; off = the embedding profile only.
   */
  DEMO_RECOMMENDER: z.enum(['on', 'off']).default('on'),
  /** Token for admin RPCs; unset = a random one kept in <data>/admin-token. */
  ADMIN_TOKEN: z.string().min(16).optional(),
  /** Registry backup schedule (BackupSnapshot workflow): interval in ms; 0 = no schedule (an existing one is paused). */
  SNAPSHOT_INTERVAL_MS: z.coerce.number().int().min(0).default(3_600_000),
  /** The RPO objective each scheduled backup checks (age of the newest verified snapshot). */
  SNAPSHOT_RPO_TARGET_MS: z.coerce.number().int().min(1000).default(7_200_000),
  /** Run the FailureDetection monitors (one per serving tier) that start a Recovery for each failed replica. */
  MONITORS: z.enum(['on', 'off']).default('on'),
  /** Drills on this stack: on for the embedded stack (npm start), which exists to be drilled; `false` turns them off. */
  DRILLS_ENABLED: z.enum(['true', 'false']).default('true'),
  /** What drills may hit (the drill-worker's DRILL_ALLOW_LIST). */
  DRILL_ALLOW_LIST: z.string().default('ranking-service,retrieval-service,model-registry'),
  /** Monitor probe interval and failed-probes-in-a-row threshold. */
  MONITOR_INTERVAL_MS: z.coerce.number().int().min(50).default(250),
  MONITOR_FAILURE_THRESHOLD: z.coerce.number().int().min(1).default(3),
  /** A replica whose probe request (one real Rank / Retrieve) takes longer than this, that many times in a row, has failed too (slow = down); 0 = health and errors only. */
  MONITOR_LATENCY_SLO_MS: z.coerce.number().int().min(0).default(2000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type StackEnv = z.infer<typeof stackEnvSchema>;

/** The restart policy the stack env asks for. */
export function restartPolicyOf(cfg: StackEnv): RestartPolicy {
  return cfg.PLATFORM_RESTART_POLICY === 'on-failure'
    ? {
        kind: 'on-failure',
        backoffMs: cfg.PLATFORM_RESTART_BACKOFF_MS,
        maxBackoffMs: Math.max(cfg.PLATFORM_RESTART_MAX_BACKOFF_MS, cfg.PLATFORM_RESTART_BACKOFF_MS),
      }
    : { kind: 'never' };
}

/** host:port of the supervisor's ranksafe.v1.Platform service. */
export const platformAddressOf = (cfg: StackEnv) => `${cfg.RANKSAFE_HOST}:${cfg.PLATFORM_PORT}`;

export function loadStackEnv(env: NodeJS.ProcessEnv = process.env): StackEnv {
  return loadConfig('the ranksafe stack', stackEnvSchema, env);
}
