// When and why a rollout judged its candidate bad, read from its live status or its result: the
// quality gate's refusal (the end of the 'quality gate' step) or the first failed canary analysis.
// Pure (workflow-safe); the drill-worker reads it for the bad-model-rollout drill's detection.
import type { RolloutResult, RolloutStatus } from './messages';

export interface RolloutVerdict {
  /** The candidate was judged bad (gate refused or an analysis failed). */
  failed: boolean;
  /** When (the rollout workflow's clock). */
  atUnixMs?: number;
  /** What judged it: `quality-gate` or `canary-analysis`. */
  by?: 'quality-gate' | 'canary-analysis';
  detail?: string;
}

export function rolloutVerdict(s: Pick<RolloutStatus | RolloutResult, 'quality' | 'analyses' | 'timeline'>): RolloutVerdict {
  if (s.quality && !s.quality.skipped && !s.quality.passed) {
    const step = [...s.timeline].reverse().find((t) => t.step === 'quality gate' && t.state === 'completed');
    return {
      failed: true,
      by: 'quality-gate',
      // A completed entry is stamped when the step ended.
      atUnixMs: step?.atUnixMs,
      detail: `${s.quality.metric} ${s.quality.candidate} < production ${s.quality.production} − ${s.quality.tolerance}`,
    };
  }
  const a = s.analyses.find((x) => x.outcome === 'failed');
  if (a) {
    const failures = Object.entries(a.failures)
      .filter(([, n]) => n > 0)
      .map(([m, n]) => `${m} ×${n}`)
      .join(', ');
    return { failed: true, by: 'canary-analysis', atUnixMs: a.endedAtUnixMs, detail: `step ${a.step + 1} at ${a.weight * 100}%: ${a.reason ?? failures}` };
  }
  return { failed: false };
}
