// The rollout's input schema with its defaults, and the canary analysis as pure functions: one
// measurement from the gateways' counters, and the step's verdict from its measurements
// (Argo Rollouts' AnalysisRun: each metric has a threshold and a failureLimit; too few samples
// is inconclusive, neither pass nor fail). Pure and deterministic: unit-tested without Temporal.
import { z } from 'zod';
import type { AnalysisSummary } from '@ranksafe/activities';
import type { Measurement, MetricResult, RolloutInput, RolloutStep, StepAnalysis } from './messages';

const NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/i;

const stepSchema = z
  .object({
    weight: z.number().gt(0, 'weight must be > 0').max(1, 'weight must be ≤ 1'),
    analysisMs: z
      .number()
      .int()
      .min(1000, 'analysisMs must be ≥ 1000')
      .max(24 * 3600_000)
      .optional(),
    approval: z.boolean().optional(),
  })
  .strict();

const analysisSchema = z
  .object({
    minRequests: z.number().int().min(1).default(30),
    maxErrorRate: z.number().min(0).max(1).default(0.01),
    maxP99Ratio: z.number().min(1).default(2),
    p99SlackMs: z.number().min(0).default(25),
    minMirrored: z.number().int().min(1).default(20),
    minTop10Overlap: z.number().min(0).max(1).default(0.5),
    maxScoreDrift: z.number().min(0).default(0.3),
    failureLimit: z.number().int().min(0).default(1),
    intervalMs: z.number().int().min(500).default(5000),
    windowMs: z.number().int().min(1000).default(30_000),
    warmupMs: z.number().int().min(0).default(2000),
    onInconclusive: z.enum(['rollback', 'continue']).default('rollback'),
  })
  .strict();

export const DEFAULT_STEPS: RolloutStep[] = [{ weight: 0.1 }, { weight: 0.5 }, { weight: 1 }];
/** The analysis thresholds a strategy that names none gets. */
export const DEFAULT_THRESHOLDS = analysisSchema.parse({});

export const rolloutInputSchema = z
  .object({
    model: z.string().regex(NAME, 'model must be a registry model name'),
    version: z.string().regex(NAME, 'version must be a registry version such as fp32-1a2b3c4d5e6f'),
    kind: z.enum(['RANKING_MODEL', 'CATALOG_INDEX']).default('RANKING_MODEL'),
    reason: z.string().max(500).optional(),
    /** The drill that started this rollout (bad-model-rollout): the drill's exclusion of rollouts does not refuse it. */
    drill: z.string().max(200).optional(),
    strategy: z
      .object({
        steps: z
          .array(stepSchema)
          .min(1)
          .max(20)
          .refine((s) => s.every((x, i) => i === 0 || x.weight > s[i - 1]!.weight), 'steps must have increasing weights')
          .optional(),
        mirrorRate: z.number().min(0).max(1).default(0.25),
        analysis: analysisSchema.default(DEFAULT_THRESHOLDS),
        qualityGate: z
          .object({
            tolerance: z.number().min(0).max(1).default(0.02),
            skip: z.boolean().default(false),
            maxQueries: z.number().int().min(1).max(1000).default(60),
          })
          .strict()
          .default({ tolerance: 0.02, skip: false, maxQueries: 60 }),
        snapshot: z.boolean().default(true),
      })
      .strict()
      .default({
        mirrorRate: 0.25,
        analysis: DEFAULT_THRESHOLDS,
        qualityGate: { tolerance: 0.02, skip: false, maxQueries: 60 },
        snapshot: true,
      }),
  })
  .strict();

export type ResolvedRollout = z.infer<typeof rolloutInputSchema> & { steps: RolloutStep[] };
export type Thresholds = z.infer<typeof analysisSchema>;

