import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArtifactIntegrityError, atomicWriteFileSync, describeFiles, verifiedArtifact } from '@ranksafe/artifact-integrity';
import { Bm25Index } from './bm25';
import { parseJudgedQuerySet, type JudgedQuerySet } from '@ranksafe/ranking-core';
import { productText, readCatalog, readUsers, writeCatalogJsonl, writeUsersJsonl, type CatalogProduct, type UserHistory } from './catalog';
import { CatalogFilter, type RetrievalFilters } from './filters';
import { DEFAULT_FUSION, fuse, type FusedHit, type FusionOptions } from './fusion';
import type { Hit } from '@ranksafe/ranking-core';
import { DEFAULT_HNSW, VectorIndex, type HnswParams } from './vectors';

/** manifest.json of a catalog index: what it holds, how it was built, a sha256 per file. */
export interface CatalogIndexManifest {
  kind: 'catalog-index';
  format: 1;
  /** Content-derived version id: the same inputs give the same version. */
  version: string;
  created_at: string;
  source: string;
  products: number;
  users: number;
  dims: number;
  /** The model that embedded the products; queries must be embedded by the same one. */
  embedding_model: { name: string; variant: string; sha256: string };
  /** Description words in each product's model text (see productText). */
  text_description_words: number;
  hnsw: HnswParams;
  artifacts: Record<string, { sha256: string; bytes: number }>;
}

export const CATALOG_INDEX_FILES = {
  catalog: 'catalog.jsonl',
  users: 'users.jsonl',
  embeddings: 'embeddings.f32',
  graph: 'hnsw.usearch',
  /** Optional: graded queries for offline quality checks (a synthetic catalog's generator writes them). */
  judged: 'judged-queries.json',
} as const;

/** BM25F field weights over product text. */
export const BM25_FIELDS = { title: 3, brand: 2, category: 2, description: 1, attributes: 1 };

export type RetrievalMode = 'bm25' | 'dense' | 'hybrid';

export interface RetrieveOptions {
  query?: string;
  /** Query embedding (same model as the index); needed for dense and hybrid on a query. */
  queryVector?: Float32Array;
  /** Recommendation: rows the user interacted with and their weights (profile = weighted mean). */
  seeds?: Array<{ row: number; weight: number }>;
  /** Recommendation with nothing personal: the most popular products (fused score = how many histories hold them). */
  popular?: boolean;
  /** Rows never to return. */
  excludeRows?: Set<number>;
  filters?: RetrievalFilters;
  topN: number;
  mode: RetrievalMode;
  fusion?: FusionOptions;
}

/** Filtered sets at most this large are searched exactly instead of through the graph. */
const EXACT_FILTERED_MAX = 20_000;

/**
 * A loaded, verified catalog index: products, user histories, BM25 over product text and an
 * HNSW graph over product embeddings, with filters and hybrid fusion.
 */
export class CatalogIndex {
  readonly byId = new Map<string, number>();
  private readonly usersById = new Map<string, UserHistory>();
  private readonly filter: CatalogFilter;
  readonly loadedAt = Date.now();

  private constructor(
    readonly dir: string,
    readonly manifest: CatalogIndexManifest,
    /** sha256 of manifest.json: one value naming exactly these bytes. */
    readonly sha256: string,
    readonly products: CatalogProduct[],
    users: UserHistory[],
    readonly bm25: Bm25Index,
    readonly vectors: VectorIndex,
  ) {
    products.forEach((p, i) => this.byId.set(p.id, i));
    this.filter = new CatalogFilter(products);
    for (const u of users) this.usersById.set(u.userId, u);
  }

  /** The text the embedding model saw for row `row` (what a ranker should score too). */
  rankText(row: number): string {
    return productText(this.products[row]!, this.manifest.text_description_words ?? 0);
  }

  get version(): string {
    return this.manifest.version;
  }

  get size(): number {
    return this.products.length;
  }

  user(id: string): UserHistory | undefined {
    return this.usersById.get(id);
  }

  /** Rows by popularity and each row's count, computed on first use. */
  private popularity?: { rows: number[]; count: number[] };

