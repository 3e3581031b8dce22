// The resilience score: one number per drill run (0 … 100) that rewards how well the system
// recovered against the scenario's targets, not only whether it passed, and its parts, so the
// report can say where points were lost. Pure and deterministic: the drill workflow computes it.
//
// A failed or aborted run scores 0; a dry run scores 0 (nothing was injected). A passed run scores
// 100 × Σ weightᵢ × partᵢ, each part in 0 … 1:
//
//   part          weight  figure                      curve
//   detection     0.25    mttd / expect.mttdTargetMs  speed(r)
//   recovery      0.35    rto / expect.rtoTargetMs    speed(r)
//   client impact 0.20    failedShare                 share(x, expect.maxFailedShare, abort.errorBudget)
//   degradation   0.10    degradedShare               share(x, steadyState.maxDegradedShare, 1)
//   latency       0.10    during p99 / target         speed(p99 / max(2 × before p99, steadyState.maxP99Ms))
//
//   speed(r) = 1 for r ≤ ½, else 1 / (1 + (2r − 1)²): 1 at half the target, 0.5 at the target,
//              0.2 at 1.5×, 0.1 at 2×, 0.038 at 3× (towards 0); smooth (its slope is 0 at r = ½).
//              A target of 0 gives 1 for a figure of 0, else 0.
//   share(x, t, z) = 1 at x = 0, linear down to 0.5 at x = t (the pass target), linear down to 0 at
//              x = z (the abort level; for degradation, every answer degraded), 0 beyond. With t = 0 any
//              failure costs half at once (the target was "none"), then falls linearly to 0 at z.
//   latency: the p99 of answered requests during the fault against twice the p99 before it, or the
//              steady-state p99 ceiling when that is looser (speed curve of p99 / target): 1 when no
//              worse than before, 0.5 at 2×, 0.2 at 3×, 0.1 at 4×.
//
// A part whose figure is missing is left out and the weights of the others renormalised (so the
// weights in `parts` always sum to 1): no mttd (nothing to detect: expect.recovery 'none' or
// 'fault-cleared'), no rto, no requests (no impact nor degradation to judge), no answered requests
// before or during the fault (no latency ratio). A pass with nothing left to judge scores 100.
import { formatMs, formatShare, trim } from './format';
import type { DrillFigures, DrillOutcome, ResilienceScore } from './result';
import type { DrillSpec } from './spec';

export const SCORE_WEIGHTS = { detection: 0.25, recovery: 0.35, 'client impact': 0.2, degradation: 0.1, latency: 0.1 } as const;
export type ScorePartName = keyof typeof SCORE_WEIGHTS;

/** 1 at or under half the target, 0.5 at the target, towards 0 beyond (0.1 at 2×, 0.038 at 3×). `ratio` = figure / target. */
export function speedCurve(ratio: number): number {
  if (!(ratio > 0.5)) return 1;
  if (!Number.isFinite(ratio)) return 0;
  const d = 2 * ratio - 1;
  return 1 / (1 + d * d);
}

/** 1 at 0, 0.5 at the target `t`, 0 at (and past) the limit `z`; linear between. */
export function shareCurve(x: number, t: number, z: number): number {
  if (!(x > 0)) return 1;
  if (x <= t) return 1 - (0.5 * x) / t;
  if (z <= t || x >= z) return 0;
  return (0.5 * (z - x)) / (z - t);
}

