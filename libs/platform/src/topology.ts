import * as path from 'node:path';
import { dataDir, WORKSPACE_ROOT } from './paths';
import { platformAddressOf, type StackEnv } from './stack-config';

/** The apps of ranksafe and the gRPC service each one health-checks as. */
export const APPS = {
  'model-registry': { entry: 'apps/model-registry/src/main.ts', healthService: 'ranksafe.v1.ModelRegistry' },
  'retrieval-service': { entry: 'apps/retrieval-service/src/main.ts', healthService: 'ranksafe.v1.Retrieval' },
  'ranking-service': { entry: 'apps/ranking-service/src/main.ts', healthService: 'ranksafe.v1.Ranking' },
  gateway: { entry: 'apps/gateway/src/main.ts', healthService: 'ranksafe.v1.Search' },
  'drill-worker': { entry: 'apps/drill-worker/src/main.ts', healthService: undefined },
  'load-agent': { entry: 'apps/load-agent/src/main.ts', healthService: undefined },
} as const;
export type AppName = keyof typeof APPS;

/** One process of the stack, ready to hand to a Platform. */
export interface ComponentSpec {
  app: AppName;
  /** Unique name of this replica, e.g. "ranking-service-2". */
  instance: string;
  /** host:port of its gRPC server, for apps that have one. */
  grpcAddress?: string;
  metricsPort: number;
  entry: string;
  env: Record<string, string>;
  /** Registered with the Platform but not started: something starts it when needed (the drills' load agent). */
  onDemand?: boolean;
}

export interface StackEndpoints {
  host: string;
  databaseUrl: string;
  /** The registry's own path to that Postgres (through its database proxy); default databaseUrl. */
  registryDatabaseUrl?: string;
  temporalAddress: string;
  temporalUiUrl?: string;
  adminToken: string;
  /** Catalog index served by the retrieval replicas (default: theirs). */
  catalogIndex?: string;
  /** Registry name of a sequential recommender the ranking replicas load with production (none when unset). */
  recommender?: string;
}

/**
 * Every app process of the stack in start order: registry, retrieval and ranking replicas,
 * gateway, drill-worker, then the on-demand load-agent (registered, not started: a drill starts it
 * through the Platform). Ports follow the stack env (replica n gets base port + n - 1).
 */
