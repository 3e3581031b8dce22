// ModelRollout's side effects: the plan (production, replicas, gateways), the candidate checked
// in the registry and through the quality gate, the candidate loaded beside production on every
// replica, the gateways' canary split and its analysis, the compare-and-set alias move, the
// default switch, and an index canary on one retrieval replica. Every activity is idempotent (a
// retry after a lost answer, or after the worker was SIGKILLed, does the same thing once).
import { ApplicationFailure } from '@temporalio/activity';
import type { Pool } from 'pg';
import { ModelKind } from '@ranksafe/proto';
import { listIncidents, listOperations } from '@ranksafe/db';
import type { DrillConfig } from './drill-faults';
import type { ReplicaPlatform } from '@ranksafe/platform';
import { AliasConflictError, hasCode, type RegistryClient } from '@ranksafe/registry-client';
import { withHeartbeat } from './heartbeat';
import { mergeAnalyses, type AnalysisSummary, type GatewayControl, type RoutingSummary } from './gateway';
import { NoEvaluationSetError, type QualityEvaluation, type QualityEvaluator } from './quality';
import type { ServingControl } from './serving';

export type RolloutRegistry = Pick<RegistryClient, 'resolve' | 'getVersion' | 'setAlias' | 'aliasVersion'>;

export interface ReplicaRef {
  name: string;
  address: string;
}

export interface RolloutPlan {
  tier: 'ranking-service' | 'retrieval-service';
  productionVersion: string;
  /** Where `previous` points before the rollout (restored if the rollout is rolled back after moving it). */
  previousAlias: string;
  candidateSha256: string;
  replicas: ReplicaRef[];
  gateways: string[];
  /** Set for a sequential recommender (its canary split is of Recommend's sequential path); unset for a search model or an index. */
  modelKind?: 'sequential-recommender';
}

const GRPC_NOT_FOUND = 5;
const fail = (type: string, message: string, details?: unknown) =>
  ApplicationFailure.create({ type, message, nonRetryable: true, details: details === undefined ? [] : [details] });

