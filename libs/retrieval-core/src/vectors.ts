import { Index } from 'usearch';
import { TopK, type Hit } from '@ranksafe/ranking-core';

export interface HnswParams {
  /** Graph degree (M). */
  connectivity: number;
  /** Candidate list size while building (efConstruction). */
  expansionAdd: number;
  /** Candidate list size while searching (ef); raised to k when k is larger. */
  expansionSearch: number;
}

/**
 * On the 100k demo catalog (384-dim MiniLM), M=16/efC=128 reached recall@10 0.85–0.90; M=32 with
 * efC=256 reaches 0.97 at ef=256 (tools/bench/retrieval.ts), at twice the build time.
 */
export const DEFAULT_HNSW: HnswParams = { connectivity: 32, expansionAdd: 256, expansionSearch: 256 };

/**
 * Row-major matrix of L2-normalised vectors (one row per catalog product) with exact (brute
 * force) and approximate (HNSW, usearch) inner-product search. Keys in the HNSW graph are row
 * numbers.
 */
export class VectorIndex {
  private constructor(
    readonly vectors: Float32Array,
    readonly dims: number,
    private readonly hnsw: Index,
    private readonly expansionSearch: number,
  ) {}

  get size(): number {
    return this.vectors.length / this.dims;
  }

  row(i: number): Float32Array {
    return this.vectors.subarray(i * this.dims, (i + 1) * this.dims);
  }

  /** Build the HNSW graph over `vectors` (rows of `dims`), using `threads` (0 = all cores). */
  static build(vectors: Float32Array, dims: number, params: HnswParams = DEFAULT_HNSW, threads = 0): VectorIndex {
    const n = vectors.length / dims;
    if (!Number.isInteger(n)) throw new Error(`vector buffer of ${vectors.length} floats is not a whole number of ${dims}-dim rows`);
    const hnsw = newIndex(dims, params);
    if (n > 0) {
      const keys = new BigUint64Array(n);
      for (let i = 0; i < n; i++) keys[i] = BigInt(i);
      hnsw.add(keys, vectors, threads);
    }
    return new VectorIndex(vectors, dims, hnsw, params.expansionSearch);
  }

  /** Open a graph saved by save() over the same vectors. */
  static open(vectors: Float32Array, dims: number, graphFile: string, params: HnswParams = DEFAULT_HNSW): VectorIndex {
    const hnsw = newIndex(dims, params);
    hnsw.load(graphFile);
    const n = vectors.length / dims;
    if (hnsw.size() !== n) throw new Error(`${graphFile} holds ${hnsw.size()} vectors but the embeddings hold ${n}`);
    return new VectorIndex(vectors, dims, hnsw, params.expansionSearch);
  }

  save(graphFile: string): void {
    this.hnsw.save(graphFile);
  }

  /** Inner product of `query` with row `row`. */
  score(query: Float32Array, row: number): number {
    const off = row * this.dims;
    let s = 0;
    for (let x = 0; x < this.dims; x++) s += query[x]! * this.vectors[off + x]!;
    return s;
  }

  /** Approximate top k by inner product (HNSW), exploring max(k, expansionSearch) candidates. */
  searchApprox(query: Float32Array, k: number): Hit[] {
    if (this.size === 0 || k <= 0) return [];
    k = Math.min(k, this.size);
    // usearch explores max(k, the expansion it was constructed with); asking for more results is
    // how a wider search is requested per call.
    const want = Math.max(k, this.expansionSearch);
    const res = this.hnsw.search(query, Math.min(want, this.size), 1);
    const out: Hit[] = [];
    for (let i = 0; i < res.keys.length && out.length < want; i++) {
      out.push({ doc: Number(res.keys[i]!), score: 1 - res.distances[i]! });
    }
    return out.slice(0, k);
  }

  /** Exact top k by inner product over every row, or over `rows` only when given. */
  searchExact(query: Float32Array, k: number, rows?: ArrayLike<number>): Hit[] {
    const d = this.dims;
    const v = this.vectors;
    const heap = new TopK(k);
    const n = rows ? rows.length : this.size;
    for (let j = 0; j < n; j++) {
      const r = rows ? rows[j]! : j;
      let s = 0;
      const off = r * d;
      for (let x = 0; x < d; x++) s += query[x]! * v[off + x]!;
      heap.offer(r, s);
    }
    return heap.sorted();
  }

  /** Weighted mean of rows, L2-normalised: a profile vector from items a user interacted with. */
  meanOf(rows: Array<{ row: number; weight: number }>): Float32Array | undefined {
    if (rows.length === 0) return undefined;
    const out = new Float32Array(this.dims);
    for (const { row, weight } of rows) {
      const off = row * this.dims;
      for (let x = 0; x < this.dims; x++) out[x]! += weight * this.vectors[off + x]!;
    }
    let norm = 0;
    for (let x = 0; x < this.dims; x++) norm += out[x]! * out[x]!;
    norm = Math.sqrt(norm);
    if (!norm) return undefined;
    for (let x = 0; x < this.dims; x++) out[x]! /= norm;
    return out;
  }
}

function newIndex(dims: number, p: HnswParams): Index {
  return new Index({
    dimensions: dims,
    metric: 'ip' as never,
    quantization: 'f32' as never,
    connectivity: p.connectivity,
    expansion_add: p.expansionAdd,
    expansion_search: p.expansionSearch,
    multi: false,
  });
}
