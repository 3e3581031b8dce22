import { BertEncoder, type JudgedQuerySet } from '@ranksafe/ranking-core';
import { PRODUCT_TEXT_DESCRIPTION_WORDS, productText, type CatalogProduct, type UserHistory } from './catalog';
import { publishCurrent, readIndexEmbeddings, writeCatalogIndex, type CatalogIndexManifest } from './catalog-index';
import type { HnswParams } from './vectors';

export interface BuildIndexOptions {
  products: CatalogProduct[];
  users: UserHistory[];
  /** Root directory; the index lands in root/<version>/. */
  out: string;
  modelDir: string;
  variant?: string;
  batchSize?: number;
  /** Description words in each product's model text (default PRODUCT_TEXT_DESCRIPTION_WORDS). */
  descriptionWords?: number;
  hnsw?: HnswParams;
  source: string;
  /**
   * Reuse embeddings of texts already embedded by the same model in this index (directory or
   * root); by default the index `out` currently serves. Only new or changed texts are embedded.
   */
  previous?: string | false;
  /** Point root/CURRENT at the new version. */
  publish?: boolean;
  onProgress?: (done: number, total: number) => void;
  /** Graded queries to ship inside the index (judged-queries.json). */
  judgedQueries?: JudgedQuerySet;
}

/**
 * Embed every product's text with the serving encoder (texts sorted by length so batches carry
 * little padding), then write a verified, versioned catalog index.
 */
export async function buildCatalogIndex(o: BuildIndexOptions): Promise<{ dir: string; manifest: CatalogIndexManifest }> {
  const encoder = await BertEncoder.load(o.modelDir, { variant: o.variant ?? 'int8' });
  try {
    const words = o.descriptionWords ?? PRODUCT_TEXT_DESCRIPTION_WORDS;
    const texts = o.products.map((p) => productText(p, words));
    const known = o.previous === false ? new Map<string, Float32Array>() : reusable(o.previous ?? o.out, encoder.sha256, encoder.dims);
    const embeddings = new Float32Array(texts.length * encoder.dims);
    const todo: number[] = [];
    texts.forEach((t, i) => {
      const v = known.get(t);
      if (v) embeddings.set(v, i * encoder.dims);
      else todo.push(i);
    });
    const fresh = await embedAll(
      encoder,
      todo.map((i) => texts[i]!),
      o.batchSize ?? 32,
      o.onProgress,
    );
    todo.forEach((row, j) => embeddings.set(fresh.subarray(j * encoder.dims, (j + 1) * encoder.dims), row * encoder.dims));
    const { dir, manifest } = writeCatalogIndex(o.out, {
      products: o.products,
      users: o.users,
      embeddings,
      dims: encoder.dims,
      embeddingModel: { name: encoder.manifest.name, variant: encoder.variant, sha256: encoder.sha256 },
      textDescriptionWords: words,
      source: o.source,
      hnsw: o.hnsw,
      judgedQueries: o.judgedQueries,
    });
    if (o.publish) publishCurrent(o.out, manifest.version);
    return { dir, manifest };
  } finally {
    await encoder.dispose();
  }
}

/** text → embedding of an existing index embedded by model `sha256` (empty when none fits). */
function reusable(p: string, sha256: string, dims: number): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  try {
    const { manifest, texts, vectors } = readIndexEmbeddings(p);
    if (manifest.embedding_model.sha256 !== sha256 || manifest.dims !== dims) return out;
    texts.forEach((t, i) => out.set(t, vectors.subarray(i * dims, (i + 1) * dims)));
  } catch {
    // no previous index
  }
  return out;
}

/** Embeddings of `texts` in their order, as one row-major matrix. */
export async function embedAll(
  encoder: BertEncoder,
  texts: string[],
  batchSize: number,
  onProgress?: (done: number, total: number) => void,
): Promise<Float32Array> {
  const dims = encoder.dims;
  const out = new Float32Array(texts.length * dims);
  const order = texts.map((_, i) => i).sort((a, b) => texts[a]!.length - texts[b]!.length);
  for (let s = 0; s < order.length; s += batchSize) {
    const rows = order.slice(s, s + batchSize);
    const vecs = await encoder.encode(rows.map((r) => texts[r]!));
    rows.forEach((r, j) => out.set(vecs[j]!, r * dims));
    onProgress?.(Math.min(s + batchSize, order.length), order.length);
  }
  return out;
}
