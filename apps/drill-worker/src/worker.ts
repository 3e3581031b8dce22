import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, WorkflowNotFoundError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Registry } from 'prom-client';
import {
  createActivities,
  grpcGatewayControl,
  grpcServingControl,
  reconcileDrillFaults,
  registerColdPathMetrics,
  registryQualityEvaluator,
  type ActivityDeps,
  type ColdPathSource,
  type DrillRollouts,
} from '@ranksafe/activities';
import { abortSignal, ids, modelRolloutWorkflow, rolloutStatusQuery, rolloutVerdict, type RolloutInput, type RolloutResult } from '@ranksafe/workflows';
import { PlatformClient, workflowBundlerOptions } from '@ranksafe/platform';
import { createPool } from '@ranksafe/db';
import { startupError } from '@ranksafe/serving-kit';
import { RegistryClient, RegistryFetcher } from '@ranksafe/registry-client';
import type { WorkerConfig } from './config';

export type DrillWorkerConfig = Pick<
  WorkerConfig,
  | 'TEMPORAL_ADDRESS'
  | 'TEMPORAL_NAMESPACE'
  | 'TEMPORAL_TASK_QUEUE'
  | 'SHUTDOWN_GRACE_MS'
  | 'DATABASE_URL'
  | 'REGISTRY_ADDRESS'
  | 'ADMIN_TOKEN'
  | 'PLATFORM_ADDRESS'
  | 'DRILL_REGISTRY_CACHE_DIR'
  | 'QUALITY_GATE_INDEX'
  | 'DRILLS_ENABLED'
  | 'DRILL_ALLOW_LIST'
  | 'DRILL_REPORT_DIR'
  | 'DRILL_GATEWAY_METRICS'
  | 'DRILL_LOAD_AGENT'
  | 'DRILL_REGISTRY_ARTIFACT_DIR'
  | 'DRILL_RANKING_CACHE_ROOT'
>;

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/**
 * The activity clients of a worker from its config; close() releases them. `isWorkflowRunning`
 * (the drill guard and the fault reconciler ask it) needs a Temporal client: without one, every
 * workflow counts as running (nothing is reconciled away by mistake).
 */
export function workerDeps(cfg: DrillWorkerConfig, temporal?: Client): ActivityDeps & { close(): Promise<void> } {
  const pool = createPool(cfg.DATABASE_URL, { max: 4 });
  const registry = new RegistryClient(cfg.REGISTRY_ADDRESS, { token: cfg.ADMIN_TOKEN, actor: 'drill-worker' });
  const platform = new PlatformClient(cfg.PLATFORM_ADDRESS, cfg.ADMIN_TOKEN ?? '');
  const fetcher = new RegistryFetcher(registry, cfg.DRILL_REGISTRY_CACHE_DIR, { token: cfg.ADMIN_TOKEN });
  return {
    pool,
    registry,
    platform,
    serving: grpcServingControl({ token: cfg.ADMIN_TOKEN, registry }),
    gateway: grpcGatewayControl({ token: cfg.ADMIN_TOKEN }),
    quality: registryQualityEvaluator({ fetch: (name, ref) => fetcher.fetch(name, ref), indexName: cfg.QUALITY_GATE_INDEX }),
    drills: {
      enabled: cfg.DRILLS_ENABLED === 'true',
      allowList: list(cfg.DRILL_ALLOW_LIST),
      reportDir: cfg.DRILL_REPORT_DIR,
      gatewayMetrics: list(cfg.DRILL_GATEWAY_METRICS),
      loadAgent: cfg.DRILL_LOAD_AGENT,
      rollouts: temporal ? temporalRollouts(temporal, cfg.TEMPORAL_TASK_QUEUE) : undefined,
      ...(cfg.DRILL_REGISTRY_ARTIFACT_DIR && cfg.DRILL_RANKING_CACHE_ROOT
        ? { artifactFiles: { registryStore: cfg.DRILL_REGISTRY_ARTIFACT_DIR, rankingCacheRoot: cfg.DRILL_RANKING_CACHE_ROOT } }
        : {}),
      isWorkflowRunning: async (workflowId) => {
        if (!temporal) return true;
        try {
          const d = await temporal.workflow.getHandle(workflowId).describe();
          return d.status.name === 'RUNNING';
        } catch (e) {
          if (e instanceof WorkflowNotFoundError) return false;
          throw e;
        }
      },
    },
    close: async () => {
      fetcher.close();
      registry.close();
      platform.close();
      await pool.end();
    },
  };
}