function speedOf(figureMs: number, targetMs: number): number {
  if (targetMs <= 0) return figureMs <= 0 ? 1 : 0;
  return speedCurve(figureMs / targetMs);
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

export interface ScoreInput {
  outcome: DrillOutcome;
  spec: DrillSpec;
  figures: DrillFigures;
}

/** The run's resilience score and its parts (see the table at the top of this file). */
export function resilienceScore({ outcome, spec, figures }: ScoreInput): ResilienceScore {
  if (outcome === 'dry-run')
    return { value: 0, parts: [{ name: 'dry run', weight: 1, value: 0, detail: 'Dry run: nothing was injected, so there is no recovery to score.' }] };
  if (outcome !== 'passed')
    return {
      value: 0,
      parts: [{ name: 'outcome', weight: 1, value: 0, detail: `The drill ${outcome === 'aborted' ? 'was aborted' : 'failed'}: only a passed drill scores.` }],
    };

  const parts: Array<{ name: ScorePartName; value: number; detail: string }> = [];
  const { mttdMs, rtoMs } = figures;
  if (mttdMs !== undefined && Number.isFinite(mttdMs))
    parts.push({
      name: 'detection',
      value: speedOf(mttdMs, spec.expect.mttdTargetMs),
      detail: `Detected in ${formatMs(mttdMs)} (target ${formatMs(spec.expect.mttdTargetMs)}).`,
    });
  if (rtoMs !== undefined && Number.isFinite(rtoMs))
    parts.push({
      name: 'recovery',
      value: speedOf(rtoMs, spec.expect.rtoTargetMs),
      detail: `Steady state restored in ${formatMs(rtoMs)} (target ${formatMs(spec.expect.rtoTargetMs)}).`,
    });
  if (figures.requests > 0) {
    parts.push({
      name: 'client impact',
      value: shareCurve(figures.failedShare, spec.expect.maxFailedShare, spec.abort.errorBudget),
      detail:
        `${formatShare(figures.failedShare)} of ${figures.requests} requests failed ` +
        `(pass at most ${formatShare(spec.expect.maxFailedShare)}, abort at ${formatShare(spec.abort.errorBudget)}).`,
    });
    parts.push({
      name: 'degradation',
      value: shareCurve(figures.degradedShare, spec.steadyState.maxDegradedShare, 1),
      detail: `${formatShare(figures.degradedShare)} of requests answered degraded (steady state tolerates ${formatShare(spec.steadyState.maxDegradedShare)}).`,
    });
  }
  const { before, during } = figures;
  if (before.ok > 0 && during.ok > 0 && before.p99Ms > 0) {
    const q = during.p99Ms / before.p99Ms;
    // The target: twice the p99 before, or the hypothesis's own p99 ceiling when that is looser (a
    // 20 ms → 180 ms blip while a replica dies is well inside what clients were promised).
    const targetMs = Math.max(2 * before.p99Ms, spec.steadyState.maxP99Ms);
    parts.push({
      name: 'latency',
      value: speedCurve(during.p99Ms / targetMs),
      detail: `p99 ${formatMs(during.p99Ms)} during the fault against ${formatMs(before.p99Ms)} before (×${trim(q, 2)}); target ${formatMs(targetMs)} (2× before or the steady-state ceiling).`,
    });
  }
  if (parts.length === 0)
    return { value: 100, parts: [{ name: 'outcome', weight: 1, value: 1, detail: 'Passed; no figure was measured to score beyond the pass.' }] };

  const total = parts.reduce((s, p) => s + SCORE_WEIGHTS[p.name], 0);
  const weighted = parts.map((p) => ({ name: p.name, weight: round(SCORE_WEIGHTS[p.name] / total, 4), value: round(p.value, 4), detail: p.detail }));
  const value = parts.reduce((s, p) => s + (SCORE_WEIGHTS[p.name] / total) * p.value, 0);
  return { value: round(100 * value, 1), parts: weighted };
}

export interface ScoreTrend {
  /** How many scored runs. */
  runs: number;
  /** The newest run's score; null when there is none (and so for every figure below). */
  last: number | null;
  mean: number | null;
  best: number | null;
  worst: number | null;
  /** last − the mean of the (up to) 5 runs before it; null with a single run. */
  delta: number | null;
}

/** A scenario's scores over time for `ops drill history` (any order in; runs ordered by time, ties kept in input order). */
export function scoreTrend(scores: ReadonlyArray<{ atUnixMs: number; value: number }>): ScoreTrend {
  const runs = [...scores].sort((a, b) => a.atUnixMs - b.atUnixMs).map((s) => s.value);
  if (runs.length === 0) return { runs: 0, last: null, mean: null, best: null, worst: null, delta: null };
  const last = runs[runs.length - 1]!;
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const previous = runs.slice(Math.max(0, runs.length - 6), -1);
  return {
    runs: runs.length,
    last,
    mean: round(mean(runs), 1),
    best: runs.reduce((a, b) => Math.max(a, b)),
    worst: runs.reduce((a, b) => Math.min(a, b)),
    delta: previous.length ? round(last - mean(previous), 1) : null,
  };
}
