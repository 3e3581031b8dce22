// The resilience score on hand-computed cases (the curves and weights are the table in score.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveDrillSpec } from './catalog';
import type { DrillFigures, PhaseFigures } from './result';
import { resilienceScore, scoreTrend, shareCurve, speedCurve } from './score';

const phase = (p99Ms: number, over: Partial<PhaseFigures> = {}): PhaseFigures => ({
  requests: 100,
  ok: 100,
  failed: 0,
  degraded: 0,
  p50Ms: p99Ms / 2,
  p99Ms,
  ...over,
});

function figures(over: Partial<DrillFigures> = {}): DrillFigures {
  return {
    mttdMs: 1000,
    rtoMs: 5000,
    requests: 300,
    failed: 0,
    failedShare: 0,
    degraded: 0,
    degradedShare: 0,
    byStatus: { OK: 300 },
    before: phase(10),
    during: phase(10),
    after: phase(10),
    ...over,
  };
}

// ranking-replica-kill: mttd target 3 s, rto target 15 s, no failure tolerated, abort at 5% failed, 5% degraded tolerated.
// A tight p99 ceiling (20 ms), so the latency target is 2× the 10 ms before in these hand computations.
const kill = resolveDrillSpec({ scenario: 'ranking-replica-kill', steadyState: { maxP99Ms: 20 } });
const part = (s: ReturnType<typeof resilienceScore>, name: string) => s.parts.find((p) => p.name === name);
const weightSum = (s: ReturnType<typeof resilienceScore>) => s.parts.reduce((a, p) => a + p.weight, 0);

describe('speedCurve and shareCurve', () => {
  it('speed: 1 up to half the target, 0.5 at it, 0.2 at 1.5×, 0.1 at 2×, 1/26 at 3×', () => {
    expect(speedCurve(0)).toBe(1);
    expect(speedCurve(0.5)).toBe(1);
    expect(speedCurve(0.75)).toBeCloseTo(0.8, 10);
    expect(speedCurve(1)).toBe(0.5);
    expect(speedCurve(1.5)).toBeCloseTo(0.2, 10);
    expect(speedCurve(2)).toBeCloseTo(0.1, 10);
    expect(speedCurve(3)).toBeCloseTo(1 / 26, 10);
    expect(speedCurve(Infinity)).toBe(0);
  });

  it('speed falls monotonically and smoothly (no jump at half the target)', () => {
    let prev = speedCurve(0);
    for (let r = 0.01; r < 5; r += 0.01) {
      const v = speedCurve(r);
      expect(v).toBeLessThanOrEqual(prev);
      expect(prev - v).toBeLessThan(0.02);
      prev = v;
    }
  });

  it('share: 1 at none, 0.5 at the target, 0 at the limit; with a target of 0 a failure costs half at once', () => {
    expect(shareCurve(0, 0.05, 1)).toBe(1);
    expect(shareCurve(0.025, 0.05, 1)).toBe(0.75);
    expect(shareCurve(0.05, 0.05, 1)).toBe(0.5);
    expect(shareCurve(0.525, 0.05, 1)).toBeCloseTo(0.25, 10);
    expect(shareCurve(1, 0.05, 1)).toBe(0);
    expect(shareCurve(0.01, 0, 0.05)).toBeCloseTo(0.4, 10);
    expect(shareCurve(0.06, 0, 0.05)).toBe(0);
    expect(shareCurve(0.02, 0.01, 0.01)).toBe(0);
  });
});

