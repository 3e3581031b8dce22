import * as fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { verifiedArtifact } from '@ranksafe/artifact-integrity';
import { readManifest, variantFile, type ModelManifest } from './artifacts';
import { DynamicBatcher, type BatcherOptions } from './batcher';
import { openSession, type ExecutionProvider, type SessionOptions } from './session';
import { TopK } from './topk';

export interface SeqrecOptions extends SessionOptions {
  /** Which artifact of the manifest to serve: "fp32" or "int8". */
  variant: string;
  batcher: BatcherOptions;
}

/** None of the items a request gave is in the model's vocabulary: it has nothing to go on. */
export class UnknownItemsError extends Error {
  constructor(readonly ids: string[]) {
    super(`none of the ${ids.length} item ids is known to the model: ${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ', …' : ''}`);
    this.name = 'UnknownItemsError';
  }
}

export interface Recommended {
  id: string;
  score: number;
}

export interface RecommendResult {
  items: Recommended[];
  /** Items of the history the model does not know (ignored). */
  unknown: string[];
  /** How many history items the model read (the known ones, the last max_length of them). */
  used: number;
}

export interface RecommendOptions {
  /** Column filter (the serving catalog's filters): only accepted columns are recommended. */
  accept?: (column: number) => boolean;
  /** More ids never to recommend, besides the history. */
  exclude?: Iterable<string>;
  /** Absolute time (Date.now clock); Infinity = none. */
  deadline?: number;
}

/**
 * A sequential recommender (tools/seqrec: SASRec or BERT4Rec over item ids) in ONNX Runtime. Its
 * graph takes `item_ids` int64 [batch, max_length] (1-based vocabulary indices, oldest first,
 * left-padded with 0) and returns `scores` float32 [batch, items] (column j scores vocab[j]).
 * Requests are merged by a dynamic batcher into one session run; the top k is taken in JS with the
 * history (and anything excluded or filtered out) left out.
 */