/** Validate and fill in the defaults; problems as readable strings (path: message). */
export function parseRolloutInput(input: unknown): { ok: true; value: ResolvedRollout } | { ok: false; problems: string[] } {
  const r = rolloutInputSchema.safeParse(input ?? {});
  if (!r.success) return { ok: false, problems: r.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`) };
  const v = r.data as RolloutInput & z.infer<typeof rolloutInputSchema>;
  return { ok: true, value: { ...r.data, steps: v.strategy.steps ?? DEFAULT_STEPS } };
}

/** One measurement of a ranking canary from the gateways' counters since the step's epoch. */
export function measureRankingCanary(
  a: AnalysisSummary & { routedBy?: number },
  t: Thresholds,
  ctx: { weight: number; gateways: number; baselineP99Ms?: number },
): Measurement {
  const canaryRequests = a.canary.requests + a.mirror.requests;
  const samples = { production: a.production.requests, canary: a.canary.requests, mirrored: a.mirrorCompared };
  const enoughCanary = canaryRequests >= t.minRequests;
  const enoughProduction = ctx.weight >= 1 || a.production.requests >= t.minRequests;
  const routed = (a.routedBy ?? ctx.gateways) >= ctx.gateways && a.resetGateways.length === 0;
  const metrics: MetricResult[] = [];
  if (enoughCanary) {
    const rate = (a.canary.errors + a.mirror.errors) / canaryRequests;
    metrics.push({
      metric: 'error-rate',
      value: round(rate),
      threshold: t.maxErrorRate,
      ok: rate <= t.maxErrorRate,
      detail: `${a.canary.errors + a.mirror.errors} of ${canaryRequests} canary calls failed`,
    });
  }
  const baseline = a.production.requests >= t.minRequests ? a.production.p99Ms : ctx.baselineP99Ms;
  if (a.canary.requests >= t.minRequests && baseline !== undefined && baseline > 0) {
    const limit = Math.max(baseline * t.maxP99Ratio, baseline + t.p99SlackMs);
    metrics.push({
      metric: 'p99',
      value: a.canary.p99Ms,
      threshold: round(limit),
      ok: a.canary.p99Ms <= limit,
      detail: `canary p99 ${a.canary.p99Ms} ms vs production ${baseline} ms`,
    });
  }
  if (a.mirrorCompared >= t.minMirrored) {
    metrics.push({
      metric: 'top10-overlap',
      value: round(a.meanTop10Overlap),
      threshold: t.minTop10Overlap,
      ok: a.meanTop10Overlap >= t.minTop10Overlap,
      detail: `${a.mirrorCompared} mirrored requests, min ${round(a.minTop10Overlap)}`,
    });
    metrics.push({
      metric: 'score-drift',
      value: round(a.meanScoreDrift),
      threshold: t.maxScoreDrift,
      ok: a.meanScoreDrift <= t.maxScoreDrift,
      detail: `max ${round(a.maxScoreDrift)}`,
    });
  }
  return { atUnixMs: a.nowUnixMs, conclusive: routed && enoughCanary && enoughProduction, samples, metrics };
}

/** One measurement of an index canary: the same queries to the canary replica and a production one. */
export function measureIndexCanary(
  c: { requests: number; canary: { errors: number; p99Ms: number }; baseline: { errors: number; p99Ms: number }; compared: number; meanTop10Overlap: number },
  t: Thresholds,
  atUnixMs: number,
): Measurement {
  const metrics: MetricResult[] = [];
  const rate = c.requests ? c.canary.errors / c.requests : 0;
  metrics.push({
    metric: 'probe-errors',
    value: round(rate),
    threshold: t.maxErrorRate,
    ok: rate <= t.maxErrorRate,
    detail: `${c.canary.errors} of ${c.requests} failed`,
  });
  if (c.baseline.p99Ms > 0) {
    const limit = Math.max(c.baseline.p99Ms * t.maxP99Ratio, c.baseline.p99Ms + t.p99SlackMs);
    metrics.push({ metric: 'p99', value: c.canary.p99Ms, threshold: round(limit), ok: c.canary.p99Ms <= limit, detail: `baseline p99 ${c.baseline.p99Ms} ms` });
  }
  if (c.compared > 0)
    metrics.push({
      metric: 'top10-overlap',
      value: round(c.meanTop10Overlap),
      threshold: t.minTop10Overlap,
      ok: c.meanTop10Overlap >= t.minTop10Overlap,
      detail: `${c.compared} queries compared`,
    });
  return {
    atUnixMs,
    conclusive: c.requests > 0 && c.baseline.errors < c.requests,
    samples: { production: c.requests, canary: c.requests, mirrored: c.compared },
    metrics,
  };
}

/**
 * The metrics a step must have measured conclusively before it may pass: a check skipped for want
 * of samples (say, too few mirrored requests for the overlap) must not let a step pass on the
 * others alone. Ranking: error rate and p99 (when there is a baseline), plus overlap and drift when
 * requests are mirrored; an index canary: all of its checks.
 */
export function requiredMetrics(kind: 'RANKING_MODEL' | 'CATALOG_INDEX', o: { weight: number; mirrorRate: number; hasBaseline: boolean }): string[] {
  if (kind === 'CATALOG_INDEX') return ['probe-errors', 'p99', 'top10-overlap'];
  return ['error-rate', ...(o.weight < 1 || o.hasBaseline ? ['p99'] : []), ...(o.weight < 1 && o.mirrorRate > 0 ? ['top10-overlap', 'score-drift'] : [])];
}

/** Required metrics the step has not measured conclusively yet. */
export function missingMetrics(step: StepAnalysis, required: string[]): string[] {
  const seen = new Set<string>(step.measurements.filter((m) => m.conclusive).flatMap((m) => m.metrics.map((x) => x.metric)));
  return required.filter((r) => !seen.has(r));
}

/**
 * Add a measurement to the step's analysis. A conclusive measurement counts each failed metric;
 * a metric failing more than `failureLimit` times fails the step. Returns the failing metric.
 */
export function addMeasurement(step: StepAnalysis, m: Measurement, failureLimit: number): string | undefined {
  step.measurements.push(m);
  if (!m.conclusive) return undefined;
  for (const x of m.metrics) if (!x.ok) step.failures[x.metric] = (step.failures[x.metric] ?? 0) + 1;
  return Object.entries(step.failures).find(([, n]) => n > failureLimit)?.[0];
}

/** Why a metric failed, for the memo and the result: "p99 failed 2× (last: canary p99 250 ms vs production 40 ms)". */
export function failureReason(step: StepAnalysis, metric: string): string {
  const last = [...step.measurements].reverse().find((m) => m.metrics.some((x) => x.metric === metric && !x.ok));
  const x = last?.metrics.find((y) => y.metric === metric);
  return `${metric} failed ${step.failures[metric]}× at ${Math.round(step.weight * 100)}% (last: ${x?.value} vs threshold ${x?.threshold}${x?.detail ? `; ${x.detail}` : ''})`;
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;
