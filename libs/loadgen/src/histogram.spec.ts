import { Histogram } from './histogram';

describe('Histogram', () => {
  it('answers nearest-rank percentiles within its relative accuracy (1..100 ms by hand)', () => {
    const h = new Histogram(0.01);
    for (let v = 1; v <= 100; v++) h.record(v);
    // Nearest rank over 100 samples: p50 is the 50th smallest (50), p90 the 90th, p99 the 99th.
    const close = (got: number, want: number) => expect(Math.abs(got - want) / want).toBeLessThanOrEqual(0.01);
    close(h.percentile(50), 50);
    close(h.percentile(90), 90);
    close(h.percentile(99), 99);
    expect(h.percentile(100)).toBe(100);
    expect(h.summary()).toMatchObject({ count: 100, mean: 50.5, min: 1, max: 100 });
  });

  it('keeps a tail apart from the body (98 × 10 ms, 2 × 1000 ms)', () => {
    const h = new Histogram();
    h.record(10, 98);
    h.record(1000, 2);
    // rank(p50) = 50 and rank(p90) = 90 fall among the 10 ms samples, rank(p99) = 99 on a 1000 ms one.
    expect(h.percentile(50)).toBeCloseTo(10, 0);
    expect(h.percentile(90)).toBeCloseTo(10, 0);
    expect(h.percentile(99)).toBe(1000); // clamped to the exact max
    expect(h.percentile(99) / h.percentile(50)).toBeGreaterThan(90);
  });

  it('merges into the same answer as one histogram of every sample, and survives JSON', () => {
    const a = new Histogram();
    const b = new Histogram();
    const all = new Histogram();
    for (let i = 0; i < 500; i++) {
      const v = 0.5 + ((i * 37) % 211) * 1.7;
      (i % 2 ? a : b).record(v);
      all.record(v);
    }
    a.merge(b);
    for (const p of [1, 25, 50, 90, 99, 99.9]) expect(a.percentile(p)).toBe(all.percentile(p));
    const { mean, ...rest } = all.summary();
    expect(a.summary()).toEqual({ ...rest, mean: expect.closeTo(mean, 9) });
    const back = Histogram.fromJSON(JSON.parse(JSON.stringify(a)));
    expect(back.summary()).toEqual(a.summary());
    expect(() => a.merge(new Histogram(0.05))).toThrow(RangeError);
  });

  it('counts zero-latency samples and rejects nonsense', () => {
    const h = new Histogram();
    h.record(0, 3);
    h.record(5);
    expect(h.percentile(50)).toBe(0);
    expect(h.percentile(100)).toBe(5);
    expect(new Histogram().percentile(50)).toBeNaN();
    expect(() => h.record(-1)).toThrow(RangeError);
    expect(() => h.record(NaN)).toThrow(RangeError);
  });
});
