import { z } from 'zod';
import { loadConfig, serviceEnvSchema } from '@ranksafe/serving-kit';

export const workerEnvSchema = serviceEnvSchema.pick({ METRICS_PORT: true, LOG_LEVEL: true, INSTANCE_ID: true, GRPC_HOST: true, ADMIN_TOKEN: true }).extend({
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('ranksafe-drills'),
  /** host:port of ranksafe.v1.Platform (the `npm start` supervisor; set by it from PLATFORM_PORT). */
  PLATFORM_ADDRESS: z.string().min(1).default('127.0.0.1:50091'),
  /** How long to wait for in-flight activities on SIGTERM. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  /** The ranksafe database: operations log, incidents. */
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/ranksafe'),
  /** The model registry (snapshots, model versions, aliases). */
  REGISTRY_ADDRESS: z.string().default('127.0.0.1:50081'),
  /** Where the rollout's quality gate keeps the model and index versions it downloads (verified, by sha256). */
  DRILL_REGISTRY_CACHE_DIR: z.string().default('.data/registry-cache/drill-worker'),
  /** The catalog index (registry name) whose judged queries are the quality gate's evaluation set. */
  QUALITY_GATE_INDEX: z.string().min(1).default('demo-catalog'),
  /** CPU niceness of the worker (0 = as started): the cold path yields to serving on a shared machine. */
  DRILL_WORKER_NICE: z.coerce.number().int().min(0).max(19).default(10),
  /** The RPO objective (same variable and default as the stack's backup schedule); exported on /metrics beside the RPO age. */
  SNAPSHOT_RPO_TARGET_MS: z.coerce.number().int().min(1000).default(7_200_000),
  /** Longest a /metrics scrape waits for each cold-path read (Postgres, the registry) before it reports that source unknown. */
  METRICS_QUERY_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(2000),
  /** Drills inject real faults: off unless turned on (npm start's embedded stack turns them on). */
  DRILLS_ENABLED: z.enum(['true', 'false']).default('false'),
  /** What drills may hit: instance names, tiers (ranking-service) or "*", comma-separated. */
  DRILL_ALLOW_LIST: z.string().default('ranking-service,retrieval-service,model-registry'),
  /** Where drill reports (JSON, HTML, Markdown) are written. */
  DRILL_REPORT_DIR: z.string().default('.data/drills'),
  /** host:port of each gateway's /metrics, comma-separated: "in rotation" for full capacity; empty = not checked. */
  DRILL_GATEWAY_METRICS: z.string().default(''),
  /** The Platform instance of the load agent. */
  DRILL_LOAD_AGENT: z.string().min(1).default('load-agent'),
  /**
   * The corrupted-artifact drill changes bytes on disk: the registry's artifact store
   * (REGISTRY_ARTIFACT_DIR of the model-registry) and a ranking replica's registry cache
   * (`<DRILL_RANKING_CACHE_ROOT>/<instance>`, its RANKING_REGISTRY_CACHE_DIR). Only where the worker
   * shares their disk (the embedded stack sets both); empty = that drill is refused.
   */
  DRILL_REGISTRY_ARTIFACT_DIR: z.string().default(''),
  DRILL_RANKING_CACHE_ROOT: z.string().default(''),
  /** How often faults no running drill owns (expired, or their drill ended without cleanup) are reverted; 0 = never. */
  DRILL_RECONCILE_MS: z.coerce.number().int().min(0).default(15_000),
});
export type WorkerConfig = z.infer<typeof workerEnvSchema>;

export const loadWorkerConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig('drill-worker', workerEnvSchema, env);