describe('resilienceScore', () => {
  it('a pass exactly at every target scores 60: half the points for speed, degradation and latency, all for no failure', () => {
    // 100 × (0.25·0.5 + 0.35·0.5 + 0.2·1 + 0.1·0.5 + 0.1·0.5) = 60
    const s = resilienceScore({
      outcome: 'passed',
      spec: kill,
      figures: figures({ mttdMs: 3000, rtoMs: 15_000, degraded: 15, degradedShare: 0.05, during: phase(20) }),
    });
    expect(s.value).toBe(60);
    expect(s.parts.map((p) => [p.name, p.weight, p.value])).toEqual([
      ['detection', 0.25, 0.5],
      ['recovery', 0.35, 0.5],
      ['client impact', 0.2, 1],
      ['degradation', 0.1, 0.5],
      ['latency', 0.1, 0.5],
    ]);
    expect(part(s, 'detection')!.detail).toBe('Detected in 3 s (target 3 s).');
    expect(part(s, 'recovery')!.detail).toBe('Steady state restored in 15 s (target 15 s).');
    expect(part(s, 'client impact')!.detail).toBe('0% of 300 requests failed (pass at most 0%, abort at 5%).');
    expect(part(s, 'degradation')!.detail).toBe('5% of requests answered degraded (steady state tolerates 5%).');
    expect(part(s, 'latency')!.detail).toContain('p99 20 ms during the fault against 10 ms before (×2');
  });

  it('a faster run scores higher: 90, and a slower one lower: 39.5', () => {
    // mttd 1.5 s (½ target → 1), rto 11.25 s (0.75 → 0.8), degraded 1% (→ 0.9), p99 ×1.5 (0.75 → 0.8):
    // 100 × (0.25 + 0.35·0.8 + 0.2 + 0.1·0.9 + 0.1·0.8) = 90
    const fast = resilienceScore({
      outcome: 'passed',
      spec: kill,
      figures: figures({ mttdMs: 1500, rtoMs: 11_250, degraded: 3, degradedShare: 0.01, during: phase(15) }),
    });
    expect(fast.value).toBe(90);
    // mttd 6 s (2× → 0.1), rto 22.5 s (1.5× → 0.2), the rest as at the targets:
    // 100 × (0.25·0.1 + 0.35·0.2 + 0.2 + 0.1·0.5 + 0.1·0.5) = 39.5
    const slow = resilienceScore({
      outcome: 'passed',
      spec: kill,
      figures: figures({ mttdMs: 6000, rtoMs: 22_500, degraded: 15, degradedShare: 0.05, during: phase(20) }),
    });
    expect(slow.value).toBe(39.5);
    expect(fast.value).toBeGreaterThan(60);
    expect(slow.value).toBeLessThan(60);
  });

  it('judges latency against the steady-state ceiling when that is looser than 2× before', () => {
    // p99 10 ms → 180 ms: ×18 the baseline, but well under the 1500 ms ceiling the hypothesis promises → 1
    const loose = resolveDrillSpec({ scenario: 'ranking-replica-kill' });
    const s = resilienceScore({ outcome: 'passed', spec: loose, figures: figures({ mttdMs: 800, rtoMs: 6000, during: phase(180) }) });
    expect(part(s, 'latency')!.value).toBe(1);
    expect(part(s, 'latency')!.detail).toContain('target 1.5 s');
    // 3000 ms: 2× the ceiling → 0.1
    const slow = resilienceScore({ outcome: 'passed', spec: loose, figures: figures({ mttdMs: 800, rtoMs: 6000, during: phase(3000) }) });
    expect(part(slow, 'latency')!.value).toBeCloseTo(0.1, 4);
  });

  it('100 for a pass well under every target with nothing failed, nothing degraded, latency unchanged', () => {
    const s = resilienceScore({ outcome: 'passed', spec: kill, figures: figures({ mttdMs: 800, rtoMs: 6000 }) });
    expect(s.value).toBe(100);
    expect(s.parts.every((p) => p.value === 1)).toBe(true);
  });

  it('a failed or aborted run scores 0, whatever its figures', () => {
    for (const outcome of ['failed', 'aborted'] as const) {
      const s = resilienceScore({ outcome, spec: kill, figures: figures({ mttdMs: 500, rtoMs: 2000 }) });
      expect(s.value).toBe(0);
      expect(s.parts).toEqual([{ name: 'outcome', weight: 1, value: 0, detail: expect.stringContaining(outcome === 'failed' ? 'failed' : 'aborted') }]);
    }
  });

  it('a dry run scores 0 with a part saying so', () => {
    const s = resilienceScore({ outcome: 'dry-run', spec: { ...kill, dryRun: true }, figures: figures({ mttdMs: undefined, rtoMs: undefined, requests: 0 }) });
    expect(s.value).toBe(0);
    expect(s.parts).toHaveLength(1);
    expect(s.parts[0]).toMatchObject({ name: 'dry run', value: 0 });
    expect(s.parts[0]!.detail).toMatch(/dry run/i);
  });

  it('leaves out a missing part and renormalises the weights (a fault that clears itself: no detection)', () => {
    const spec = resolveDrillSpec({ scenario: 'ranking-replica-latency', steadyState: { maxP99Ms: 20 }, expect: { recovery: 'fault-cleared' } });
    // rto 10 s of 20 s (½ → 1), 0.5% failed of 1% (→ 0.75), 2.5% degraded of 5% (→ 0.75), p99 ×3 (1.5 → 0.2);
    // without detection the weights sum to 0.75: (0.35·1 + 0.2·0.75 + 0.1·0.75 + 0.1·0.2) / 0.75 = 0.79333…
    const s = resilienceScore({
      outcome: 'passed',
      spec,
      figures: figures({ mttdMs: undefined, rtoMs: 10_000, failed: 1, failedShare: 0.005, degraded: 5, degradedShare: 0.025, during: phase(30) }),
    });
    expect(s.value).toBe(79.3);
    expect(part(s, 'detection')).toBeUndefined();
    expect(s.parts.map((p) => p.name)).toEqual(['recovery', 'client impact', 'degradation', 'latency']);
    expect(part(s, 'recovery')!.weight).toBeCloseTo(0.35 / 0.75, 4);
    expect(part(s, 'latency')!.weight).toBeCloseTo(0.1 / 0.75, 4);
    expect(weightSum(s)).toBeCloseTo(1, 3);
  });

  it('without requests or answered requests only the speed parts count', () => {
    // mttd at the target (0.5), rto ½ (1): (0.25·0.5 + 0.35·1) / 0.6 = 0.79166…
    const s = resilienceScore({
      outcome: 'passed',
      spec: kill,
      figures: figures({ mttdMs: 3000, rtoMs: 7500, requests: 0, byStatus: {}, before: phase(0, { requests: 0, ok: 0 }) }),
    });
    expect(s.parts.map((p) => p.name)).toEqual(['detection', 'recovery']);
    expect(s.value).toBe(79.2);
    expect(weightSum(s)).toBeCloseTo(1, 3);
  });

  it('a pass with nothing measured scores 100 with a part saying why', () => {
    const s = resilienceScore({
      outcome: 'passed',
      spec: kill,
      figures: figures({ mttdMs: undefined, rtoMs: undefined, requests: 0, before: phase(0, { ok: 0 }), during: phase(0, { ok: 0 }) }),
    });
    expect(s).toEqual({ value: 100, parts: [expect.objectContaining({ name: 'outcome', weight: 1, value: 1 })] });
  });

  it('a failure past a target of none costs points on a pass (0.2 × 0.4 instead of 0.2 × 1)', () => {
    const s = resilienceScore({ outcome: 'passed', spec: kill, figures: figures({ mttdMs: 800, rtoMs: 6000, failed: 3, failedShare: 0.01 }) });
    expect(part(s, 'client impact')!.value).toBe(0.4);
    expect(s.value).toBe(88);
  });

  it('a target of 0 gives full points to a figure of 0 only', () => {
    const spec = resolveDrillSpec({ scenario: 'ranking-replica-kill', expect: { mttdTargetMs: 0 } });
    expect(part(resilienceScore({ outcome: 'passed', spec, figures: figures({ mttdMs: 0 }) }), 'detection')!.value).toBe(1);
    expect(part(resilienceScore({ outcome: 'passed', spec, figures: figures({ mttdMs: 1 }) }), 'detection')!.value).toBe(0);
  });

  it('is deterministic and workflow-safe (no clock, no randomness, no node: import)', () => {
    const input = { outcome: 'passed' as const, spec: kill, figures: figures({ mttdMs: 2000, rtoMs: 9000, degradedShare: 0.02 }) };
    expect(resilienceScore(input)).toEqual(resilienceScore(input));
    for (const file of ['score.ts', 'format.ts']) {
      const src = fs.readFileSync(path.join(__dirname, file), 'utf8');
      expect(src).not.toMatch(/Date\.now|new Date|Math\.random|performance\.|from 'node:|require\(/);
    }
  });
});

describe('scoreTrend', () => {
  it('orders runs by time: last, mean, best, worst, and last against the mean of the 5 before it', () => {
    const values = [40, 50, 60, 70, 80, 90, 65];
    const scores = values.map((value, i) => ({ atUnixMs: 1000 * (i + 1), value })).reverse();
    // mean 455 / 7 = 65; the 5 before the last: 50 … 90, mean 70; delta 65 − 70 = −5
    expect(scoreTrend(scores)).toEqual({ runs: 7, last: 65, mean: 65, best: 90, worst: 40, delta: -5 });
  });

  it('with fewer than 5 before, the mean of those there are', () => {
    // previous 80, 70 → 75; 90 − 75 = 15; mean 240 / 3 = 80
    expect(
      scoreTrend([
        { atUnixMs: 3, value: 90 },
        { atUnixMs: 1, value: 80 },
        { atUnixMs: 2, value: 70 },
      ]),
    ).toEqual({
      runs: 3,
      last: 90,
      mean: 80,
      best: 90,
      worst: 70,
      delta: 15,
    });
  });

  it('one run has no delta; no run, no figure', () => {
    expect(scoreTrend([{ atUnixMs: 5, value: 42.5 }])).toEqual({ runs: 1, last: 42.5, mean: 42.5, best: 42.5, worst: 42.5, delta: null });
    expect(scoreTrend([])).toEqual({ runs: 0, last: null, mean: null, best: null, worst: null, delta: null });
  });

  it('does not reorder its input', () => {
    const scores = [
      { atUnixMs: 2, value: 1 },
      { atUnixMs: 1, value: 2 },
    ];
    scoreTrend(scores);
    expect(scores.map((s) => s.atUnixMs)).toEqual([2, 1]);
  });
});