  /**
   * The most popular products (by how many users' histories hold them, ties by row), under a row
   * filter: what a recommendation falls back to when nothing personal is known.
   */
  popular(n: number, accept?: (row: number) => boolean): Hit[] {
    if (!this.popularity) {
      const count = new Array<number>(this.products.length).fill(0);
      for (const u of this.usersById.values()) for (const row of new Set(u.items.map((i) => this.byId.get(i.id)))) if (row !== undefined) count[row]!++;
      this.popularity = { rows: count.map((_, i) => i).sort((a, b) => count[b]! - count[a]! || a - b), count };
    }
    const { rows, count } = this.popularity;
    const out: Hit[] = [];
    for (const row of rows) {
      if (out.length >= n) break;
      if (!accept || accept(row)) out.push({ doc: row, score: count[row]! });
    }
    return out;
  }

  /** Load an index directory after checking every file against its manifest. */
  static load(dir: string, opts: { expansionSearch?: number } = {}): CatalogIndex {
    const manifestFile = path.join(dir, 'manifest.json');
    if (!fs.existsSync(manifestFile)) throw new Error(`no catalog index at ${dir} (manifest.json missing); build one with tools/data/build-index.ts`);
    const manifestBytes = fs.readFileSync(manifestFile);
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as CatalogIndexManifest;
    if (manifest.kind !== 'catalog-index' || manifest.format !== 1) throw new Error(`${manifestFile} is not a format-1 catalog index`);
    const products = readCatalog(verifiedArtifact(dir, manifest, CATALOG_INDEX_FILES.catalog));
    const users = manifest.artifacts[CATALOG_INDEX_FILES.users] ? readUsers(verifiedArtifact(dir, manifest, CATALOG_INDEX_FILES.users)) : [];
    const embBuf = fs.readFileSync(verifiedArtifact(dir, manifest, CATALOG_INDEX_FILES.embeddings));
    const vectors = new Float32Array(embBuf.buffer, embBuf.byteOffset, embBuf.byteLength / 4);
    if (vectors.length !== products.length * manifest.dims) {
      throw new ArtifactIntegrityError(`${dir}: ${vectors.length / manifest.dims} embeddings for ${products.length} products`);
    }
    const hnsw = { ...manifest.hnsw, ...(opts.expansionSearch ? { expansionSearch: opts.expansionSearch } : {}) };
    const graph = VectorIndex.open(vectors, manifest.dims, verifiedArtifact(dir, manifest, CATALOG_INDEX_FILES.graph), hnsw);
    const sha256 = createHash('sha256').update(manifestBytes).digest('hex');
    return new CatalogIndex(dir, manifest, sha256, products, users, buildBm25(products), graph);
  }

  /** Check filters against what this catalog has; throws FilterError naming the field. */
  acceptFor(filters: RetrievalFilters | undefined, exclude?: Set<number>): ((row: number) => boolean) | undefined {
    return this.filter.acceptFor(filters, exclude);
  }

  /** Candidates for a query (BM25, dense or both fused) or for a profile (seed rows, dense). */
  retrieve(o: RetrieveOptions): FusedHit[] {
    const exclude = new Set([...(o.excludeRows ?? []), ...(o.seeds ?? []).map((s) => s.row)]);
    const accept = this.acceptFor(o.filters, exclude);
    const topN = o.topN;
    if (o.popular) return this.popular(topN, accept).map((h) => ({ doc: h.doc, bm25: 0, dense: 0, fused: h.score }));
    if (o.seeds?.length) {
      const profile = this.vectors.meanOf(o.seeds);
      if (!profile) return [];
      return this.dense(profile, topN, accept).map((h) => ({ doc: h.doc, bm25: 0, dense: h.score, fused: h.score }));
    }
    const mode = o.queryVector ? o.mode : 'bm25';
    const lexical = mode === 'dense' ? [] : this.bm25.search(o.query ?? '', topN, accept);
    if (mode === 'bm25') return lexical.map((h) => ({ doc: h.doc, bm25: h.score, dense: 0, fused: h.score }));
    const semantic = this.dense(o.queryVector!, topN, accept);
    if (mode === 'dense') return semantic.map((h) => ({ doc: h.doc, bm25: 0, dense: h.score, fused: h.score }));
    return fuse(lexical, semantic, topN, o.fusion ?? DEFAULT_FUSION);
  }

