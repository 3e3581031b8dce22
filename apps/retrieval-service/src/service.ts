import * as path from 'node:path';
import { ModelKind, RetrievalMode as ProtoMode, type Candidate, type Product, type RetrievalServer, type RetrieveRequest } from '@ranksafe/proto';
import { ArtifactIntegrityError, BertEncoder, LruCache } from '@ranksafe/ranking-core';
import { CatalogIndex, FilterError, resolveIndexDir, type CatalogProduct, type RetrievalFilters, type RetrievalMode } from '@ranksafe/retrieval-core';
import { fetchForLoad, RegistryFetcher } from '@ranksafe/registry-client';
import { failedPrecondition, GrpcError, invalidArgument, notFound, unary, unavailable, type Logger } from '@ranksafe/serving-kit';
import type { RetrievalConfig } from './config';

/** Longest query accepted, in characters. */
export const MAX_QUERY_CHARS = 512;
const MAX_SEEDS = 200;
const MAX_GET_IDS = 1000;
const MAX_HISTORY = 200;

const MODES: Record<number, RetrievalMode | undefined> = {
  [ProtoMode.RETRIEVAL_MODE_BM25]: 'bm25',
  [ProtoMode.RETRIEVAL_MODE_DENSE]: 'dense',
  [ProtoMode.RETRIEVAL_MODE_HYBRID]: 'hybrid',
};

export function toProto(p: CatalogProduct): Product {
  return { id: p.id, title: p.title, description: p.description, category: p.category, brand: p.brand, price: p.price, attributes: p.attributes };
}

/**
 * The retrieval service: one loaded catalog index (swapped whole on reload) and the query
 * encoder for dense retrieval.
 */
export class RetrievalState {
  private index?: CatalogIndex;
  private encoder?: BertEncoder;
  private readonly queryCache: LruCache<Float32Array>;
  private reloading = false;

  constructor(
    private readonly cfg: RetrievalConfig,
    private readonly logger: Logger,
    private readonly setReady: (ready: boolean) => void,
  ) {
    this.queryCache = new LruCache(cfg.RETRIEVAL_QUERY_CACHE_SIZE);
  }

  get current(): CatalogIndex | undefined {
    return this.index;
  }

  async start(): Promise<void> {
    this.encoder = await BertEncoder.load(this.cfg.RETRIEVAL_MODEL_DIR, {
      variant: this.cfg.RETRIEVAL_MODEL_VARIANT,
      intraOpThreads: this.cfg.RETRIEVAL_INTRA_OP_THREADS,
      onWarning: (w) => this.logger.warn(w),
    });
    await this.encoder.encode(['warm up']);
    const start = this.cfg.RETRIEVAL_INDEX_REF ? await this.fromRegistry(this.cfg.RETRIEVAL_INDEX_REF) : this.cfg.RETRIEVAL_INDEX;
    this.swapIn(this.loadIndex(start));
    this.setReady(true);
  }

  private fetcher?: RegistryFetcher;

  /** Fetch an index version through the registry (verified, cached by sha256); its directory. */
  async fromRegistry(ref: string): Promise<string> {
    if (!this.cfg.RETRIEVAL_REGISTRY_ADDRESS) throw failedPrecondition('no model registry is configured (RETRIEVAL_REGISTRY_ADDRESS); use local_path');
    this.fetcher ??= new RegistryFetcher(this.cfg.RETRIEVAL_REGISTRY_ADDRESS, this.cfg.RETRIEVAL_REGISTRY_CACHE_DIR, { token: this.cfg.ADMIN_TOKEN });
    const serving = this.index ? `still serving index ${this.index.version}` : '';
    const f = await fetchForLoad(this.fetcher, this.cfg.RETRIEVAL_INDEX_NAME, ref, serving, (c) =>
      this.logger.warn({ ref, version: c.version }, 'model registry unreachable: loading the cached copy of the last resolution'),
    );
    return f.dir;
  }

