import { ndcgAt, percentile } from './metrics';

describe('ndcgAt', () => {
  const grades = { a: 2, b: 1, c: 0, d: 1 };
  it('is 1 for the ideal order and lower otherwise', () => {
    expect(ndcgAt(10, ['a', 'b', 'd', 'c'], grades)).toBeCloseTo(1, 10);
    expect(ndcgAt(10, ['c', 'd', 'b', 'a'], grades)).toBeLessThan(0.7);
  });
  it('counts unjudged items as irrelevant and cuts at k', () => {
    // Only 'x' in the top 1: no gain.
    expect(ndcgAt(1, ['x', 'a'], grades)).toBe(0);
    // DCG@2 of [b, a] = 1/log2(2) + 3/log2(3); ideal = 3 + 1/log2(3).
    expect(ndcgAt(2, ['b', 'a'], grades)).toBeCloseTo((1 + 3 / Math.log2(3)) / (3 + 1 / Math.log2(3)), 10);
  });
  it('is 0 for a query with no relevant item', () => {
    expect(ndcgAt(10, ['a'], { a: 0 })).toBe(0);
  });
});

describe('percentile', () => {
  it('uses nearest rank', () => {
    const s = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(s, 50)).toBe(50);
    expect(percentile(s, 95)).toBe(95);
    expect(percentile(s, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
  });
});
