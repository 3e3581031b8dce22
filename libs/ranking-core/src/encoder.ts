import * as fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { Tokenizer } from '@huggingface/tokenizers';
import { verifiedArtifact } from '@ranksafe/artifact-integrity';
import { readManifest, variantFile, type ModelManifest } from './artifacts';
import { openSession, type ExecutionProvider, type SessionOptions } from './session';

export interface EncoderOptions extends SessionOptions {
  /** Which artifact of the manifest to serve: "fp32" or "int8". */
  variant: string;
  /** Token limit per text, special tokens included (default: the manifest's). */
  maxLength?: number;
  /**
   * Most texts in one session run. Larger inputs are sorted by token length and run in chunks of
   * this size, so each run pads little (on 2 CPU cores, one run of 32 random texts is ~25% slower
   * per text than 8 length-sorted ones: tools/bench/ranking.ts). Default 8.
   */
  runBatchSize?: number;
}

export interface TokenizedBatch {
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  tokenTypeIds: BigInt64Array;
  batch: number;
  seqLen: number;
  /** Token ids per text, unpadded (for tests and diagnostics). */
  ids: number[][];
}

/**
 * A BERT-family bi-encoder (sentence embedding model) in ONNX Runtime: tokenize with the
 * model's own tokenizer.json, run the graph, mean-pool over the attention mask, L2-normalise.
 * Artifacts are verified against their manifest's sha256 before anything is loaded.
 */
export class BertEncoder {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly tokenizer: Tokenizer,
    readonly manifest: ModelManifest,
    readonly variant: string,
    readonly sha256: string,
    /** The provider the session really runs on. */
    readonly executionProvider: ExecutionProvider,
    readonly maxLength: number,
    private readonly sepId: number,
    private readonly runBatchSize: number,
    /** The provider asked for (differs from executionProvider after a fall-back to cpu). */
    readonly requestedExecutionProvider: ExecutionProvider = executionProvider,
    /** Why it fell back (the CUDA error's first line); empty when it did not. */
    readonly fallbackReason = '',
  ) {}

  static async load(dir: string, opts: EncoderOptions): Promise<BertEncoder> {
    const manifest = readManifest(dir);
    const modelFile = variantFile(manifest, opts.variant);
    const modelPath = verifiedArtifact(dir, manifest, modelFile);
    const tokenizerJson = JSON.parse(fs.readFileSync(verifiedArtifact(dir, manifest, 'tokenizer.json'), 'utf8'));
    const tokenizerConfig = JSON.parse(fs.readFileSync(verifiedArtifact(dir, manifest, 'tokenizer_config.json'), 'utf8'));
    const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    const sepId = tokenizer.token_to_id('[SEP]');
    if (sepId === undefined) throw new Error(`${dir}/tokenizer.json has no [SEP] token`);

    const { session, executionProvider: ep, requestedExecutionProvider: requested, fallbackReason } = await openSession(modelPath, opts);
    const sha = manifest.artifacts[modelFile]!.sha256;
    const maxLength = Math.min(opts.maxLength ?? manifest.max_length, manifest.max_length);
    return new BertEncoder(
      session,
      tokenizer,
      manifest,
      opts.variant,
      sha,
      ep,
      maxLength,
      sepId,
      Math.max(1, opts.runBatchSize ?? 8),
      requested,
      fallbackReason,
    );
  }

  get dims(): number {
    return this.manifest.dims;
  }

  private tokenIds(text: string): number[] {
    const e = this.tokenizer.encode(text, { add_special_tokens: true }).ids;
    return e.length <= this.maxLength ? e : [...e.slice(0, this.maxLength - 1), this.sepId];
  }

  /** Tokenize and pad a batch to its longest text (truncating each to maxLength tokens). */
  tokenize(texts: string[]): TokenizedBatch {
    return this.pad(texts.map((t) => this.tokenIds(t)));
  }

  private pad(ids: number[][]): TokenizedBatch {
    const seqLen = Math.max(2, ...ids.map((x) => x.length));
    const n = ids.length * seqLen;
    const inputIds = new BigInt64Array(n);
    const attentionMask = new BigInt64Array(n);
    ids.forEach((row, b) => {
      for (let t = 0; t < row.length; t++) {
        inputIds[b * seqLen + t] = BigInt(row[t]!);
        attentionMask[b * seqLen + t] = 1n;
      }
    });
    return { inputIds, attentionMask, tokenTypeIds: new BigInt64Array(n), batch: ids.length, seqLen, ids };
  }

  /**
   * Embed texts; each vector is L2-normalised (dot product = cosine). Up to runBatchSize texts go
   * in one session run; more are sorted by token length and run in chunks of similar length.
   */
  async encode(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const ids = texts.map((t) => this.tokenIds(t));
    if (ids.length <= this.runBatchSize) return this.run(this.pad(ids));
    const order = ids.map((_, i) => i).sort((a, b) => ids[a]!.length - ids[b]!.length);
    const out: Float32Array[] = new Array(texts.length);
    for (let s = 0; s < order.length; s += this.runBatchSize) {
      const rows = order.slice(s, s + this.runBatchSize);
      const vecs = await this.run(this.pad(rows.map((r) => ids[r]!)));
      rows.forEach((r, j) => (out[r] = vecs[j]!));
    }
    return out;
  }

  private async run(tb: TokenizedBatch): Promise<Float32Array[]> {
    const dims = [tb.batch, tb.seqLen];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', tb.inputIds, dims),
      attention_mask: new ort.Tensor('int64', tb.attentionMask, dims),
    };
    if (this.session.inputNames.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', tb.tokenTypeIds, dims);
    const out = await this.session.run(feeds, [this.manifest.output]);
    const hidden = out[this.manifest.output]!.data as Float32Array;
    return meanPoolNormalize(hidden, tb.attentionMask, tb.batch, tb.seqLen, this.dims);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** Mean of the token vectors under the mask, then L2 normalisation, for each row of a batch. */
export function meanPoolNormalize(hidden: Float32Array, mask: BigInt64Array, batch: number, seqLen: number, dims: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const v = new Float32Array(dims);
    let count = 0;
    for (let t = 0; t < seqLen; t++) {
      if (mask[b * seqLen + t] === 0n) continue;
      count++;
      const off = (b * seqLen + t) * dims;
      for (let k = 0; k < dims; k++) v[k]! += hidden[off + k]!;
    }
    let norm = 0;
    for (let k = 0; k < dims; k++) {
      v[k]! /= Math.max(count, 1);
      norm += v[k]! * v[k]!;
    }
    norm = Math.sqrt(norm) || 1;
    for (let k = 0; k < dims; k++) v[k]! /= norm;
    out.push(v);
  }
  return out;
}

/** Dot product of two vectors (the cosine, for normalised ones). */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
