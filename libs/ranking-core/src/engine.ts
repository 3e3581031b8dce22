import { createHash } from 'node:crypto';
import { DynamicBatcher, type BatcherOptions } from './batcher';
import { dot, type BertEncoder } from './encoder';

/** Least-recently-used map with a size bound. */
export class LruCache<V> {
  private map = new Map<string, V>();
  hits = 0;
  misses = 0;
  constructor(readonly capacity: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }
  set(key: string, v: V): void {
    if (this.capacity <= 0) return;
    this.map.delete(key);
    this.map.set(key, v);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }
  get size(): number {
    return this.map.size;
  }
  /** Keys, most recently used first. */
  keysNewestFirst(): string[] {
    return [...this.map.keys()].reverse();
  }
}

export interface Candidate {
  id: string;
  text: string;
  retrievalScore: number;
}

export interface Ranked {
  id: string;
  score: number;
  modelScore: number;
}

export interface EngineOptions {
  batcher: BatcherOptions;
  /** Embeddings kept, keyed by model sha256 and text hash. */
  cacheSize: number;
  /** Weight of the (min-max normalised) retrieval score in the final score; the model gets 1 - w. */
  retrievalWeight: number;
}

const textKey = (modelSha: string, text: string) => `${modelSha.slice(0, 16)}:${createHash('sha1').update(text).digest('base64')}`;

/**
 * Ranking with a bi-encoder: score = (1 - w) * cos(BERT(subject), BERT(candidate text))
 * + w * retrieval score (min-max normalised over the candidates). The subject is a query text,
 * or a user profile: the weighted sum of the embeddings of the items the user interacted with.
 * Embeddings of candidate texts are cached per model version; misses from concurrent requests
 * are computed together by the dynamic batcher.
 */
export class RankingEngine {
  readonly cache: LruCache<Float32Array>;
  readonly batcher: DynamicBatcher<string, Float32Array>;

  constructor(
    readonly encoder: BertEncoder,
    private readonly opts: EngineOptions,
  ) {
    this.cache = new LruCache(opts.cacheSize);
    this.batcher = new DynamicBatcher((texts) => encoder.encode(texts), opts.batcher);
  }

  /** Embeddings of `texts`, from the cache or computed (one batcher submission for all misses). */
  async embed(texts: string[], deadline = Infinity): Promise<Float32Array[]> {
    const out: Array<Float32Array | undefined> = texts.map((t) => this.cache.get(textKey(this.encoder.sha256, t)));
    const missIdx: number[] = [];
    const missTexts: string[] = [];
    const seen = new Map<string, number>();
    out.forEach((v, i) => {
      if (v) return;
      const t = texts[i]!;
      if (!seen.has(t)) {
        seen.set(t, missTexts.length);
        missTexts.push(t);
      }
      missIdx.push(i);
    });
    if (missTexts.length > 0) {
      const computed = await this.batcher.submit(missTexts, deadline);
      computed.forEach((v, j) => this.cache.set(textKey(this.encoder.sha256, missTexts[j]!), v));
      for (const i of missIdx) out[i] = computed[seen.get(texts[i]!)!];
    }
    return out as Float32Array[];
  }

  async rankByQuery(query: string, candidates: Candidate[], deadline = Infinity): Promise<Ranked[]> {
    const [q, ...cands] = await this.embed([query, ...candidates.map((c) => c.text)], deadline);
    return this.score(q!, candidates, cands);
  }

  async rankByProfile(items: Array<{ text: string; weight: number }>, candidates: Candidate[], deadline = Infinity): Promise<Ranked[]> {
    const embs = await this.embed([...items.map((i) => i.text), ...candidates.map((c) => c.text)], deadline);
    const profile = new Float32Array(this.encoder.dims);
    items.forEach((it, i) => {
      const w = it.weight === 0 ? 1 : it.weight;
      const e = embs[i]!;
      for (let k = 0; k < profile.length; k++) profile[k]! += w * e[k]!;
    });
    const norm = Math.sqrt(dot(profile, profile)) || 1;
    for (let k = 0; k < profile.length; k++) profile[k]! /= norm;
    return this.score(profile, candidates, embs.slice(items.length));
  }

  private score(subject: Float32Array, candidates: Candidate[], embs: Float32Array[]): Ranked[] {
    const w = this.opts.retrievalWeight;
    const rs = candidates.map((c) => c.retrievalScore);
    const lo = Math.min(...rs);
    const span = Math.max(...rs) - lo;
    return candidates
      .map((c, i) => {
        const modelScore = dot(subject, embs[i]!);
        const retrieval = span > 0 ? (c.retrievalScore - lo) / span : 0;
        return { id: c.id, modelScore, score: (1 - w) * modelScore + w * retrieval };
      })
      .sort((a, b) => b.score - a.score);
  }

  /**
   * Warm the cache with embeddings computed elsewhere by this exact model version (e.g. the
   * catalog index, embedded with the same artifact). Returns how many entries were added; stops
   * at the cache's capacity.
   */
  prime(modelSha256: string, texts: string[], vectors: Float32Array): number {
    if (modelSha256 !== this.encoder.sha256) return 0;
    const d = this.encoder.dims;
    const n = Math.min(texts.length, this.cache.capacity);
    for (let i = 0; i < n; i++) this.cache.set(textKey(this.encoder.sha256, texts[i]!), vectors.subarray(i * d, (i + 1) * d));
    return n;
  }

  /** Stop taking work and finish what is queued. */
  async close(): Promise<void> {
    await this.batcher.drain();
    await this.encoder.dispose();
  }
}
