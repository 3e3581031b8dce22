import { randomUUID } from 'node:crypto';
import type { CanaryAnalysis, MirrorComparison, RankedCandidate, Routing, VariantStats } from '@ranksafe/proto';

/** Who answered a request: the default ranking version, or the canary. Mirror = shadow calls to the canary. */
export type Variant = 'production' | 'canary';
export type AnalysisVariant = Variant | 'mirror';
export const VARIANTS: AnalysisVariant[] = ['production', 'canary', 'mirror'];

/**
 * FNV-1a of a string, mixed with murmur3's finaliser (FNV alone leaves ids that differ in their last
 * characters, req-1 … req-40, clustered in the high bits), as a fraction in [0, 1).
 */
export function hashFraction(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

/**
 * The variant for one request: with a request id, a stable choice (the same id always lands on
 * the same side, so a client's retries see one model); without, a random draw.
 */
export function pickVariant(routing: Pick<Routing, 'canaryVersion' | 'canaryWeight'>, requestId: string, random: () => number = Math.random): Variant {
  if (!routing.canaryVersion || routing.canaryWeight <= 0) return 'production';
  if (routing.canaryWeight >= 1) return 'canary';
  const x = requestId ? hashFraction(requestId) : random();
  return x < routing.canaryWeight ? 'canary' : 'production';
}

/** Should a request production answered also be ranked by the canary (not answered with it)? */
export function shouldMirror(routing: Pick<Routing, 'canaryVersion' | 'mirrorRate'>, random: () => number = Math.random): boolean {
  return !!routing.canaryVersion && routing.mirrorRate > 0 && (routing.mirrorRate >= 1 || random() < routing.mirrorRate);
}

/** |top-k(a) ∩ top-k(b)| / min(k, candidates): 1 = the same k items first (in any order). */
export function topKOverlap(a: RankedCandidate[], b: RankedCandidate[], k = 10): number {
  const n = Math.min(k, a.length, b.length);
  if (n === 0) return 1;
  const top = new Set(a.slice(0, n).map((x) => x.id));
  return b.slice(0, n).filter((x) => top.has(x.id)).length / n;
}

/** Mean |model_score(b) − model_score(a)| over the candidates both scored. */
export function scoreDrift(a: RankedCandidate[], b: RankedCandidate[]): number {
  const sa = new Map(a.map((x) => [x.id, x.modelScore]));
  let sum = 0;
  let n = 0;
  for (const x of b) {
    const y = sa.get(x.id);
    if (y === undefined) continue;
    sum += Math.abs(x.modelScore - y);
    n++;
  }
  return n === 0 ? 0 : sum / n;
}

/** Latency buckets (ms) of the analysis histograms; a percentile reads as its bucket's upper bound. */
export const LATENCY_BUCKETS_MS = [
  1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 120, 150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000,
];

export class LatencyHistogram {
  readonly counts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  total = 0;
  max = 0;
  observe(ms: number): void {
    let i = LATENCY_BUCKETS_MS.findIndex((b) => ms <= b);
    if (i < 0) i = LATENCY_BUCKETS_MS.length;
    this.counts[i]!++;
    this.total++;
    this.max = Math.max(this.max, ms);
  }
  /** Nearest-rank percentile p (0..100) as the upper bound of its bucket (the max seen, past the last bucket); 0 when empty. */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return i < LATENCY_BUCKETS_MS.length ? Math.min(LATENCY_BUCKETS_MS[i]!, this.max) : this.max;
    }
    return this.max;
  }
}

interface VariantCounters {
  requests: number;
  errors: number;
  latency: LatencyHistogram;
  versions: Set<string>;
}

/**
 * Per-variant counters of this gateway since the current epoch: requests, errors and ranking
 * latency of what production and the canary answered, and of the mirror calls; and how the
 * canary's ranking of mirrored requests compares with production's (top-10 overlap, score drift).
 * A rollout's analysis reads them through GatewayAdmin.GetCanaryAnalysis, without Prometheus.
 */
export class CanaryAnalyzer {
  epoch = '';
  since = 0;
  private variants = new Map<AnalysisVariant, VariantCounters>();
  private mirror = { compared: 0, sumOverlap: 0, minOverlap: 1, sumDrift: 0, maxDrift: 0 };

  constructor(private readonly now: () => number = Date.now) {
    this.reset();
  }

  reset(): void {
    this.epoch = randomUUID();
    this.since = this.now();
    this.variants = new Map(VARIANTS.map((v) => [v, { requests: 0, errors: 0, latency: new LatencyHistogram(), versions: new Set<string>() }]));
    this.mirror = { compared: 0, sumOverlap: 0, minOverlap: 1, sumDrift: 0, maxDrift: 0 };
  }

  record(variant: AnalysisVariant, ms: number, ok: boolean, version?: string): void {
    const c = this.variants.get(variant)!;
    c.requests++;
    if (!ok) c.errors++;
    c.latency.observe(ms);
    if (version && c.versions.size < 16) c.versions.add(version);
  }

  compare(production: RankedCandidate[], canary: RankedCandidate[]): { overlap: number; drift: number } {
    const overlap = topKOverlap(production, canary, 10);
    const drift = scoreDrift(production, canary);
    const m = this.mirror;
    m.compared++;
    m.sumOverlap += overlap;
    m.minOverlap = Math.min(m.minOverlap, overlap);
    m.sumDrift += drift;
    m.maxDrift = Math.max(m.maxDrift, drift);
    return { overlap, drift };
  }

  snapshot(routing: Routing | undefined, instance: string): CanaryAnalysis {
    const variants: VariantStats[] = VARIANTS.map((variant) => {
      const c = this.variants.get(variant)!;
      return {
        variant,
        requests: c.requests,
        errors: c.errors,
        p50Ms: c.latency.percentile(50),
        p95Ms: c.latency.percentile(95),
        p99Ms: c.latency.percentile(99),
        versions: [...c.versions],
      };
    });
    const m = this.mirror;
    const mirror: MirrorComparison = {
      compared: m.compared,
      meanTop10Overlap: m.compared ? m.sumOverlap / m.compared : 0,
      minTop10Overlap: m.compared ? m.minOverlap : 0,
      meanScoreDrift: m.compared ? m.sumDrift / m.compared : 0,
      maxScoreDrift: m.maxDrift,
    };
    return { epoch: this.epoch, sinceUnixMs: this.since, nowUnixMs: this.now(), routing, variants, mirror, gatewayInstance: instance };
  }
}
