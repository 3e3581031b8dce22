/**
 * NDCG@k with graded gains (WANDS: 2 Exact, 1 Partial, 0 Irrelevant; unjudged items count 0).
 * The ideal ranking is built from every judged item of the query.
 */
export function ndcgAt(k: number, rankedIds: string[], grades: Record<string, number>): number {
  const dcg = (gains: number[]) => gains.slice(0, k).reduce((s, g, i) => s + (2 ** g - 1) / Math.log2(i + 2), 0);
  const ideal = dcg(Object.values(grades).sort((a, b) => b - a));
  if (ideal === 0) return 0;
  return dcg(rankedIds.map((id) => grades[id] ?? 0)) / ideal;
}

/** p-th percentile (0..100) of samples, nearest-rank. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