export function stackComponents(cfg: StackEnv, ep: StackEndpoints): ComponentSpec[] {
  const out: ComponentSpec[] = [];
  let metricsPort = cfg.METRICS_PORT_BASE;
  const common = {
    LOG_LEVEL: cfg.LOG_LEVEL,
    ADMIN_TOKEN: ep.adminToken,
    GRPC_HOST: cfg.RANKSAFE_HOST,
    RANKSAFE_SUPERVISED: '1',
  };
  const add = (app: AppName, instance: string, port: number | undefined, env: Record<string, string>, opts: { onDemand?: boolean } = {}) => {
    const m = metricsPort++;
    out.push({
      app,
      instance,
      grpcAddress: port === undefined ? undefined : `${cfg.RANKSAFE_HOST}:${port}`,
      metricsPort: m,
      entry: path.join(WORKSPACE_ROOT, APPS[app].entry),
      env: {
        ...common,
        INSTANCE_ID: instance,
        METRICS_PORT: String(m),
        ...(port === undefined ? {} : { GRPC_PORT: String(port) }),
        ...env,
      },
      ...(opts.onDemand ? { onDemand: true } : {}),
    });
  };
  const artifactDir = path.join(dataDir(cfg.RANKSAFE_DATA_DIR), 'registry', 'artifacts');
  add('model-registry', 'model-registry', cfg.REGISTRY_PORT, {
    DATABASE_URL: ep.registryDatabaseUrl ?? ep.databaseUrl,
    DB_CHECK_INTERVAL_MS: String(cfg.REGISTRY_DB_CHECK_INTERVAL_MS),
    REGISTRY_ARTIFACT_DIR: artifactDir,
  });
  const replicas = (n: number, base: number) => Array.from({ length: n }, (_, i) => base + i);
  const retrievalPorts = replicas(cfg.RETRIEVAL_REPLICAS, cfg.RETRIEVAL_PORT);
  const rankingPorts = replicas(cfg.RANKING_REPLICAS, cfg.RANKING_PORT);
  // Replicas load the production model and index through the registry (verified, cached under the
  // data dir, so a replica restarted while the registry is down still starts): retrieval per app,
  // ranking per replica (as a pod's own disk: one replica's corrupt cache is that replica's alone).
  const registry = `${cfg.RANKSAFE_HOST}:${cfg.REGISTRY_PORT}`;
  const cache = (app: string) => path.join(dataDir(cfg.RANKSAFE_DATA_DIR), 'registry-cache', app);
  retrievalPorts.forEach((p, i) =>
    add('retrieval-service', `retrieval-service-${i + 1}`, p, {
      RETRIEVAL_REGISTRY_ADDRESS: registry,
      RETRIEVAL_INDEX_REF: 'production',
      RETRIEVAL_REGISTRY_CACHE_DIR: cache('retrieval'),
      ...(ep.catalogIndex ? { RETRIEVAL_INDEX: ep.catalogIndex } : {}),
    }),
  );
  rankingPorts.forEach((p, i) =>
    add('ranking-service', `ranking-service-${i + 1}`, p, {
      RANKING_REGISTRY_ADDRESS: registry,
      RANKING_MODEL_REF: 'production',
      RANKING_REGISTRY_CACHE_DIR: path.join(cache('ranking'), `ranking-service-${i + 1}`),
      ...(ep.catalogIndex ? { RANKING_PRIME_INDEX: ep.catalogIndex } : {}),
      ...(ep.recommender ? { RANKING_RECOMMENDER_REF: 'production', RANKING_RECOMMENDER_NAME: ep.recommender } : {}),
    }),
  );
  const targets = (ports: number[]) => ports.map((p) => `${cfg.RANKSAFE_HOST}:${p}`).join(',');
  add('gateway', 'gateway', cfg.GATEWAY_PORT, {
    RETRIEVAL_TARGETS: targets(retrievalPorts),
    RANKING_TARGETS: targets(rankingPorts),
    DATABASE_URL: ep.databaseUrl,
  });
  const gatewayMetrics = `${cfg.RANKSAFE_HOST}:${out[out.length - 1]!.metricsPort}`;
  add('drill-worker', 'drill-worker', undefined, {
    TEMPORAL_ADDRESS: ep.temporalAddress,
    TEMPORAL_NAMESPACE: cfg.TEMPORAL_NAMESPACE,
    TEMPORAL_TASK_QUEUE: cfg.TEMPORAL_TASK_QUEUE,
    DATABASE_URL: ep.databaseUrl,
    REGISTRY_ADDRESS: registry,
    PLATFORM_ADDRESS: platformAddressOf(cfg),
    DRILL_REGISTRY_CACHE_DIR: cache('drill-worker'),
    SNAPSHOT_RPO_TARGET_MS: String(cfg.SNAPSHOT_RPO_TARGET_MS),
    DRILLS_ENABLED: cfg.DRILLS_ENABLED,
    DRILL_ALLOW_LIST: cfg.DRILL_ALLOW_LIST,
    DRILL_REPORT_DIR: path.join(dataDir(cfg.RANKSAFE_DATA_DIR), 'drills'),
    DRILL_GATEWAY_METRICS: gatewayMetrics,
    DRILL_LOAD_AGENT: 'load-agent',
    DRILL_REGISTRY_ARTIFACT_DIR: artifactDir,
    DRILL_RANKING_CACHE_ROOT: cache('ranking'),
  });
  // The drills' load agent: Search + Recommend through the gateway, every request recorded in
  // Postgres; queries and users from the catalog the stack serves.
  add(
    'load-agent',
    'load-agent',
    undefined,
    {
      DATABASE_URL: ep.databaseUrl,
      GATEWAY_ADDRESS: `${cfg.RANKSAFE_HOST}:${cfg.GATEWAY_PORT}`,
      LOAD_CATALOG_DIR: ep.catalogIndex ?? (cfg.CATALOG_INDEX ? path.resolve(cfg.CATALOG_INDEX) : path.join(dataDir(cfg.RANKSAFE_DATA_DIR), 'indexes', 'demo')),
    },
    { onDemand: true },
  );
  return out;
}
