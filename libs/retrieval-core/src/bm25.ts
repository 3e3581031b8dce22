import { analyze } from './text';
import { TopK, type Hit } from '@ranksafe/ranking-core';

export interface Bm25Doc {
  id: string;
  /** Text of each field, e.g. { title, description, category, brand }. */
  fields: Record<string, string>;
}

export interface Bm25Options {
  /** Weight of each field's term frequencies (BM25F-style); fields not listed are ignored. */
  fieldWeights: Record<string, number>;
  k1?: number;
  b?: number;
}

interface Posting {
  docs: Int32Array;
  tfs: Float32Array;
}

/**
 * An in-memory BM25 index (field-weighted term frequencies, one length normalisation). Postings
 * are packed typed arrays; a query touches only the postings of its terms and keeps the top k in
 * a small heap.
 */
export class Bm25Index {
  private postings = new Map<string, Posting>();
  private docLen: Float32Array;
  private avgDocLen: number;
  readonly size: number;
  private readonly k1: number;
  private readonly b: number;

  constructor(docs: Bm25Doc[], opts: Bm25Options) {
    this.k1 = opts.k1 ?? 1.2;
    this.b = opts.b ?? 0.75;
    this.size = docs.length;
    this.docLen = new Float32Array(docs.length);
    const build = new Map<string, { docs: number[]; tfs: number[] }>();
    docs.forEach((d, i) => {
      const tf = new Map<string, number>();
      let len = 0;
      for (const [field, w] of Object.entries(opts.fieldWeights)) {
        const text = d.fields[field];
        if (!text || w <= 0) continue;
        for (const t of analyze(text)) {
          tf.set(t, (tf.get(t) ?? 0) + w);
          len += w;
        }
      }
      this.docLen[i] = len;
      for (const [t, f] of tf) {
        let p = build.get(t);
        if (!p) build.set(t, (p = { docs: [], tfs: [] }));
        p.docs.push(i);
        p.tfs.push(f);
      }
    });
    let total = 0;
    for (const l of this.docLen) total += l;
    this.avgDocLen = docs.length ? total / docs.length || 1 : 1;
    for (const [t, p] of build) this.postings.set(t, { docs: Int32Array.from(p.docs), tfs: Float32Array.from(p.tfs) });
  }

  get vocabularySize(): number {
    return this.postings.size;
  }

  private idf(df: number): number {
    return Math.log(1 + (this.size - df + 0.5) / (df + 0.5));
  }

  /** The k best documents for `query`; `accept(doc)` filters (e.g. category, price range). */
  search(query: string, k: number, accept?: (doc: number) => boolean): Hit[] {
    const terms = [...new Set(analyze(query))];
    if (terms.length === 0 || k <= 0) return [];
    const scores = new Map<number, number>();
    for (const t of terms) {
      const p = this.postings.get(t);
      if (!p) continue;
      const idf = this.idf(p.docs.length);
      for (let j = 0; j < p.docs.length; j++) {
        const d = p.docs[j]!;
        const tf = p.tfs[j]!;
        const norm = tf + this.k1 * (1 - this.b + (this.b * this.docLen[d]!) / this.avgDocLen);
        scores.set(d, (scores.get(d) ?? 0) + (idf * (tf * (this.k1 + 1))) / norm);
      }
    }
    return topK(scores, k, accept);
  }
}

/** Top k of a score map (ties broken by lower doc index), with an optional filter. */
export function topK(scores: Map<number, number>, k: number, accept?: (doc: number) => boolean): Hit[] {
  const heap = new TopK(k);
  for (const [doc, score] of scores) if (!accept || accept(doc)) heap.offer(doc, score);
  return heap.sorted();
}