  private loadIndex(p: string): CatalogIndex {
    const t0 = Date.now();
    const dir = resolveIndexDir(path.resolve(p));
    const idx = CatalogIndex.load(dir, { expansionSearch: this.cfg.RETRIEVAL_HNSW_EF });
    const want = idx.manifest.embedding_model.name;
    if (this.encoder && want !== this.encoder.manifest.name) {
      throw new Error(`index ${idx.version} was embedded with ${want}, but queries are embedded with ${this.encoder.manifest.name}`);
    }
    this.logger.info({ index: idx.version, products: idx.size, users: idx.manifest.users, ms: Date.now() - t0, dir }, 'catalog index loaded');
    return idx;
  }

  private swapIn(idx: CatalogIndex): void {
    const previous = this.index;
    this.index = idx;
    if (previous) this.logger.info({ from: previous.version, to: idx.version }, 'now serving catalog index');
  }

  /**
   * Hot reload: report NOT_SERVING so load balancers move traffic away, wait for them to notice,
   * load and verify the new index (this blocks the event loop for a moment), swap, serve again.
   */
  async reload(p: string): Promise<CatalogIndex> {
    if (this.reloading) throw failedPrecondition('an index load is already in progress');
    this.reloading = true;
    try {
      const drain = this.cfg.RETRIEVAL_RELOAD_DRAIN_MS;
      if (drain > 0 && this.index) {
        this.setReady(false);
        await new Promise((r) => setTimeout(r, drain));
      }
      const idx = this.loadIndex(p);
      this.swapIn(idx);
      return idx;
    } finally {
      this.reloading = false;
      if (this.index) this.setReady(true);
    }
  }

  private serving(): CatalogIndex {
    if (!this.index) throw unavailable('no catalog index is loaded yet');
    return this.index;
  }

  private async embedQuery(q: string): Promise<Float32Array> {
    const key = q.toLowerCase();
    const hit = this.queryCache.get(key);
    if (hit) return hit;
    const [v] = await this.encoder!.encode([q]);
    this.queryCache.set(key, v!);
    return v!;
  }

  async retrieve(req: RetrieveRequest): Promise<{ candidates: Candidate[]; indexVersion: string }> {
    const idx = this.serving();
    const topN = req.topN || 100;
    if (topN > this.cfg.RETRIEVAL_MAX_TOP_N) throw invalidArgument('top_n', `at most ${this.cfg.RETRIEVAL_MAX_TOP_N}, got ${topN}`);
    const mode = req.mode === ProtoMode.RETRIEVAL_MODE_UNSPECIFIED ? this.cfg.RETRIEVAL_MODE : MODES[req.mode];
    if (!mode) throw invalidArgument('mode', `unknown retrieval mode ${req.mode}`);
    const filters = toFilters(req);
    let seeds: Array<{ row: number; weight: number }> | undefined;
    let queryVector: Float32Array | undefined;
    const query = req.query.trim();
    if (req.excludeIds.length > MAX_GET_IDS) throw invalidArgument('exclude_ids', `at most ${MAX_GET_IDS}, got ${req.excludeIds.length}`);
    const excludeRows = new Set(req.excludeIds.map((id) => idx.byId.get(id)).filter((r): r is number => r !== undefined));
    if (req.popular) {
      if (query || req.seeds.length) throw invalidArgument('popular', 'send a query, seeds or popular, one of them');
    } else if (req.seeds.length) {
      if (query) throw invalidArgument('seeds', 'send a query or seeds, not both');
      if (req.seeds.length > MAX_SEEDS) throw invalidArgument('seeds', `at most ${MAX_SEEDS}, got ${req.seeds.length}`);
      seeds = [];
      req.seeds.forEach((s, i) => {
        if (!Number.isFinite(s.weight) || s.weight < 0) throw invalidArgument(`seeds[${i}].weight`, 'must be a finite number >= 0');
        const row = idx.byId.get(s.id);
        if (row !== undefined) seeds!.push({ row, weight: s.weight || 1 });
      });
      if (!seeds.length) {
        const ids = req.seeds.map((x) => x.id);
        throw invalidArgument(
          'seeds',
          `none of the ${ids.length} item ids is in catalog index ${idx.version}: ${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ', …' : ''}`,
        );
      }
    } else {
      if (!query) throw invalidArgument('query', 'must not be empty (or send seeds, or popular)');
      if (query.length > MAX_QUERY_CHARS) throw invalidArgument('query', `longer than ${MAX_QUERY_CHARS} characters`);
      if (req.queryEmbedding.length) {
        if (req.queryEmbedding.length !== idx.manifest.dims) {
          throw invalidArgument('query_embedding', `has ${req.queryEmbedding.length} dimensions; index ${idx.version} has ${idx.manifest.dims}`);
        }
        queryVector = Float32Array.from(req.queryEmbedding);
      } else if (mode !== 'bm25') {
        queryVector = await this.embedQuery(query);
      }
    }
    let hits;
    try {
      hits = idx.retrieve({
        query,
        queryVector,
        seeds,
        popular: req.popular,
        excludeRows,
        filters,
        topN,
        mode,
        fusion: { method: this.cfg.RETRIEVAL_FUSION, rrfK: this.cfg.RETRIEVAL_RRF_K, denseWeight: this.cfg.RETRIEVAL_DENSE_WEIGHT },
      });
    } catch (e) {
      if (e instanceof FilterError) throw invalidArgument(e.field, e.message);
      throw e;
    }
    return {
      indexVersion: idx.version,
      candidates: hits.map((h) => {
        const p = idx.products[h.doc]!;
        return { product: toProto(p), bm25Score: h.bm25, denseScore: h.dense, fusedScore: h.fused, rankText: idx.rankText(h.doc) };
      }),
    };
  }