/** Rollouts a drill starts (bad-model-rollout), reads (status query, then result) and aborts, over the Temporal client. */
export function temporalRollouts(temporal: Client, taskQueue: string): DrillRollouts {
  return {
    async start({ model, version, strategy, drill, reason }) {
      const workflowId = ids.rollout(model);
      const input: RolloutInput = { model, version, strategy: strategy as RolloutInput['strategy'], reason, drill };
      try {
        const h = await temporal.workflow.start(modelRolloutWorkflow, {
          taskQueue,
          workflowId,
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          args: [input],
          memo: { drill },
        });
        return { workflowId, runId: h.firstExecutionRunId };
      } catch (e) {
        if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
        // Started by an earlier attempt of this activity (its answer lost), or someone else's rollout.
        const d = await temporal.workflow.getHandle(workflowId).describe();
        if (d.memo?.['drill'] !== drill) throw new Error(`a rollout of ${model} (${workflowId}) is already running, not this drill's: the drill excludes it`);
        return { workflowId, runId: d.runId };
      }
    },
    async get(workflowId, runId) {
      const h = temporal.workflow.getHandle<typeof modelRolloutWorkflow>(workflowId, runId);
      const d = await h.describe();
      const status = d.status.name;
      if (status === 'RUNNING') {
        const s = await h.query(rolloutStatusQuery);
        return { workflowId, runId, status, phase: s.phase, version: s.version, verdict: rolloutVerdict(s), error: s.error };
      }
      if (status === 'COMPLETED') {
        const r: RolloutResult = await h.result();
        return { workflowId, runId, status, phase: r.outcome, outcome: r.outcome, reason: r.reason, version: r.version, verdict: rolloutVerdict(r) };
      }
      const error = await h.result().then(
        () => undefined,
        (e: Error) => (e.cause as Error | undefined)?.message ?? e.message,
      );
      return { workflowId, runId, status, verdict: { failed: false }, error };
    },
    async abort(workflowId, runId, reason) {
      await temporal.workflow
        .getHandle(workflowId, runId)
        .signal(abortSignal, { by: 'drill', reason })
        .catch((e: Error) => {
          if (!(e instanceof WorkflowNotFoundError) && !/already completed/i.test(e.message)) throw e;
        });
    },
  };
}

/** Connect to Temporal and build the drill worker (workflows bundled from libs/workflows, activities from createActivities). */
export async function createDrillWorker(cfg: DrillWorkerConfig, injected?: ActivityDeps) {
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address: cfg.TEMPORAL_ADDRESS });
  } catch (e) {
    throw startupError(
      `drill-worker cannot reach Temporal at ${cfg.TEMPORAL_ADDRESS} (${(e as Error).message.split('\n')[0]}); start it (npm start) or fix TEMPORAL_ADDRESS`,
    );
  }
  const clientConnection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection: clientConnection, namespace: cfg.TEMPORAL_NAMESPACE });
  const deps = injected ?? workerDeps(cfg, temporal);
  const worker = await Worker.create({
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue: cfg.TEMPORAL_TASK_QUEUE,
    workflowsPath: require.resolve('@ranksafe/workflows'),
    bundlerOptions: workflowBundlerOptions(),
    activities: createActivities(deps),
    shutdownGraceTime: cfg.SHUTDOWN_GRACE_MS,
  });
  /** Close the Temporal connection and the clients this call created (after worker.run() returned). */
  const close = async () => {
    await connection.close();
    await clientConnection.close();
    if (!injected) await (deps as ReturnType<typeof workerDeps>).close();
  };
  return { worker, connection, deps, close };
}

/**
 * Every `everyMs`, revert the drill faults that no running drill owns (expired, or their drill was
 * terminated or timed out, so its cleanup never ran): libs/activities reconcileDrillFaults.
 */
export function startFaultReconciler(deps: ActivityDeps, everyMs: number, log: (msg: string, detail: Record<string, unknown>) => void) {
  if (everyMs <= 0) return { close: () => undefined };
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      for (const r of await reconcileDrillFaults(deps)) log('drill fault reverted by the reconciler', r);
    } catch (e) {
      log('drill fault reconciler failed', { error: (e as Error).message });
    } finally {
      busy = false;
    }
  };
  const t = setInterval(() => void tick(), everyMs);
  t.unref();
  void tick();
  return { close: () => clearInterval(t) };
}

/**
 * The cold path on the worker's /metrics (libs/activities cold-path-metrics): incidents, backups,
 * rollouts, read on each scrape through a small pool of their own (so a scrape never waits for a
 * connection the activities hold), every read bounded by METRICS_QUERY_TIMEOUT_MS, in Postgres
 * too (statement_timeout). close() releases the pool.
 */
export function startColdPathMetrics(
  cfg: Pick<WorkerConfig, 'DATABASE_URL' | 'SNAPSHOT_RPO_TARGET_MS' | 'METRICS_QUERY_TIMEOUT_MS'>,
  metricsRegistry: Registry,
  registry: ActivityDeps['registry'],
  onError?: (source: ColdPathSource, error: Error) => void,
) {
  const timeoutMs = cfg.METRICS_QUERY_TIMEOUT_MS;
  const pool = createPool(cfg.DATABASE_URL, { max: 2, statement_timeout: timeoutMs, connectionTimeoutMillis: timeoutMs, idleTimeoutMillis: 60_000 });
  const metrics = registerColdPathMetrics(metricsRegistry, { pool, registry, rpoTargetMs: cfg.SNAPSHOT_RPO_TARGET_MS, timeoutMs, onError });
  return { ...metrics, close: () => pool.end() };
}
