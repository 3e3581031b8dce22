// The serving tier seen from the cold path: health, drain (health override), a canary request,
// and "is this replica on the production version" — over each service's own gRPC API.
import * as grpc from '@grpc/grpc-js';
import {
  AdminClient,
  FaultKind,
  HealthOverride,
  LoadModelRequest,
  RankingClient,
  RankRequest,
  RetrievalClient,
  RetrievalMode,
  RetrieveRequest,
} from '@ranksafe/proto';
import type { RegistryClient } from '@ranksafe/registry-client';
import { adminMetadata, checkHealth, unaryCall, type HealthStatus } from '@ranksafe/serving-kit';

export type Tier = 'ranking-service' | 'retrieval-service';
export type Override = 'none' | 'serving' | 'not_serving';

export interface ServingControl {
  health(address: string, timeoutMs: number): Promise<{ status: HealthStatus; detail?: string }>;
  setHealthOverride(address: string, override: Override, timeoutMs?: number): Promise<void>;
  /** One real request to this replica alone; rejects with its gRPC error. */
  canaryQuery(tier: string, address: string, timeoutMs: number): Promise<{ latencyMs: number; detail: string }>;
  /** Make sure the replica serves what the registry calls production (load it when it does not). */
  ensureProduction(tier: string, address: string): Promise<{ version: string; loaded: boolean }>;
  /** The ranking models a replica holds (name, registry version, default, warm). */
  listModels(address: string): Promise<ReplicaModel[]>;
  /** Load a registry version beside the default (never disturbing it) and wait until its cache is warm; idempotent. */
  loadModel(address: string, m: { model: string; version: string }): Promise<{ version: string; alreadyLoaded: boolean; warmupMs: number; sha256: string }>;
  /** Make a loaded version the default of its name (load-before-unload: the old default stays loaded). */
  setDefault(address: string, m: { model: string; version: string }): Promise<{ previousVersion: string }>;
  /** Unload a version that is not the default; a version that is not loaded is not an error. */
  unloadModel(address: string, m: { model: string; version: string }): Promise<{ unloaded: boolean }>;
  /** Load a catalog index version from the registry (the replica drains for its reload window). */
  loadIndex(address: string, version: string): Promise<{ version: string; products: number }>;
  describeIndex(address: string): Promise<{ version: string; products: number }>;
  /** Retrieve on one replica, for an index canary's analysis; rejects with the gRPC error. */
  retrieveIds(address: string, query: string, topN: number, timeoutMs: number): Promise<{ ids: string[]; latencyMs: number }>;
  /** An Admin fault in the replica's process (latency or a hang on some methods), clearing itself after ttlMs. */
  injectFault(
    address: string,
    f: { kind: 'latency' | 'hang'; latencyMs?: number; methods?: string[]; ttlMs: number },
  ): Promise<{ id: string; expiresAtUnixMs: number }>;
  /** Clear one fault (by id) or all of them; returns how many were cleared. */
  clearFaults(address: string, id?: string): Promise<{ cleared: number }>;
}

export interface ReplicaModel {
  model: string;
  version: string;
  isDefault: boolean;
  warm: boolean;
  /** The provider its session runs on ("cpu", "cuda"), as the replica reports it. */
  executionProvider?: string;
  /** The provider it was configured for (RANKING_EXECUTION_PROVIDER): differs after a fall-back. */
  requestedExecutionProvider?: string;
  /** Why it fell back (the CUDA error), empty when it did not. */
  executionProviderFallback?: string;
  loadedAtUnixMs?: number;
}

const OVERRIDES: Record<Override, HealthOverride> = {
  none: HealthOverride.HEALTH_OVERRIDE_NONE,
  serving: HealthOverride.HEALTH_OVERRIDE_SERVING,
  not_serving: HealthOverride.HEALTH_OVERRIDE_NOT_SERVING,
};