export class SequentialRecommender {
  readonly batcher: DynamicBatcher<number[], Float32Array>;
  /** Item id → column (0-based; the graph's input id is column + 1). */
  readonly column = new Map<string, number>();

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly manifest: ModelManifest,
    readonly variant: string,
    readonly sha256: string,
    readonly vocab: string[],
    readonly executionProvider: ExecutionProvider,
    readonly requestedExecutionProvider: ExecutionProvider,
    readonly fallbackReason: string,
    batcher: BatcherOptions,
  ) {
    vocab.forEach((id, j) => this.column.set(id, j));
    this.batcher = new DynamicBatcher((seqs) => this.run(seqs), batcher);
  }

  static async load(dir: string, opts: SeqrecOptions): Promise<SequentialRecommender> {
    const manifest = readManifest(dir);
    if (manifest.kind !== 'sequential-recommender' || !manifest.seqrec) throw new Error(`${dir} holds a ${manifest.kind} model, not a sequential recommender`);
    const modelFile = variantFile(manifest, opts.variant);
    const modelPath = verifiedArtifact(dir, manifest, modelFile);
    const vocab = JSON.parse(fs.readFileSync(verifiedArtifact(dir, manifest, manifest.seqrec.vocab), 'utf8')) as unknown;
    if (!Array.isArray(vocab) || vocab.length !== manifest.seqrec.items || !vocab.every((x) => typeof x === 'string')) {
      throw new Error(`${dir}/${manifest.seqrec.vocab} is not a list of ${manifest.seqrec.items} item ids`);
    }
    if (new Set(vocab).size !== vocab.length) throw new Error(`${dir}/${manifest.seqrec.vocab} repeats item ids`);
    const s = await openSession(modelPath, opts);
    for (const name of manifest.inputs) if (!s.session.inputNames.includes(name)) throw new Error(`${modelFile} has no input "${name}"`);
    const r = new SequentialRecommender(
      s.session,
      manifest,
      opts.variant,
      manifest.artifacts[modelFile]!.sha256,
      vocab as string[],
      s.executionProvider,
      s.requestedExecutionProvider,
      s.fallbackReason,
      opts.batcher,
    );
    // The first run allocates and picks kernels: do it before any request sees the model, and check the output's width.
    const [probe] = await r.run([[1]]);
    if (probe!.length !== vocab.length) throw new Error(`${modelFile} scores ${probe!.length} items, its vocabulary has ${vocab.length}`);
    return r;
  }

  get maxLength(): number {
    return this.manifest.max_length;
  }

  get items(): number {
    return this.vocab.length;
  }

  /** How many of `ids` the vocabulary holds, and (some of) those it lacks. */
  coverage(ids: Iterable<string>): { covered: number; total: number; missing: string[] } {
    let covered = 0;
    let total = 0;
    const missing: string[] = [];
    for (const id of ids) {
      total++;
      if (this.column.has(id)) covered++;
      else if (missing.length < 10) missing.push(id);
    }
    return { covered, total, missing };
  }

  /** Scores over the vocabulary for each history (1-based ids, oldest first; at most max_length are read). */
  private async run(seqs: number[][]): Promise<Float32Array[]> {
    const L = this.maxLength;
    const input = new BigInt64Array(seqs.length * L);
    seqs.forEach((s, b) => {
      const tail = s.slice(-L);
      tail.forEach((id, t) => (input[b * L + L - tail.length + t] = BigInt(id)));
    });
    const out = await this.session.run({ [this.manifest.inputs[0]!]: new ort.Tensor('int64', input, [seqs.length, L]) }, [this.manifest.output]);
    const scores = out[this.manifest.output]!.data as Float32Array;
    const V = this.vocab.length;
    return seqs.map((_, b) => scores.subarray(b * V, (b + 1) * V));
  }

  /**
   * The k items the model ranks first after `history` (item ids, oldest first), leaving out the
   * history itself, `exclude`, and columns `accept` refuses. Unknown history items are ignored and
   * reported; when none is known, UnknownItemsError.
   */
  async recommend(history: string[], k: number, opts: RecommendOptions = {}): Promise<RecommendResult> {
    const known: number[] = [];
    const unknown: string[] = [];
    for (const id of history) {
      const j = this.column.get(id);
      if (j === undefined) unknown.push(id);
      else known.push(j + 1);
    }
    if (known.length === 0) throw new UnknownItemsError([...new Set(unknown)]);
    const skip = new Set(known.map((i) => i - 1));
    for (const id of opts.exclude ?? []) {
      const j = this.column.get(id);
      if (j !== undefined) skip.add(j);
    }
    const used = known.slice(-this.maxLength);
    const [scores] = await this.batcher.submit([used], opts.deadline ?? Infinity);
    const top = topK(scores!, k, (j) => !skip.has(j) && (opts.accept?.(j) ?? true));
    return { items: top.map((j) => ({ id: this.vocab[j]!, score: scores![j]! })), unknown: [...new Set(unknown)], used: used.length };
  }

  /** Stop taking work and finish what is queued. */
  async close(): Promise<void> {
    await this.batcher.drain();
    await this.session.release();
  }
}

/** Indices of the k largest finite scores among those `keep` accepts, best first (ties: the lower index). */
export function topK(scores: ArrayLike<number>, k: number, keep: (i: number) => boolean): number[] {
  const heap = new TopK(k);
  for (let i = 0; i < scores.length; i++) if (Number.isFinite(scores[i]!) && keep(i)) heap.offer(i, scores[i]!);
  return heap.sorted().map((h) => h.doc);
}

/**
 * Leave-one-out quality of a recommender on held-out histories (what a rollout's quality gate scores a
 * sequential recommender by): each history's last item is the target, ranked against every item the
 * model knows with the rest of the history left out; mean NDCG@k and HR@k. A target the model does not
 * know, or a history with nothing known before it, counts as a miss: both models of a comparison are
 * scored on the same histories.
 */
export async function nextItemQuality(rec: SequentialRecommender, histories: string[][], k = 10): Promise<{ ndcg: number; hr: number; histories: number }> {
  const usable = histories.filter((h) => h.length >= 2);
  let ndcg = 0;
  let hits = 0;
  const chunk = 64;
  for (let i = 0; i < usable.length; i += chunk) {
    const part = usable.slice(i, i + chunk);
    const ranked = await Promise.all(
      part.map((h) =>
        rec.recommend(h.slice(0, -1), k).then(
          (r) => r.items.findIndex((x) => x.id === h[h.length - 1]),
          (e) => {
            if (e instanceof UnknownItemsError) return -1;
            throw e;
          },
        ),
      ),
    );
    for (const pos of ranked) {
      if (pos < 0) continue;
      hits++;
      ndcg += 1 / Math.log2(pos + 2);
    }
  }
  const n = usable.length;
  return { ndcg: n ? ndcg / n : 0, hr: n ? hits / n : 0, histories: n };
}
