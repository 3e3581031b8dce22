// The canary analysis as pure functions: the input schema's defaults and problems, one
// measurement from gateway counters, failureLimit, and inconclusive samples.
import type { AnalysisSummary } from '@ranksafe/activities';
import { addMeasurement, measureIndexCanary, measureRankingCanary, parseRolloutInput, type Thresholds } from './analysis';
import type { StepAnalysis } from './messages';

const parsed = parseRolloutInput({ model: 'minilm-l6-v2', version: 'fp32-abc' });
if (!parsed.ok) throw new Error('defaults must parse');
const T: Thresholds = parsed.value.strategy.analysis;

const counters = (
  o: { prod?: number; canary?: number; canaryErrors?: number; canaryP99?: number; prodP99?: number; mirrored?: number } = {},
): AnalysisSummary => ({
  epochs: {},
  sinceUnixMs: 0,
  nowUnixMs: 1,
  production: { requests: o.prod ?? 300, errors: 0, p99Ms: o.prodP99 ?? 20, versions: [] },
  canary: { requests: o.canary ?? 60, errors: o.canaryErrors ?? 0, p99Ms: o.canaryP99 ?? 22, versions: [] },
  mirror: { requests: o.mirrored ?? 40, errors: 0, p99Ms: 22, versions: [] },
  mirrorCompared: o.mirrored ?? 40,
  meanTop10Overlap: 0.8,
  minTop10Overlap: 0.5,
  meanScoreDrift: 0.04,
  maxScoreDrift: 0.2,
  resetGateways: [],
});

describe('parseRolloutInput', () => {
  it('fills in the documented defaults', () => {
    expect(parsed.ok && parsed.value).toMatchObject({
      kind: 'RANKING_MODEL',
      steps: [{ weight: 0.1 }, { weight: 0.5 }, { weight: 1 }],
      strategy: {
        mirrorRate: 0.25,
        snapshot: true,
        qualityGate: { tolerance: 0.02, skip: false, maxQueries: 60 },
        analysis: { failureLimit: 1, windowMs: 30_000 },
      },
    });
  });
  it('names every problem', () => {
    const r = parseRolloutInput({ model: 'm', version: 'v', kind: 'BLOB', strategy: { steps: [{ weight: 1.5 }], analysis: { failureLimit: -1 } } });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems.join('\n')).toMatch(/kind: .*\n.*steps.0.weight: weight must be ≤ 1\n.*analysis.failureLimit/);
  });
});

describe('measureRankingCanary', () => {
  const ctx = { weight: 0.1, gateways: 1 };
  it('passes a healthy canary on every metric', () => {
    const m = measureRankingCanary(counters(), T, ctx);
    expect(m.conclusive).toBe(true);
    expect(m.metrics.map((x) => [x.metric, x.ok])).toEqual([
      ['error-rate', true],
      ['p99', true],
      ['top10-overlap', true],
      ['score-drift', true],
    ]);
  });
  it('counts mirror errors as canary errors and compares p99 with production plus slack', () => {
    const m = measureRankingCanary(counters({ canaryErrors: 5, canaryP99: 100 }), T, ctx);
    expect(m.metrics.find((x) => x.metric === 'error-rate')).toMatchObject({ ok: false, value: 0.05 });
    expect(m.metrics.find((x) => x.metric === 'p99')).toMatchObject({ ok: false, threshold: 45 });
  });
  it('is inconclusive below the minimum sample count, and at 100% judges p99 against the last production baseline', () => {
    expect(measureRankingCanary(counters({ canary: 5, mirrored: 5 }), T, ctx).conclusive).toBe(false);
    expect(measureRankingCanary(counters({ prod: 5 }), T, ctx).conclusive).toBe(false);
    const full = measureRankingCanary(counters({ prod: 0, canary: 400, mirrored: 0, canaryP99: 90 }), T, { weight: 1, gateways: 1, baselineP99Ms: 30 });
    expect(full.conclusive).toBe(true);
    expect(full.metrics.find((x) => x.metric === 'p99')).toMatchObject({ ok: false, threshold: 60 });
    expect(full.metrics.map((x) => x.metric)).not.toContain('top10-overlap');
  });
  it('is inconclusive while a gateway does not route the canary yet', () => {
    expect(measureRankingCanary({ ...counters(), routedBy: 0 } as AnalysisSummary, T, ctx).conclusive).toBe(false);
  });
});

describe('addMeasurement', () => {
  it('fails a step once one metric failed more than failureLimit times; inconclusive ones do not count', () => {
    const step: StepAnalysis = { step: 1, weight: 0.1, startedAtUnixMs: 0, failures: {}, measurements: [] };
    const bad = measureRankingCanary(counters({ canaryErrors: 9 }), T, { weight: 0.1, gateways: 1 });
    const thin = { ...bad, conclusive: false };
    expect(addMeasurement(step, bad, 1)).toBeUndefined();
    expect(addMeasurement(step, thin, 1)).toBeUndefined();
    expect(addMeasurement(step, bad, 1)).toBe('error-rate');
    expect(step.failures).toEqual({ 'error-rate': 2 });
  });
  it('judges an index canary on probe errors, p99 and overlap', () => {
    const m = measureIndexCanary(
      { requests: 30, canary: { errors: 3, p99Ms: 10 }, baseline: { errors: 0, p99Ms: 8 }, compared: 27, meanTop10Overlap: 0.3 },
      T,
      5,
    );
    expect(m.metrics.map((x) => [x.metric, x.ok])).toEqual([
      ['probe-errors', false],
      ['p99', true],
      ['top10-overlap', false],
    ]);
  });
});