  /** Dense top n under a filter: exact over small filtered sets, HNSW with over-fetch otherwise. */
  private dense(vector: Float32Array, n: number, accept?: (row: number) => boolean): Hit[] {
    if (!accept) return this.vectors.searchApprox(vector, n);
    const rows: number[] = [];
    for (let i = 0; i < this.products.length; i++) if (accept(i)) rows.push(i);
    if (rows.length <= EXACT_FILTERED_MAX) return this.vectors.searchExact(vector, n, rows);
    const fetch = Math.min(this.size, Math.ceil((n * this.size * 1.5) / rows.length));
    const hits = this.vectors.searchApprox(vector, fetch).filter((h) => accept(h.doc));
    return hits.length >= n ? hits.slice(0, n) : this.vectors.searchExact(vector, n, rows);
  }
}

function fieldsOf(p: CatalogProduct): Record<string, string> {
  return {
    title: p.title,
    brand: p.brand,
    category: p.category,
    description: p.description,
    attributes: Object.values(p.attributes).join(' '),
  };
}

export function buildBm25(products: CatalogProduct[]): Bm25Index {
  return new Bm25Index(
    products.map((p) => ({ id: p.id, fields: fieldsOf(p) })),
    { fieldWeights: BM25_FIELDS },
  );
}

export interface WriteIndexInput {
  products: CatalogProduct[];
  users: UserHistory[];
  /** Row-major embeddings, one row per product in order. */
  embeddings: Float32Array;
  dims: number;
  embeddingModel: CatalogIndexManifest['embedding_model'];
  textDescriptionWords: number;
  source: string;
  hnsw?: HnswParams;
  threads?: number;
  /** Written as judged-queries.json, an artifact like the others (it travels with the index into the registry). */
  judgedQueries?: JudgedQuerySet;
}

/**
 * Write a catalog index under `root/<version>/` (files first, manifest last, in a temp
 * directory renamed into place, so a reader never sees a partial index). Returns its directory.
 */