/** ServingControl over gRPC (admin token for the admin RPCs; the registry resolves production). */
export function grpcServingControl(o: { token?: string; registry: Pick<RegistryClient, 'resolve'> }): ServingControl {
  const md = () => (o.token ? adminMetadata(new grpc.Metadata(), o.token) : new grpc.Metadata());
  const creds = grpc.credentials.createInsecure();
  const once = async <C extends grpc.Client, T>(
    Ctor: new (a: string, c: grpc.ChannelCredentials) => C,
    address: string,
    fn: (c: C) => Promise<T>,
  ): Promise<T> => {
    const c = new Ctor(address, creds);
    try {
      return await fn(c);
    } finally {
      c.close();
    }
  };
  return {
    health: (address, timeoutMs) => checkHealth(address, '', timeoutMs),
    setHealthOverride: (address, override, timeoutMs = 3000) =>
      once(AdminClient, address, (c) =>
        unaryCall(c.setHealthOverride.bind(c), { override: OVERRIDES[override] }, { metadata: md(), deadlineMs: timeoutMs }),
      ).then(() => undefined),
    canaryQuery: async (tier, address, timeoutMs) => {
      const t0 = Date.now();
      if (tier === 'ranking-service') {
        const r = await once(RankingClient, address, (c) =>
          unaryCall(
            c.rank.bind(c),
            RankRequest.fromPartial({
              subject: { $case: 'query', value: 'solid oak table' },
              candidates: [{ id: 'canary-1', text: 'oak dining table', retrievalScore: 0 }],
            }),
            { deadlineMs: timeoutMs },
          ),
        );
        return { latencyMs: Date.now() - t0, detail: `ranked by ${r.model?.name}/${r.model?.version}` };
      }
      if (tier === 'retrieval-service') {
        const r = await once(RetrievalClient, address, (c) =>
          unaryCall(c.retrieve.bind(c), RetrieveRequest.fromPartial({ query: 'table', topN: 5, mode: RetrievalMode.RETRIEVAL_MODE_BM25 }), {
            deadlineMs: timeoutMs,
          }),
        );
        return { latencyMs: Date.now() - t0, detail: `${r.candidates.length} candidates` };
      }
      throw new Error(`no canary query for tier ${tier}`);
    },
    ensureProduction: async (tier, address) => {
      if (tier === 'ranking-service') {
        return once(RankingClient, address, async (c) => {
          const { models } = await unaryCall(c.listModels.bind(c), {}, { metadata: md(), deadlineMs: 5000 });
          const serving = models.find((m) => m.isDefault) ?? models[0];
          if (!serving?.model) throw new Error(`${address} serves no model`);
          const production = await o.registry.resolve(serving.model.name, 'production');
          if (production.version === serving.model.version) return { version: production.version, loaded: false };
          const r = await unaryCall(
            c.loadModel.bind(c),
            LoadModelRequest.fromPartial({
              modelName: serving.model.name,
              source: { $case: 'registryRef', value: 'production' },
              makeDefault: true,
              unloadPreviousDefault: true,
              waitForWarm: true,
            }),
            { metadata: md(), deadlineMs: 120_000 },
          );
          return { version: r.model?.version ?? production.version, loaded: true };
        });
      }
      if (tier === 'retrieval-service') {
        // A retrieval replica loads the production index at start (RETRIEVAL_INDEX_REF); report it.
        const d = await once(RetrievalClient, address, (c) => unaryCall(c.describeIndex.bind(c), {}, { deadlineMs: 5000 }));
        return { version: d.indexVersion, loaded: false };
      }
      throw new Error(`unknown tier ${tier}`);
    },
    listModels: (address) =>
      once(RankingClient, address, async (c) => {
        const { models } = await unaryCall(c.listModels.bind(c), {}, { metadata: md(), deadlineMs: 5000 });
        return models.map((m) => ({
          model: m.model?.name ?? '',
          version: m.model?.version ?? '',
          isDefault: m.isDefault,
          warm: m.warm,
          executionProvider: m.executionProvider,
          requestedExecutionProvider: m.requestedExecutionProvider,
          executionProviderFallback: m.executionProviderFallback,
          loadedAtUnixMs: Number(m.loadedAtUnixMs),
        }));
      }),
    loadModel: (address, m) =>
      once(RankingClient, address, async (c) => {
        const r = await unaryCall(
          c.loadModel.bind(c),
          LoadModelRequest.fromPartial({ modelName: m.model, source: { $case: 'registryRef', value: m.version }, makeDefault: false, waitForWarm: true }),
          { metadata: md(), deadlineMs: 180_000 },
        );
        return { version: r.model?.version ?? m.version, alreadyLoaded: r.alreadyLoaded, warmupMs: Number(r.warmupMs), sha256: r.sha256 };
      }),
    setDefault: (address, m) =>
      once(RankingClient, address, async (c) => {
        const r = await unaryCall(
          c.setDefault.bind(c),
          { modelName: m.model, version: m.version, unloadPrevious: false },
          { metadata: md(), deadlineMs: 10_000 },
        );
        return { previousVersion: r.previousVersion };
      }),
    unloadModel: (address, m) =>
      once(RankingClient, address, async (c) => {
        try {
          await unaryCall(c.unloadModel.bind(c), { modelName: m.model, version: m.version }, { metadata: md(), deadlineMs: 30_000 });
          return { unloaded: true };
        } catch (e) {
          if ((e as { code?: number }).code === grpc.status.NOT_FOUND) return { unloaded: false };
          throw e;
        }
      }),
    loadIndex: (address, version) =>
      once(RetrievalClient, address, async (c) => {
        const r = await unaryCall(c.loadIndex.bind(c), { source: { $case: 'registryRef', value: version } }, { metadata: md(), deadlineMs: 300_000 });
        return { version: r.indexVersion, products: Number(r.products) };
      }),
    describeIndex: (address) =>
      once(RetrievalClient, address, async (c) => {
        const d = await unaryCall(c.describeIndex.bind(c), {}, { deadlineMs: 5000 });
        return { version: d.indexVersion, products: Number(d.products) };
      }),
    retrieveIds: (address, query, topN, timeoutMs) =>
      once(RetrievalClient, address, async (c) => {
        const t0 = Date.now();
        const r = await unaryCall(c.retrieve.bind(c), RetrieveRequest.fromPartial({ query, topN, mode: RetrievalMode.RETRIEVAL_MODE_HYBRID }), {
          deadlineMs: timeoutMs,
        });
        return { ids: r.candidates.map((x) => x.product?.id ?? ''), latencyMs: Date.now() - t0 };
      }),
    injectFault: (address, f) =>
      once(AdminClient, address, async (c) => {
        const r = await unaryCall(
          c.injectFault.bind(c),
          {
            spec: {
              kind: f.kind === 'latency' ? FaultKind.FAULT_KIND_LATENCY : FaultKind.FAULT_KIND_HANG,
              methods: f.methods ?? [],
              latencyMs: f.latencyMs ?? 0,
              statusCode: 0,
              probability: 0,
              ttlMs: f.ttlMs,
            },
          },
          { metadata: md(), deadlineMs: 5000 },
        );
        return { id: r.id, expiresAtUnixMs: Number(r.expiresAtUnixMs) };
      }),
    clearFaults: (address, id) =>
      once(AdminClient, address, async (c) => {
        const r = await unaryCall(c.clearFaults.bind(c), { id: id ?? '' }, { metadata: md(), deadlineMs: 5000 });
        return { cleared: r.cleared };
      }),
  };
}
