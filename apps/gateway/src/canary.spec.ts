import { CanaryAnalyzer, hashFraction, LatencyHistogram, pickVariant, scoreDrift, shouldMirror, topKOverlap } from './canary';

const ranked = (ids: string[], score = (i: number) => 1 - i / 100) => ids.map((id, i) => ({ id, score: score(i), modelScore: score(i) }));

describe('canary routing and analysis', () => {
  it('routes nothing to a canary without a version or with weight 0, everything with weight 1', () => {
    expect(pickVariant({ canaryVersion: '', canaryWeight: 1 }, 'r1')).toBe('production');
    expect(pickVariant({ canaryVersion: 'v2', canaryWeight: 0 }, 'r1')).toBe('production');
    expect(pickVariant({ canaryVersion: 'v2', canaryWeight: 1 }, 'r1')).toBe('canary');
  });

  it('splits by request id stably and in proportion, and by a random draw without one', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `req-${i}`);
    const canary = ids.filter((id) => pickVariant({ canaryVersion: 'v2', canaryWeight: 0.1 }, id) === 'canary').length;
    expect(canary).toBeGreaterThan(800);
    expect(canary).toBeLessThan(1200);
    for (const id of ids.slice(0, 50))
      expect(pickVariant({ canaryVersion: 'v2', canaryWeight: 0.5 }, id)).toBe(pickVariant({ canaryVersion: 'v2', canaryWeight: 0.5 }, id));
    expect(pickVariant({ canaryVersion: 'v2', canaryWeight: 0.5 }, '', () => 0.49)).toBe('canary');
    expect(pickVariant({ canaryVersion: 'v2', canaryWeight: 0.5 }, '', () => 0.5)).toBe('production');
    expect(hashFraction('a')).not.toBe(hashFraction('b'));
    // Ids that differ only in their last characters still spread over both sides.
    for (const prefix of ['missing', 'req', 'split-0.5', 'x']) {
      const half = Array.from({ length: 40 }, (_, i) => `${prefix}-${i}`).filter(
        (id) => pickVariant({ canaryVersion: 'v2', canaryWeight: 0.5 }, id) === 'canary',
      ).length;
      expect(half).toBeGreaterThanOrEqual(10);
      expect(half).toBeLessThanOrEqual(30);
    }
  });

  it('mirrors only with a canary version and a rate above 0', () => {
    expect(shouldMirror({ canaryVersion: '', mirrorRate: 1 })).toBe(false);
    expect(shouldMirror({ canaryVersion: 'v2', mirrorRate: 0 })).toBe(false);
    expect(shouldMirror({ canaryVersion: 'v2', mirrorRate: 1 }, () => 0.999)).toBe(true);
    expect(shouldMirror({ canaryVersion: 'v2', mirrorRate: 0.2 }, () => 0.3)).toBe(false);
  });

  it('measures top-10 overlap and score drift', () => {
    const a = ranked(Array.from({ length: 20 }, (_, i) => `p${i}`));
    expect(topKOverlap(a, a)).toBe(1);
    expect(topKOverlap(a, [...a].reverse())).toBe(0);
    expect(topKOverlap(a, [...a.slice(0, 5), ...a.slice(15), ...a.slice(5, 15)])).toBe(0.5);
    expect(topKOverlap(ranked(['x', 'y']), ranked(['y', 'x']))).toBe(1);
    expect(scoreDrift(a, a)).toBe(0);
    expect(
      scoreDrift(
        ranked(['x', 'y'], () => 0.5),
        ranked(['y', 'x', 'z'], () => 0.7),
      ),
    ).toBeCloseTo(0.2, 10);
  });

  it('reads percentiles from its buckets', () => {
    const h = new LatencyHistogram();
    expect(h.percentile(99)).toBe(0);
    for (let i = 0; i < 98; i++) h.observe(3.5);
    h.observe(45);
    h.observe(9000);
    expect(h.percentile(50)).toBe(4);
    expect(h.percentile(99)).toBe(50);
    expect(h.percentile(100)).toBe(9000);
  });

  it('counts per variant since its epoch, and starts over on reset', () => {
    let now = 1000;
    const a = new CanaryAnalyzer(() => now);
    const first = a.epoch;
    a.record('production', 5, true, 'int8-a');
    a.record('canary', 7, false);
    a.record('canary', 9, true, 'fp32-b');
    a.compare(
      ranked(['x', 'y']),
      ranked(['y', 'x'], () => 0.9),
    );
    const s = a.snapshot(undefined, 'gw');
    const by = Object.fromEntries(s.variants.map((v) => [v.variant, v]));
    expect(by.production).toMatchObject({ requests: 1, errors: 0, versions: ['int8-a'] });
    expect(by.canary).toMatchObject({ requests: 2, errors: 1, versions: ['fp32-b'], p99Ms: 9 });
    expect(s.mirror).toMatchObject({ compared: 1, meanTop10Overlap: 1, minTop10Overlap: 1 });
    expect(s.sinceUnixMs).toBe(1000);
    now = 2000;
    a.reset();
    expect(a.epoch).not.toBe(first);
    const t = a.snapshot(undefined, 'gw');
    expect(t.variants.every((v) => v.requests === 0)).toBe(true);
    expect(t).toMatchObject({ sinceUnixMs: 2000, mirror: { compared: 0 } });
  });
});