  implementation(): RetrievalServer {
    return {
      retrieve: unary(async (req) => this.retrieve(req)),
      getProducts: unary(async (req) => {
        const idx = this.serving();
        if (req.ids.length > MAX_GET_IDS) throw invalidArgument('ids', `at most ${MAX_GET_IDS}, got ${req.ids.length}`);
        const products: Product[] = [];
        const rankTexts: string[] = [];
        const missingIds: string[] = [];
        for (const id of req.ids) {
          const row = idx.byId.get(id);
          if (row === undefined) {
            missingIds.push(id);
            continue;
          }
          products.push(toProto(idx.products[row]!));
          rankTexts.push(idx.rankText(row));
        }
        return { products, missingIds, rankTexts };
      }),
      getUserHistory: unary(async (req) => {
        const idx = this.serving();
        if (!req.userId) throw invalidArgument('user_id', 'must not be empty');
        if (req.limit > MAX_HISTORY) throw invalidArgument('limit', `at most ${MAX_HISTORY}`);
        const u = idx.user(req.userId);
        if (!u) throw notFound(`user "${req.userId}" has no history in catalog index ${idx.version}`);
        const items = u.items.slice(-(req.limit || MAX_HISTORY));
        return { interactions: items.map((it) => ({ itemId: it.id, rating: it.rating, tsUnixMs: it.ts })) };
      }),
      loadIndex: unary(async (req) => {
        const source = req.source;
        if (!source) throw invalidArgument('source', 'set registry_ref or local_path');
        if (!source.value.trim()) throw invalidArgument(source.$case === 'registryRef' ? 'registry_ref' : 'local_path', 'must not be empty');
        try {
          const dir = source.$case === 'registryRef' ? await this.fromRegistry(source.value.trim()) : source.value;
          const idx = await this.reload(dir);
          return { indexVersion: idx.version, products: idx.size };
        } catch (e) {
          if (e instanceof GrpcError) throw e;
          if (e instanceof ArtifactIntegrityError) throw failedPrecondition(e.message);
          throw failedPrecondition(`cannot load index ${source.value}: ${(e as Error).message}`);
        }
      }),
      describeIndex: unary(async () => {
        const idx = this.serving();
        const m = idx.manifest.embedding_model;
        return {
          indexVersion: idx.version,
          products: idx.size,
          sha256: idx.sha256,
          loadedAtUnixMs: idx.loadedAt,
          users: idx.manifest.users,
          embeddingModel: { name: m.name, version: `${m.variant}-${m.sha256.slice(0, 12)}`, kind: ModelKind.MODEL_KIND_BI_ENCODER },
          path: idx.dir,
        };
      }),
    };
  }

  async close(): Promise<void> {
    this.fetcher?.close();
    await this.encoder?.dispose();
  }
}

function toFilters(req: RetrieveRequest): RetrievalFilters {
  const f = req.filters;
  return f ? { categories: f.categories, brands: f.brands, minPrice: f.minPrice, maxPrice: f.maxPrice } : {};
}