export function createRolloutActivities(deps: {
  pool: Pool;
  registry: RolloutRegistry;
  platform: ReplicaPlatform;
  serving: ServingControl;
  gateway: GatewayControl;
  quality: QualityEvaluator;
  drills?: Pick<DrillConfig, 'isWorkflowRunning'>;
}) {
  const { registry, platform, serving, gateway, quality } = deps;

  return {
    /**
     * What the rollout acts on: the candidate must exist and be of the right kind, production must
     * be set, and every replica of the tier must be running (a rollout needs all of them; recover a
     * dead one first).
     */
    async planRollout(input: { kind: 'RANKING_MODEL' | 'CATALOG_INDEX'; model: string; version: string; drill?: string }): Promise<RolloutPlan> {
      const tier = input.kind === 'CATALOG_INDEX' ? 'retrieval-service' : 'ranking-service';
      let candidate;
      try {
        candidate = await registry.getVersion(input.model, input.version);
      } catch (e) {
        if (hasCode(e, GRPC_NOT_FOUND))
          throw fail('UnknownVersion', `the registry has no ${input.model}/${input.version}: publish it first (ops model publish)`);
        throw e;
      }
      const isIndex = candidate.spec?.kind === ModelKind.MODEL_KIND_CATALOG_INDEX;
      if (isIndex !== (input.kind === 'CATALOG_INDEX'))
        throw fail(
          'WrongKind',
          `${input.model}/${input.version} is ${isIndex ? 'a catalog index' : 'a model'}; roll it out with kind ${isIndex ? 'CATALOG_INDEX' : 'RANKING_MODEL'}`,
        );
      const productionVersion = await registry.aliasVersion(input.model, 'production');
      if (!productionVersion) throw fail('NoProduction', `${input.model} has no production alias: nothing to roll out against`);
      const previousAlias = await registry.aliasVersion(input.model, 'previous');
      const all = await platform.list({ component: tier });
      if (!all.length) throw fail('NoReplicas', `the platform runs no ${tier} replica`);
      const down = all.filter((r) => r.state !== 'running' || !r.address);
      if (down.length)
        throw fail('ReplicaNotRunning', `${down.map((r) => `${r.name} is ${r.state}`).join(', ')}: a rollout needs every replica; recover first`);
      // Drills and rollouts exclude each other: a drill of this tier is rehearsing a failure of it
      // (except the drill that started this rollout: a bad-model-rollout drill).
      for (const d of (await listOperations(deps.pool, { kind: 'drill', limit: 20 })).filter(
        (o) => !o.endedAt && o.target === tier && o.workflowId !== input.drill,
      )) {
        if (!deps.drills || (await deps.drills.isWorkflowRunning(d.workflowId)))
          throw fail('DrillRunning', `drill ${d.workflowId} is running on ${tier}: wait for it to end (or abort it) before rolling out`);
      }
      const gateways = (await platform.list({ component: 'gateway' })).filter((g) => g.state === 'running' && g.address).map((g) => g.address!);
      if (tier === 'ranking-service' && !gateways.length) throw fail('NoGateway', 'no gateway is running: nothing can route canary traffic');
      return {
        tier,
        productionVersion,
        previousAlias,
        candidateSha256: candidate.spec?.sha256 ?? '',
        replicas: all.map((r) => ({ name: r.name, address: r.address! })).sort((a, b) => a.name.localeCompare(b.name)),
        gateways,
        ...(candidate.spec?.kind === ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER ? { modelKind: 'sequential-recommender' as const } : {}),
      };
    },

    /** The quality gate: both versions downloaded (sha256 verified), loaded in scratch sessions, scored on the judged queries. */
    async evaluateQuality(input: { model: string; candidate: string; production: string; maxQueries: number }): Promise<QualityEvaluation> {
      try {
        return await withHeartbeat(quality.evaluate(input));
      } catch (e) {
        if (e instanceof NoEvaluationSetError) throw fail('NoEvaluationSet', e.message);
        throw e;
      }
    },

    /** Replicas with a recovery under way (a rollout waits for them before it touches the replica). */
    async openRecoveries(input: { instances: string[] }): Promise<string[]> {
      const open = await listIncidents(deps.pool, { openOnly: true, limit: 200 });
      return [...new Set(open.filter((i) => input.instances.includes(i.instance)).map((i) => i.instance))];
    },

    /** Load the candidate beside production on one replica and wait until its cache is warm. */
    async loadCandidate(input: { address: string; model: string; version: string }) {
      return withHeartbeat(serving.loadModel(input.address, { model: input.model, version: input.version }));
    },

    /** Unload a version that is not the default (rollback, or the old production after a promotion). */
    async unloadVersion(input: { address: string; model: string; version: string }) {
      return serving.unloadModel(input.address, { model: input.model, version: input.version });
    },

    /** Versions a replica holds that the rollout expects: the candidate reloaded where a recovery restarted the replica. */
    async ensureLoaded(input: { replicas: ReplicaRef[]; model: string; version: string }): Promise<{ reloaded: string[] }> {
      const reloaded: string[] = [];
      await withHeartbeat(
        Promise.all(
          input.replicas.map(async (r) => {
            const models = await serving.listModels(r.address);
            if (models.some((m) => m.model === input.model && m.version === input.version)) return;
            await serving.loadModel(r.address, { model: input.model, version: input.version });
            reloaded.push(r.name);
          }),
        ),
      );
      return { reloaded: reloaded.sort() };
    },

    /** Switch a replica's default (load-before-unload: the old default stays loaded until the rollout is done). */
    async setReplicaDefault(input: { address: string; model: string; version: string }) {
      return serving.setDefault(input.address, { model: input.model, version: input.version });
    },

    /** Set the canary split (stored by the gateway in Postgres; every gateway polls it). */
    async setCanaryRouting(input: {
      gateways: string[];
      model: string;
      canaryVersion: string;
      weight: number;
      mirrorRate: number;
      reason: string;
      modelKind?: 'sequential-recommender';
    }): Promise<RoutingSummary> {
      const [first] = input.gateways;
      if (!first) throw fail('NoGateway', 'no gateway to set the routing on');
      return gateway.setRouting(first, {
        model: input.model,
        canaryVersion: input.canaryVersion,
        weight: input.weight,
        mirrorRate: input.mirrorRate,
        reason: input.reason,
        resetAnalysis: false,
        ...(input.modelKind ? { modelKind: input.modelKind } : {}),
      });
    },

    /** Start a new analysis epoch on every gateway (after a step's warm-up); returns each gateway's epoch. */
    async resetCanaryAnalysis(input: { gateways: string[] }): Promise<Record<string, string>> {
      const out: Record<string, string> = {};
      for (const g of input.gateways) out[g] = (await gateway.resetAnalysis(g)).epoch;
      return out;
    },

    /** The analysis counters of every gateway since the epochs, summed; checks that every gateway routes as set. */
    async readCanaryAnalysis(input: {
      gateways: string[];
      epochs: Record<string, string>;
      canaryVersion: string;
    }): Promise<AnalysisSummary & { routedBy: number }> {
      const all = await Promise.all(input.gateways.map(async (address) => ({ address, analysis: await gateway.analysis(address) })));
      const routedBy = all.filter((a) => a.analysis.routing?.canaryVersion === input.canaryVersion).length;
      return { ...mergeAnalyses(all, input.epochs), routedBy };
    },

    /**
     * Move an alias with compare-and-set. Already there (a retry whose first answer was lost): done.
     * Someone else moved it: AliasConflict (non-retryable); the rollout stops and overwrites nothing.
     */
    async moveAlias(input: { model: string; alias: string; version: string; expectedVersion: string; reason: string }): Promise<{ moved: boolean }> {
      try {
        await registry.setAlias({
          name: input.model,
          alias: input.alias,
          version: input.version,
          expectedVersion: input.expectedVersion,
          reason: input.reason,
        });
        return { moved: true };
      } catch (e) {
        if (!(e instanceof AliasConflictError)) throw e;
        if (e.currentVersion === input.version) return { moved: false };
        throw fail(
          'AliasConflict',
          `${input.model}:${input.alias} points at ${e.currentVersion || '(unset)'}, not ${input.expectedVersion || '(unset)'}: someone else moved it; not overwritten`,
          { current: e.currentVersion, expected: input.expectedVersion },
        );
      }
    },

    /** Load a catalog index version on one retrieval replica (it drains for its reload window); idempotent. */
    async loadReplicaIndex(input: { address: string; version: string }): Promise<{ version: string; products: number; alreadyLoaded: boolean }> {
      const now = await serving.describeIndex(input.address);
      if (now.version === input.version) return { ...now, alreadyLoaded: true };
      return { ...(await withHeartbeat(serving.loadIndex(input.address, input.version))), alreadyLoaded: false };
    },

    /**
     * An index canary's analysis: the evaluation set's queries sent to the canary replica and to a
     * production replica, side by side: errors, p99, and top-10 overlap of what they return.
     */
    async compareIndexReplicas(input: { canary: string; baseline: string; queries: number; topN?: number; timeoutMs?: number }) {
      const queries = await quality.sampleQueries(input.queries);
      const side = { errors: 0, latencies: [] as number[] };
      const canary = { ...side, latencies: [] as number[] };
      const baseline = { ...side, latencies: [] as number[] };
      let overlapSum = 0;
      let compared = 0;
      for (const q of queries) {
        const [c, b] = await Promise.allSettled([
          serving.retrieveIds(input.canary, q, input.topN ?? 10, input.timeoutMs ?? 2000),
          serving.retrieveIds(input.baseline, q, input.topN ?? 10, input.timeoutMs ?? 2000),
        ]);
        if (c.status === 'fulfilled') canary.latencies.push(c.value.latencyMs);
        else canary.errors++;
        if (b.status === 'fulfilled') baseline.latencies.push(b.value.latencyMs);
        else baseline.errors++;
        if (c.status === 'fulfilled' && b.status === 'fulfilled' && b.value.ids.length) {
          const top = new Set(b.value.ids.slice(0, 10));
          overlapSum += c.value.ids.slice(0, 10).filter((id) => top.has(id)).length / Math.min(10, b.value.ids.length);
          compared++;
        }
      }
      const p99 = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.99) - 1)]! : 0);
      return {
        requests: queries.length,
        canary: { errors: canary.errors, p99Ms: p99(canary.latencies) },
        baseline: { errors: baseline.errors, p99Ms: p99(baseline.latencies) },
        compared,
        meanTop10Overlap: compared ? overlapSum / compared : 0,
      };
    },
  };
}
