// The gateways' canary routing seen from the cold path (ranksafe.v1.GatewayAdmin): set the split
// (stored in Postgres; every gateway polls it) and read the per-variant analysis counters, summed
// over every gateway of the stack.
import * as grpc from '@grpc/grpc-js';
import { GatewayAdminClient, ModelKind, type CanaryAnalysis, type Routing } from '@ranksafe/proto';
import { adminMetadata, unaryCall } from '@ranksafe/serving-kit';

export interface RoutingSummary {
  modelName: string;
  canaryVersion: string;
  canaryWeight: number;
  mirrorRate: number;
  revision: number;
}

export interface VariantSummary {
  requests: number;
  errors: number;
  p99Ms: number;
  versions: string[];
}

/** The analysis counters of every gateway since its current epoch, in plain JSON (what a workflow judges). */
export interface AnalysisSummary {
  /** gateway address → its epoch (pass back to read the same epoch; a gateway restarted meanwhile has a new one). */
  epochs: Record<string, string>;
  sinceUnixMs: number;
  nowUnixMs: number;
  production: VariantSummary;
  canary: VariantSummary;
  mirror: VariantSummary;
  mirrorCompared: number;
  meanTop10Overlap: number;
  minTop10Overlap: number;
  meanScoreDrift: number;
  maxScoreDrift: number;
  /** Gateways whose epoch changed since `epochs` was taken (their counters restarted from zero). */
  resetGateways: string[];
}

export interface GatewayControl {
  setRouting(
    address: string,
    r: {
      model: string;
      canaryVersion: string;
      weight: number;
      mirrorRate: number;
      reason: string;
      resetAnalysis: boolean;
      /** Set: the split is of Recommend's sequential path (its mirror rate must be 0). */
      modelKind?: 'sequential-recommender';
    },
  ): Promise<RoutingSummary>;
  getRouting(address: string): Promise<RoutingSummary>;
  analysis(address: string, epoch?: string): Promise<CanaryAnalysis>;
  resetAnalysis(address: string): Promise<CanaryAnalysis>;
}

export const routingSummary = (r: Routing | undefined): RoutingSummary => ({
  modelName: r?.modelName ?? '',
  canaryVersion: r?.canaryVersion ?? '',
  canaryWeight: r?.canaryWeight ?? 0,
  mirrorRate: r?.mirrorRate ?? 0,
  revision: Number(r?.revision ?? 0),
});

/** GatewayControl over gRPC with the admin token. */
export function grpcGatewayControl(o: { token?: string }): GatewayControl {
  const md = () => (o.token ? adminMetadata(new grpc.Metadata(), o.token) : new grpc.Metadata());
  const once = async <T>(address: string, fn: (c: GatewayAdminClient) => Promise<T>): Promise<T> => {
    const c = new GatewayAdminClient(address, grpc.credentials.createInsecure());
    try {
      return await fn(c);
    } finally {
      c.close();
    }
  };
  return {
    setRouting: (address, r) =>
      once(address, async (c) =>
        routingSummary(
          await unaryCall(
            c.setRouting.bind(c),
            {
              modelName: r.model,
              canaryVersion: r.canaryVersion,
              canaryWeight: r.weight,
              mirrorRate: r.mirrorRate,
              reason: r.reason,
              resetAnalysis: r.resetAnalysis,
              modelKind: r.modelKind === 'sequential-recommender' ? ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER : ModelKind.MODEL_KIND_UNSPECIFIED,
            },
            { metadata: md(), deadlineMs: 5000 },
          ),
        ),
      ),
    getRouting: (address) => once(address, async (c) => routingSummary(await unaryCall(c.getRouting.bind(c), {}, { metadata: md(), deadlineMs: 5000 }))),
    analysis: (address, epoch) => once(address, (c) => unaryCall(c.getCanaryAnalysis.bind(c), { epoch: epoch ?? '' }, { metadata: md(), deadlineMs: 5000 })),
    resetAnalysis: (address) => once(address, (c) => unaryCall(c.resetCanaryAnalysis.bind(c), {}, { metadata: md(), deadlineMs: 5000 })),
  };
}

const variant = (a: CanaryAnalysis, name: string) => a.variants.find((v) => v.variant === name);

/**
 * Sum the analyses of several gateways. Counters add up; p99 is the largest of the gateways'
 * (each is a histogram bucket bound: the sum of histograms is not available here, the max is the
 * conservative bound); the mirror's mean overlap and drift are weighted by compared requests.
 */
export function mergeAnalyses(byGateway: Array<{ address: string; analysis: CanaryAnalysis }>, expectedEpochs: Record<string, string> = {}): AnalysisSummary {
  const empty = (): VariantSummary => ({ requests: 0, errors: 0, p99Ms: 0, versions: [] });
  const out: AnalysisSummary = {
    epochs: {},
    sinceUnixMs: 0,
    nowUnixMs: 0,
    production: empty(),
    canary: empty(),
    mirror: empty(),
    mirrorCompared: 0,
    meanTop10Overlap: 0,
    minTop10Overlap: 1,
    meanScoreDrift: 0,
    maxScoreDrift: 0,
    resetGateways: [],
  };
  let overlapSum = 0;
  let driftSum = 0;
  for (const { address, analysis: a } of byGateway) {
    out.epochs[address] = a.epoch;
    if (expectedEpochs[address] && expectedEpochs[address] !== a.epoch) out.resetGateways.push(address);
    out.sinceUnixMs = Math.max(out.sinceUnixMs, Number(a.sinceUnixMs));
    out.nowUnixMs = Math.max(out.nowUnixMs, Number(a.nowUnixMs));
    for (const name of ['production', 'canary', 'mirror'] as const) {
      const v = variant(a, name);
      if (!v) continue;
      const t = out[name];
      t.requests += Number(v.requests);
      t.errors += Number(v.errors);
      t.p99Ms = Math.max(t.p99Ms, v.p99Ms);
      for (const x of v.versions) if (!t.versions.includes(x)) t.versions.push(x);
    }
    const m = a.mirror;
    if (m && Number(m.compared) > 0) {
      const n = Number(m.compared);
      out.mirrorCompared += n;
      overlapSum += m.meanTop10Overlap * n;
      driftSum += m.meanScoreDrift * n;
      out.minTop10Overlap = Math.min(out.minTop10Overlap, m.minTop10Overlap);
      out.maxScoreDrift = Math.max(out.maxScoreDrift, m.maxScoreDrift);
    }
  }
  if (out.mirrorCompared > 0) {
    out.meanTop10Overlap = overlapSum / out.mirrorCompared;
    out.meanScoreDrift = driftSum / out.mirrorCompared;
  } else out.minTop10Overlap = 0;
  return out;
}
