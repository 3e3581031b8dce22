import type { Hit } from '@ranksafe/ranking-core';

export type FusionMethod = 'rrf' | 'weighted';

export interface FusionOptions {
  method: FusionMethod;
  /** Reciprocal rank fusion constant (score = Σ 1 / (k + rank)). */
  rrfK: number;
  /** Share of the dense list in the fused score (0..1); BM25 gets the rest. */
  denseWeight: number;
}

export const DEFAULT_FUSION: FusionOptions = { method: 'rrf', rrfK: 60, denseWeight: 0.5 };

export interface FusedHit {
  doc: number;
  bm25: number;
  dense: number;
  fused: number;
}

/**
 * Merge a BM25 list and a dense list into one ranking. `rrf`: weighted reciprocal rank fusion
 * (robust to incomparable score scales). `weighted`: min-max normalise each list's scores and
 * blend them; a document missing from a list gets 0 for that list.
 */
export function fuse(bm25: Hit[], dense: Hit[], topN: number, opts: FusionOptions = DEFAULT_FUSION): FusedHit[] {
  const w = Math.min(1, Math.max(0, opts.denseWeight));
  const byDoc = new Map<number, FusedHit>();
  const get = (doc: number) => {
    let h = byDoc.get(doc);
    if (!h) byDoc.set(doc, (h = { doc, bm25: 0, dense: 0, fused: 0 }));
    return h;
  };
  const contribution = (list: Hit[]) => {
    if (opts.method === 'rrf') return (_: Hit, rank: number) => 1 / (opts.rrfK + rank + 1);
    let lo = Infinity;
    let hi = -Infinity;
    for (const h of list) {
      lo = Math.min(lo, h.score);
      hi = Math.max(hi, h.score);
    }
    return (h: Hit) => (hi > lo ? (h.score - lo) / (hi - lo) : 1);
  };
  const b = contribution(bm25);
  bm25.forEach((h, r) => {
    const f = get(h.doc);
    f.bm25 = h.score;
    f.fused += (1 - w) * b(h, r);
  });
  const d = contribution(dense);
  dense.forEach((h, r) => {
    const f = get(h.doc);
    f.dense = h.score;
    f.fused += w * d(h, r);
  });
  return [...byDoc.values()].sort((x, y) => y.fused - x.fused || x.doc - y.doc).slice(0, topN);
}