export function writeCatalogIndex(root: string, input: WriteIndexInput): { dir: string; manifest: CatalogIndexManifest } {
  const hnsw = input.hnsw ?? DEFAULT_HNSW;
  if (input.embeddings.length !== input.products.length * input.dims) {
    throw new Error(`${input.embeddings.length / input.dims} embeddings for ${input.products.length} products`);
  }
  fs.mkdirSync(root, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(root, '.building-'));
  try {
    writeCatalogJsonl(path.join(tmp, CATALOG_INDEX_FILES.catalog), input.products);
    if (input.users.length) writeUsersJsonl(path.join(tmp, CATALOG_INDEX_FILES.users), input.users);
    const emb = input.embeddings;
    fs.writeFileSync(path.join(tmp, CATALOG_INDEX_FILES.embeddings), Buffer.from(emb.buffer, emb.byteOffset, emb.byteLength));
    VectorIndex.build(emb, input.dims, hnsw, input.threads ?? 0).save(path.join(tmp, CATALOG_INDEX_FILES.graph));
    if (input.judgedQueries) fs.writeFileSync(path.join(tmp, CATALOG_INDEX_FILES.judged), `${JSON.stringify(input.judgedQueries)}\n`);
    const artifacts: CatalogIndexManifest['artifacts'] = describeFiles(tmp, fs.readdirSync(tmp).sort());
    // The graph file is not byte-deterministic across builds; the version names the content.
    const h = createHash('sha256');
    for (const f of [CATALOG_INDEX_FILES.catalog, CATALOG_INDEX_FILES.users, CATALOG_INDEX_FILES.embeddings]) h.update(`${f}:${artifacts[f]?.sha256 ?? '-'}\n`);
    h.update(JSON.stringify({ model: input.embeddingModel, hnsw, words: input.textDescriptionWords }));
    const version = `idx-${h.digest('hex').slice(0, 12)}`;
    const manifest: CatalogIndexManifest = {
      kind: 'catalog-index',
      format: 1,
      version,
      created_at: new Date().toISOString(),
      source: input.source,
      products: input.products.length,
      users: input.users.length,
      dims: input.dims,
      embedding_model: input.embeddingModel,
      text_description_words: input.textDescriptionWords,
      hnsw,
      artifacts,
    };
    fs.writeFileSync(path.join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const dir = path.join(root, version);
    if (fs.existsSync(dir)) {
      fs.rmSync(tmp, { recursive: true, force: true });
      return { dir, manifest: JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) };
    }
    fs.renameSync(tmp, dir);
    return { dir, manifest };
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** An index directory itself, or a root whose CURRENT file names the version to serve. */
export function resolveIndexDir(p: string): string {
  if (fs.existsSync(path.join(p, 'manifest.json'))) return p;
  const current = path.join(p, 'CURRENT');
  if (fs.existsSync(current)) {
    const version = fs.readFileSync(current, 'utf8').trim();
    if (!/^[\w.-]+$/.test(version)) throw new Error(`${current} names "${version}", which is not an index version`);
    return path.join(p, version);
  }
  throw new Error(`no catalog index at ${p} (neither manifest.json nor CURRENT); build one with tools/data/build-index.ts`);
}

/** Point `root/CURRENT` at `version` (atomic, durable write). */
export function publishCurrent(root: string, version: string): void {
  atomicWriteFileSync(path.join(root, 'CURRENT'), `${version}\n`);
}

/** An index directory (itself, or a root's CURRENT version) and its manifest, nothing else read. */
export function readIndexManifest(p: string): { dir: string; manifest: CatalogIndexManifest } {
  const dir = resolveIndexDir(p);
  return { dir, manifest: JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as CatalogIndexManifest };
}

/**
 * The model texts and embeddings of an index's products, verified, without building its search
 * structures: what a ranking service needs to warm its embedding cache.
 */
export function readIndexEmbeddings(p: string): { manifest: CatalogIndexManifest; texts: string[]; vectors: Float32Array } {
  const { dir, manifest } = readIndexManifest(p);
  const products = readCatalog(verifiedArtifact(dir, manifest, CATALOG_INDEX_FILES.catalog));
  const buf = fs.readFileSync(verifiedArtifact(dir, manifest, CATALOG_INDEX_FILES.embeddings));
  const vectors = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  if (vectors.length !== products.length * manifest.dims)
    throw new ArtifactIntegrityError(`${dir}: ${vectors.length / manifest.dims} embeddings for ${products.length} products`);
  return { manifest, texts: products.map((x) => productText(x, manifest.text_description_words ?? 0)), vectors };
}

/** An index's products and user histories, verified, without its search structures (what a sequential recommender serves). */
export function readIndexCatalog(p: string): { manifest: CatalogIndexManifest; products: CatalogProduct[]; users: UserHistory[] } {
  const { dir, manifest } = readIndexManifest(p);
  const products = readCatalog(verifiedArtifact(dir, manifest, CATALOG_INDEX_FILES.catalog));
  const users = manifest.artifacts[CATALOG_INDEX_FILES.users] ? readUsers(verifiedArtifact(dir, manifest, CATALOG_INDEX_FILES.users)) : [];
  return { manifest, products, users };
}

/** Product id → the text the ranking model reads for it (what the index embedded), verified: what a quality gate ranks. */
export function readIndexTexts(p: string): Map<string, string> {
  const { dir, manifest } = readIndexManifest(p);
  const products = readCatalog(verifiedArtifact(dir, manifest, CATALOG_INDEX_FILES.catalog));
  return new Map(products.map((x) => [x.id, productText(x, manifest.text_description_words ?? 0)]));
}

/** The judged queries an index carries (verified against its manifest), or undefined when it has none. */
export function readJudgedQueries(p: string): JudgedQuerySet | undefined {
  const { dir, manifest } = readIndexManifest(p);
  if (!manifest.artifacts[CATALOG_INDEX_FILES.judged]) return undefined;
  const file = verifiedArtifact(dir, manifest, CATALOG_INDEX_FILES.judged);
  return parseJudgedQuerySet(JSON.parse(fs.readFileSync(file, 'utf8')), file);
}
