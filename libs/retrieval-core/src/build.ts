import { BertEncoder } from '@ranksafe/ranking-core';
import { PRODUCT_TEXT_DESCRIPTION_WORDS, productText, type CatalogProduct, type UserHistory } from './catalog';
import { publishCurrent, writeCatalogIndex, type CatalogIndexManifest } from './catalog-index';
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
  /** Point root/CURRENT at the new version. */
  publish?: boolean;
  onProgress?: (done: number, total: number) => void;
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
    const embeddings = await embedAll(encoder, texts, o.batchSize ?? 32, o.onProgress);
    const { dir, manifest } = writeCatalogIndex(o.out, {
      products: o.products,
      users: o.users,
      embeddings,
      dims: encoder.dims,
      embeddingModel: { name: encoder.manifest.name, variant: encoder.variant, sha256: encoder.sha256 },
      textDescriptionWords: words,
      source: o.source,
      hnsw: o.hnsw,
    });
    if (o.publish) publishCurrent(o.out, manifest.version);
    return { dir, manifest };
  } finally {
    await encoder.dispose();
  }
}

/** Embeddings of `texts` in their order, as one row-major matrix. */
export async function embedAll(encoder: BertEncoder, texts: string[], batchSize: number, onProgress?: (done: number, total: number) => void): Promise<Float32Array> {
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
