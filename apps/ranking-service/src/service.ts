import * as path from 'node:path';
import {
  ModelKind,
  type EmbedRequest,
  type EmbedResponse,
  type LoadedModel,
  type ModelRef,
  type RankRequest,
  type RankResponse,
  type RankingServer,
  type RecommendItemsRequest,
  type RecommendItemsResponse,
  WarmState,
} from '@ranksafe/proto';
import {
  ArtifactIntegrityError,
  BertEncoder,
  ExpiredError,
  LruCache,
  QueueFullError,
  pickVariant,
  RankingEngine,
  SequentialRecommender,
  UnknownItemsError,
  verifiedArtifact,
  type BatcherStats,
  type Candidate,
} from '@ranksafe/ranking-core';
import {
  deadlineExceeded,
  failedPrecondition,
  GrpcError,
  invalidArgument,
  notFound,
  resourceExhausted,
  unary,
  unavailable,
  type CallContext,
  type Logger,
} from '@ranksafe/serving-kit';
import { fetchForLoad, RegistryFetcher, type Fetched } from '@ranksafe/registry-client';
import { CatalogFilter, FilterError, readIndexCatalog, readIndexEmbeddings, resolveIndexDir } from '@ranksafe/retrieval-core';
import type { RankingConfig } from './config';

export interface WarmProgress {
  state: WarmState;
  source: 'index' | 'embedded' | 'none';
  done: number;
  target: number;
}

/** What every served model kind has: its artifact, where it runs, its batcher, how to close it. */
export interface ServedRuntime {
  sha256: string;
  executionProvider: string;
  requestedExecutionProvider: string;
  fallbackReason: string;
  batcher: { readonly stats: BatcherStats };
  close(): Promise<void>;
}

interface ServedCommon {
  runtime: ServedRuntime;
  /** name and registry version (or <variant>-<sha12> for a local load). */
  ref: ModelRef;
  dir: string;
  /** The registry reference or local path asked for. */
  source: string;
  variant: string;
  loadedAt: number;
  warmupMs: number;
  warm: WarmProgress;
  /** Resolves when cache warming ends (whatever its outcome). */
  warmed: Promise<void>;
  requests: number;
  closed: boolean;
}

/** A bi-encoder: Rank and Embed. */
export interface ServedEncoder extends ServedCommon {
  kind: 'encoder';
  engine: RankingEngine;
}

/** A sequential recommender: Recommend, over the serving catalog its vocabulary was checked against. */
export interface ServedRecommender extends ServedCommon {
  kind: 'seqrec';
  recommender: SequentialRecommender;
  catalog: RecommenderCatalog;
  /** Share of the catalog's items in histories that the vocabulary covers. */
  coverage: number;
}

export type Served = ServedEncoder | ServedRecommender;

/** The serving catalog as a recommender sees it: which vocabulary column is which catalog row, and the catalog's filters. */
export interface RecommenderCatalog {
  filter: CatalogFilter;
  /** Column → catalog row, -1 when the catalog does not sell the item. */
  rowOf: Int32Array;
}

/** The serving catalog, as the recommenders loaded on it share it. */
interface ServingCatalog {
  version: string;
  rowById: Map<string, number>;
  filter: CatalogFilter;
  /** Catalog items that appear in its users' histories. */
  historyItems: Set<string>;
}

export interface LoadOptions {
  /** Registry name; default: the manifest's. */
  name?: string;
  /** Registry version; default: <variant>-<sha12>. */
  version?: string;
  source: string;
  variant?: string;
  makeDefault: boolean;
  unloadPreviousDefault?: boolean;
  waitForWarm?: boolean;
}

const MAX_TEXT = 10_000;
const MAX_HISTORY = 200;
const MAX_RECOMMEND_K = 100;
const DEFAULT_RECOMMEND_K = 10;
const MAX_EMBED_TEXTS = 256;
const MAX_PROFILE_ITEMS = 200;
const key = (name: string, version: string) => `${name}\u0000${version}`;

type RuntimeInfo = Pick<ServedRuntime, 'sha256' | 'executionProvider' | 'requestedExecutionProvider' | 'fallbackReason'>;
const runtimeOf = (m: RuntimeInfo, batcher: ServedRuntime['batcher'], close: () => Promise<void>): ServedRuntime => ({
  sha256: m.sha256,
  executionProvider: m.executionProvider,
  requestedExecutionProvider: m.requestedExecutionProvider,
  fallbackReason: m.fallbackReason,
  batcher,
  close,
});

/** The fields every freshly loaded model starts with (its warm state is the kind's). */
const servedCommon = (runtime: ServedRuntime, ref: ModelRef, o: { dir: string; source: string; variant: string; t0: number }) => ({
  runtime,
  ref,
  dir: o.dir,
  source: o.source,
  variant: o.variant,
  loadedAt: Date.now(),
  warmupMs: Date.now() - o.t0,
  warmed: Promise.resolve(),
  requests: 0,
  closed: false,
});

/** Map engine errors to gRPC statuses. */
function engineError(e: unknown): never {
  if (e instanceof QueueFullError) throw resourceExhausted(`ranking queue is full (${e.message}); retry with backoff`);
  if (e instanceof ExpiredError) throw deadlineExceeded(e.message);
  throw e;
}

/**
 * The ranking service: the loaded models, addressable by name and registry version, one default
 * per name, and the RPCs. A version is warmed up (session runs, then its embedding cache) before it
 * is made a default; making a default never unloads anything unless asked, and an unloaded version
 * drains what it has queued, then closes.
 */
export class RankingModels {
  private readonly served = new Map<string, Served>();
  private readonly defaults = new Map<string, Served>();
  private readonly pending = new Map<string, Promise<Served>>();
  /** Name that Rank / Embed requests with an empty model_name address: the first encoder given a default. */
  private primaryName?: string;
  /** Name that Recommend requests with an empty model_name address: the first sequential recommender given a default. */
  private recommenderName?: string;
  /** The serving catalog as last read for a recommender (by resolved index directory): shared by every version loaded on it. */
  private catalogRead?: ServingCatalog & { dir: string };
  /**
   * The candidate texts recently ranked here (any version), most recent first: the products being
   * served now. A candidate version warms its cache with these before the index's first products,
   * so it takes canary traffic warm on a large catalog too.
   */
  private readonly recentTexts: LruCache<true>;
  /**
   * The prime index's product texts and the model that embedded it, after the first read: reading
   * and verifying a large index (150 MB at 100k products) blocks the event loop for seconds, which
   * must not happen again on every candidate load (health checks would time out mid-rollout).
   */
  private indexTexts?: { path: string; embeddedBy: string; texts: string[] };

  constructor(
    private readonly cfg: RankingConfig,
    private readonly logger: Logger,
    private readonly onServingChange: (serving: boolean) => void = () => undefined,
  ) {
    this.recentTexts = new LruCache<true>(cfg.RANKING_WARM_TOP_N);
  }

  /** The default version of the primary model (what a request without model_name gets). */
  get primary(): ServedEncoder | undefined {
    const d = this.primaryName === undefined ? undefined : this.defaults.get(this.primaryName);
    return d?.kind === 'encoder' ? d : undefined;
  }

  get(name: string, version: string): Served | undefined {
    return this.served.get(key(name, version));
  }

  defaultOf(name: string): Served | undefined {
    return this.defaults.get(name);
  }

  /**
   * Load (or find, when this name and version is already loaded: LoadModel is idempotent) a model
   * directory, warm it up, and make it the default of its name when asked or when the name has none.
   */
  async load(dir: string, opts: LoadOptions): Promise<{ served: Served; alreadyLoaded: boolean }> {
    const picked = pickVariant(dir, opts.variant || this.cfg.RANKING_MODEL_VARIANT, !!opts.variant);
    const name = opts.name || picked.manifest.name;
    const version = opts.version || `${picked.variant}-${picked.sha256.slice(0, 12)}`;
    const k = key(name, version);
    let alreadyLoaded = true;
    let s = this.served.get(k);
    if (s && s.runtime.sha256 !== picked.sha256) {
      throw failedPrecondition(`${name} ${version} is loaded here with sha256 ${s.runtime.sha256}, not ${picked.sha256}; unload it first`);
    }
    // The same version from another directory: answer with the loaded one only if these bytes are it too.
    if (s && s.dir !== dir) verifiedArtifact(dir, picked.manifest, picked.manifest.variants[picked.variant]!);
    if (!s) {
      let p = this.pending.get(k);
      if (!p) {
        alreadyLoaded = false;
        const opening = picked.manifest.kind === 'sequential-recommender' ? this.openRecommender.bind(this) : this.open.bind(this);
        p = opening(dir, name, version, picked.variant, opts.source).finally(() => this.pending.delete(k));
        this.pending.set(k, p);
      }
      s = await p;
    }
    if (opts.makeDefault || !this.defaults.has(name)) this.setDefault(name, version, !!opts.unloadPreviousDefault);
    if (opts.waitForWarm) await s.warmed;
    return { served: s, alreadyLoaded };
  }

  private async open(dir: string, name: string, version: string, variant: string, source: string): Promise<ServedEncoder> {
    const t0 = Date.now();
    const encoder = await BertEncoder.load(dir, {
      variant,
      executionProvider: this.cfg.RANKING_EXECUTION_PROVIDER,
      cudaFallbackToCpu: this.cfg.RANKING_CUDA_FALLBACK === 'cpu',
      intraOpThreads: this.cfg.RANKING_INTRA_OP_THREADS,
      runBatchSize: this.cfg.RANKING_RUN_BATCH_SIZE,
      onWarning: (w) => this.logger.warn(w),
    });
    const engine = new RankingEngine(encoder, {
      batcher: {
        maxBatchSize: this.cfg.RANKING_MAX_BATCH_SIZE,
        maxQueueDelayMs: this.cfg.RANKING_MAX_QUEUE_DELAY_MS,
        maxQueueSize: this.cfg.RANKING_MAX_QUEUE_SIZE,
      },
      cacheSize: this.cfg.RANKING_CACHE_SIZE,
      retrievalWeight: this.cfg.RANKING_RETRIEVAL_WEIGHT,
    });
    try {
      // Warm up: the first runs allocate and pick kernels; do them before any request sees the model.
      await encoder.encode(['warm up']);
      await encoder.encode(Array.from({ length: this.cfg.RANKING_MAX_BATCH_SIZE }, (_, i) => `warm up text number ${i} for a full batch`));
    } catch (e) {
      await engine.close().catch(() => undefined);
      throw e;
    }
    const ref: ModelRef = { name, version, kind: ModelKind.MODEL_KIND_BI_ENCODER };
    const s: ServedEncoder = {
      kind: 'encoder',
      engine,
      ...servedCommon(
        runtimeOf(encoder, engine.batcher, () => engine.close()),
        ref,
        { dir, source, variant, t0 },
      ),
      warm: { state: WarmState.WARM_STATE_WARMING, source: 'none', done: 0, target: 0 },
    };
    s.warmed = this.warmCache(s);
    this.served.set(key(name, version), s);
    this.logger.info({ model: ref, ep: encoder.executionProvider, warmupMs: s.warmupMs }, 'model loaded and warmed up');
    return s;
  }

  /**
   * Warm a model's embedding cache so its first requests do not all miss: with the catalog index's
   * own embeddings when this exact model (same sha256) computed them, else by embedding with this
   * model up to RANKING_WARM_TOP_N texts — the candidates recently ranked here first (what is being
   * served), then the catalog's first products — in the background (through its
   * batcher, so its own requests are served in between), reporting progress in ListModels.
   */
  private async warmCache(s: ServedEncoder): Promise<void> {
    const p = this.cfg.RANKING_PRIME_INDEX;
    const done = (state: WarmState) => {
      s.warm.state = state;
    };
    const limit = Math.min(this.cfg.RANKING_WARM_TOP_N, s.engine.cache.capacity);
    const served = this.recentTexts.keysNewestFirst();
    let texts: string[] = served;
    if (p) {
      try {
        const t0 = Date.now();
        const known = this.indexTexts?.path === p ? this.indexTexts : undefined;
        let indexTexts: string[];
        if (known && known.embeddedBy !== s.engine.encoder.sha256) {
          indexTexts = known.texts; // another model embedded the index: its vectors are of no use here, and the texts are known
        } else {
          const idx = readIndexEmbeddings(p);
          this.indexTexts = { path: p, embeddedBy: idx.manifest.embedding_model.sha256, texts: idx.texts };
          const n = s.engine.prime(idx.manifest.embedding_model.sha256, idx.texts, idx.vectors);
          if (n > 0) {
            s.warm = { state: WarmState.WARM_STATE_WARM, source: 'index', done: n, target: n };
            this.logger.info({ model: s.ref, index: idx.manifest.version, entries: n, ms: Date.now() - t0 }, 'embedding cache warmed from the catalog index');
            return;
          }
          indexTexts = idx.texts;
        }
        // What is being served first, then the index's products.
        texts = [...new Set([...served, ...indexTexts.slice(0, limit)])];
      } catch (e) {
        this.logger.warn({ model: s.ref, err: (e as Error).message, index: p }, 'cannot warm the embedding cache from the catalog index; serving cold');
        return done(WarmState.WARM_STATE_FAILED);
      }
    }
    texts = texts.slice(0, limit);
    if (texts.length === 0) return done(WarmState.WARM_STATE_WARM);
    s.warm = { state: WarmState.WARM_STATE_WARMING, source: 'embedded', done: 0, target: texts.length };
    // Let the caller register the model before the first chunk runs.
    await new Promise((r) => setImmediate(r));
    const t0 = Date.now();
    const chunk = this.cfg.RANKING_MAX_BATCH_SIZE;
    try {
      for (let i = 0; i < texts.length && !s.closed; i += chunk) {
        await s.engine.embed(texts.slice(i, i + chunk));
        s.warm.done = Math.min(texts.length, i + chunk);
      }
      if (s.closed) return;
      done(WarmState.WARM_STATE_WARM);
      this.logger.info({ model: s.ref, entries: s.warm.done, ms: Date.now() - t0 }, 'embedding cache warmed by embedding the catalog');
    } catch (e) {
      if (s.closed) return;
      this.logger.warn({ model: s.ref, err: (e as Error).message, done: s.warm.done }, 'embedding cache warming failed; serving with a partly warm cache');
      done(WarmState.WARM_STATE_FAILED);
    }
  }

  /**
   * Open a sequential recommender: its vocabulary is checked against the serving catalog
   * (RANKING_PRIME_INDEX) first — a model that covers less than RANKING_MIN_VOCAB_COVERAGE of the
   * catalog's items that appear in histories (all its items, when it has no histories) is refused,
   * since it would know too few of the shop's shoppers' items (a model trained on another shop).
   */
  private async openRecommender(dir: string, name: string, version: string, variant: string, source: string): Promise<ServedRecommender> {
    const t0 = Date.now();
    const catalog = this.servingCatalog();
    const recommender = await SequentialRecommender.load(dir, {
      variant,
      executionProvider: this.cfg.RANKING_EXECUTION_PROVIDER,
      cudaFallbackToCpu: this.cfg.RANKING_CUDA_FALLBACK === 'cpu',
      intraOpThreads: this.cfg.RANKING_INTRA_OP_THREADS,
      onWarning: (w) => this.logger.warn(w),
      batcher: {
        maxBatchSize: this.cfg.RANKING_MAX_BATCH_SIZE,
        maxQueueDelayMs: this.cfg.RANKING_MAX_QUEUE_DELAY_MS,
        maxQueueSize: this.cfg.RANKING_MAX_QUEUE_SIZE,
      },
    });
    const wanted = catalog.historyItems.size ? catalog.historyItems : catalog.rowById.keys();
    const cov = recommender.coverage(wanted);
    const coverage = cov.total ? cov.covered / cov.total : 0;
    const min = this.cfg.RANKING_MIN_VOCAB_COVERAGE;
    if (coverage < min) {
      await recommender.close().catch(() => undefined);
      throw failedPrecondition(
        `model ${name} ${version} knows ${cov.covered} of the ${cov.total} items ${catalog.historyItems.size ? 'in the histories of' : 'of'} catalog ${catalog.version} ` +
          `(${(coverage * 100).toFixed(1)}%, below the ${(min * 100).toFixed(0)}% required; e.g. it lacks ${cov.missing.slice(0, 5).join(', ')}): ` +
          `it was trained on another catalog than the one served here`,
      );
    }
    const rowOf = new Int32Array(recommender.items).fill(-1);
    recommender.vocab.forEach((id, j) => (rowOf[j] = catalog.rowById.get(id) ?? -1));
    const s: ServedRecommender = {
      kind: 'seqrec',
      recommender,
      catalog: { filter: catalog.filter, rowOf },
      coverage,
      ...servedCommon(
        runtimeOf(recommender, recommender.batcher, () => recommender.close()),
        { name, version, kind: ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER },
        { dir, source, variant, t0 },
      ),
      // Nothing to warm: the session's first run happened at load.
      warm: { state: WarmState.WARM_STATE_WARM, source: 'none', done: 0, target: 0 },
    };
    this.served.set(key(name, version), s);
    this.logger.info(
      {
        model: s.ref,
        ep: recommender.executionProvider,
        items: recommender.items,
        catalog: catalog.version,
        coverage: +coverage.toFixed(4),
        warmupMs: s.warmupMs,
      },
      'sequential recommender loaded',
    );
    return s;
  }

  /** The catalog a recommender serves: the prime index's rows, filters and the items its users' histories hold (read once per index version). */
  private servingCatalog(): ServingCatalog {
    const p = this.cfg.RANKING_PRIME_INDEX;
    if (!p) throw failedPrecondition('a sequential recommender needs the serving catalog to check its vocabulary against: set RANKING_PRIME_INDEX');
    const dir = resolveIndexDir(p);
    if (this.catalogRead?.dir !== dir) {
      const { manifest, products, users } = readIndexCatalog(dir);
      const rowById = new Map(products.map((x, i) => [x.id, i]));
      const historyItems = new Set<string>();
      for (const u of users) for (const it of u.items) if (rowById.has(it.id)) historyItems.add(it.id);
      this.catalogRead = { dir, version: manifest.version, rowById, filter: new CatalogFilter(products), historyItems };
    }
    return this.catalogRead;
  }

  private fetcher?: RegistryFetcher;

  /**
   * Fetch a model through the registry into the local cache (sha256 verified while downloading
   * and again per file). Errors leave the serving models as they are.
   */
  async fromRegistry(name: string, ref: string): Promise<Fetched> {
    if (!this.cfg.RANKING_REGISTRY_ADDRESS) throw failedPrecondition('no model registry is configured (RANKING_REGISTRY_ADDRESS); use local_path');
    this.fetcher ??= new RegistryFetcher(this.cfg.RANKING_REGISTRY_ADDRESS, this.cfg.RANKING_REGISTRY_CACHE_DIR, { token: this.cfg.ADMIN_TOKEN });
    const d = this.defaults.get(name) ?? this.primary;
    const serving = d ? `still serving ${d.ref.name} ${d.ref.version}` : '';
    return fetchForLoad(this.fetcher, name, ref, serving, (c) =>
      this.logger.warn({ name, ref, version: c.version }, 'model registry unreachable: loading the cached copy of the last resolution'),
    );
  }

  /**
   * What a replica serves from its start: a model directory, or a registry reference (alias or
   * version) of `name`, loaded as the default of its name.
   */
  async loadAtStart(o: { name: string; ref?: string; dir: string }): Promise<Served> {
    if (o.ref) {
      const f = await this.fromRegistry(o.name, o.ref);
      return (await this.load(f.dir, { name: o.name, version: f.version, source: o.ref, makeDefault: true })).served;
    }
    return (await this.load(o.dir, { source: o.dir, makeDefault: true })).served;
  }

  /** Make a loaded version the default of its name; returns the previous default's version ("" if none). */
  setDefault(name: string, version: string, unloadPrevious = false): string {
    const s = this.served.get(key(name, version));
    if (!s) throw notFound(`model ${name} version ${version} is not loaded here (loaded: ${this.versionsOf(name) || 'none'})`);
    const previous = this.defaults.get(name);
    if (previous === s) return '';
    this.defaults.set(name, s);
    if (s.kind === 'encoder') this.primaryName ??= name;
    else this.recommenderName ??= name;
    this.logger.info({ model: s.ref, previous: previous?.ref.version }, 'default version set');
    if (previous && unloadPrevious) this.close(previous);
    this.onServingChange(true);
    return previous?.ref.version ?? '';
  }

  private versionsOf(name: string): string {
    return [...this.served.values()]
      .filter((x) => x.ref.name === name)
      .map((x) => x.ref.version)
      .join(', ');
  }

  /** Take a version out of the table (new requests get NOT_FOUND); what it has queued runs, then it closes. */
  private close(s: Served): Promise<void> {
    s.closed = true;
    this.served.delete(key(s.ref.name, s.ref.version));
    return s.runtime.close().then(() => this.logger.info({ model: s.ref }, 'model unloaded'));
  }

  async unload(name: string, version: string): Promise<void> {
    const s = this.served.get(key(name, version));
    if (!s) throw notFound(`model ${name} version ${version} is not loaded here (loaded: ${this.versionsOf(name) || 'none'})`);
    if (this.defaults.get(name) === s)
      throw failedPrecondition(`${name} ${version} is the default version of ${name}; make another version the default (SetDefault) first`);
    await this.close(s);
  }

  list(): LoadedModel[] {
    return [...this.served.values()].map((s) => this.describe(s));
  }

  describe(s: Served): LoadedModel {
    const c = s.kind === 'encoder' ? s.engine.cache : { size: 0, capacity: 0, hits: 0, misses: 0 };
    return {
      model: s.ref,
      kind: s.ref.kind,
      sha256: s.runtime.sha256,
      isDefault: this.defaults.get(s.ref.name) === s,
      warm: s.warm.state === WarmState.WARM_STATE_WARM,
      executionProvider: s.runtime.executionProvider,
      loadedAtUnixMs: s.loadedAt,
      warmState: s.warm.state,
      warmSource: s.warm.source,
      warmDone: s.warm.done,
      warmTarget: s.warm.target,
      cache: { size: c.size, capacity: c.capacity, hits: c.hits, misses: c.misses },
      source: s.source,
      variant: s.variant,
      requests: s.requests,
      requestedExecutionProvider: s.runtime.requestedExecutionProvider,
      executionProviderFallback: s.runtime.fallbackReason,
      vocabItems: s.kind === 'seqrec' ? s.recommender.items : 0,
      catalogCoverage: s.kind === 'seqrec' ? s.coverage : 0,
    };
  }

  async closeAll(): Promise<void> {
    this.fetcher?.close();
    const all = [...this.served.values()];
    this.defaults.clear();
    await Promise.all(all.map((s) => this.close(s)));
  }

  /** The model for a request: by name (empty = primary) and version (empty = its default), or NOT_FOUND / UNAVAILABLE. */
  engineFor(modelName: string, modelVersion: string): Served {
    return this.modelFor(modelName || this.primaryName, modelVersion);
  }

  /** An encoder for Rank / Embed; a sequential recommender there is INVALID_ARGUMENT. */
  encoderFor(modelName: string, modelVersion: string): ServedEncoder {
    const s = this.engineFor(modelName, modelVersion);
    if (s.kind !== 'encoder') throw invalidArgument('model_name', `${s.ref.name} is a sequential recommender: call Recommend`);
    return s;
  }

  /** A sequential recommender for Recommend (empty name = the default recommender); an encoder there is INVALID_ARGUMENT. */
  recommenderFor(modelName: string, modelVersion: string): ServedRecommender {
    if (!modelName && this.recommenderName === undefined) throw notFound('no sequential recommender is served here');
    const s = this.modelFor(modelName || this.recommenderName, modelVersion);
    if (s.kind !== 'seqrec') throw invalidArgument('model_name', `${s.ref.name} is not a sequential recommender: call Rank`);
    return s;
  }

  private modelFor(name: string | undefined, modelVersion: string): Served {
    if (name === undefined) throw unavailable('no model is serving yet');
    if (modelVersion) {
      const s = this.served.get(key(name, modelVersion));
      if (!s) throw notFound(`model "${name}" version "${modelVersion}" is not loaded here (loaded: ${this.versionsOf(name) || 'none'})`);
      return s;
    }
    const d = this.defaults.get(name);
    if (!d) throw notFound(`model "${name}" is not served here (serving ${[...this.defaults.keys()].join(', ') || 'nothing'})`);
    return d;
  }

  implementation(): RankingServer {
    const deadlineOf = (ctx: CallContext) => Date.now() + ctx.remainingMs();
    return {
      rank: unary(async (req: RankRequest, ctx): Promise<RankResponse> => {
        const served = this.encoderFor(req.modelName, req.modelVersion);
        const candidates = validateCandidates(req, this.cfg.RANKING_MAX_CANDIDATES);
        const subject = req.subject;
        if (!subject) throw invalidArgument('subject', 'set query or profile');
        served.requests++;
        for (const c of candidates) this.recentTexts.set(c.text, true);
        try {
          if (subject.$case === 'query') {
            const q = subject.value.trim();
            if (!q) throw invalidArgument('query', 'must not be empty');
            if (q.length > MAX_TEXT) throw invalidArgument('query', `longer than ${MAX_TEXT} characters`);
            const ranked = await served.engine.rankByQuery(q, candidates, deadlineOf(ctx));
            return { ranked, model: served.ref };
          }
          const items = subject.value.items;
          if (items.length === 0) throw invalidArgument('profile.items', 'must not be empty');
          if (items.length > MAX_PROFILE_ITEMS) throw invalidArgument('profile.items', `at most ${MAX_PROFILE_ITEMS}`);
          items.forEach((it, i) => {
            if (it.text.length > MAX_TEXT) throw invalidArgument(`profile.items[${i}].text`, `longer than ${MAX_TEXT} characters`);
            if (!Number.isFinite(it.weight) || it.weight < 0) throw invalidArgument(`profile.items[${i}].weight`, 'must be a finite number >= 0');
          });
          const ranked = await served.engine.rankByProfile(items, candidates, deadlineOf(ctx));
          return { ranked, model: served.ref };
        } catch (e) {
          if (e instanceof GrpcError) throw e;
          return engineError(e);
        }
      }),
      recommend: unary(async (req: RecommendItemsRequest, ctx): Promise<RecommendItemsResponse> => {
        const served = this.recommenderFor(req.modelName, req.modelVersion);
        const ids = req.itemIds;
        if (ids.length === 0) throw invalidArgument('item_ids', 'must not be empty');
        if (ids.length > MAX_HISTORY) throw invalidArgument('item_ids', `at most ${MAX_HISTORY}, got ${ids.length}`);
        ids.forEach((id, i) => {
          if (!id.trim()) throw invalidArgument(`item_ids[${i}]`, 'must not be empty');
        });
        const k = req.k || DEFAULT_RECOMMEND_K;
        if (k > MAX_RECOMMEND_K) throw invalidArgument('k', `must be between 1 and ${MAX_RECOMMEND_K}, got ${k}`);
        const { filter, rowOf } = served.catalog;
        let rowAccept: ((row: number) => boolean) | undefined;
        try {
          rowAccept = filter.acceptFor(req.filters);
        } catch (e) {
          if (e instanceof FilterError) throw invalidArgument(e.field, e.message);
          throw e;
        }
        served.requests++;
        try {
          const r = await served.recommender.recommend(ids, k, {
            accept: (j) => rowOf[j]! >= 0 && (rowAccept?.(rowOf[j]!) ?? true),
            exclude: req.excludeIds,
            deadline: deadlineOf(ctx),
          });
          return { items: r.items, model: served.ref, unknownItemIds: r.unknown, usedItems: r.used };
        } catch (e) {
          if (e instanceof UnknownItemsError) throw invalidArgument('item_ids', e.message);
          return engineError(e);
        }
      }),
      embed: unary(async (req: EmbedRequest, ctx): Promise<EmbedResponse> => {
        const served = this.encoderFor(req.modelName, req.modelVersion);
        if (req.texts.length === 0) throw invalidArgument('texts', 'must not be empty');
        if (req.texts.length > MAX_EMBED_TEXTS) throw invalidArgument('texts', `at most ${MAX_EMBED_TEXTS} per call`);
        req.texts.forEach((t, i) => {
          if (t.length > MAX_TEXT) throw invalidArgument(`texts[${i}]`, `longer than ${MAX_TEXT} characters`);
        });
        served.requests++;
        try {
          const embs = await served.engine.embed(req.texts, deadlineOf(ctx));
          return { embeddings: embs.map((e) => ({ values: Array.from(e) })), model: served.ref };
        } catch (e) {
          return engineError(e);
        }
      }),
      loadModel: unary(async (req) => {
        const source = req.source;
        if (!source) throw invalidArgument('source', 'set registry_ref or local_path');
        if (req.variant && !/^[\w.-]{1,64}$/.test(req.variant)) throw invalidArgument('variant', 'must be a variant name such as int8 or fp32');
        if (req.unloadPreviousDefault && !req.makeDefault) throw invalidArgument('unload_previous_default', 'only with make_default');
        let dir: string;
        let opts: LoadOptions;
        const base = { variant: req.variant, makeDefault: req.makeDefault, unloadPreviousDefault: req.unloadPreviousDefault, waitForWarm: req.waitForWarm };
        if (source.$case === 'registryRef') {
          const ref = source.value.trim();
          if (!ref) throw invalidArgument('registry_ref', 'must not be empty');
          const name = req.modelName || this.cfg.RANKING_MODEL_NAME;
          const f = await this.fromRegistry(name, ref);
          dir = f.dir;
          opts = { ...base, name, version: f.version, source: ref };
        } else {
          if (!source.value.trim()) throw invalidArgument('local_path', 'must not be empty');
          dir = path.resolve(source.value);
          opts = { ...base, name: req.modelName || undefined, source: dir };
        }
        try {
          const { served: s, alreadyLoaded } = await this.load(dir, opts);
          return {
            model: s.ref,
            sha256: s.runtime.sha256,
            warmupMs: s.warmupMs,
            isDefault: this.defaults.get(s.ref.name) === s,
            alreadyLoaded,
            loaded: this.describe(s),
          };
        } catch (e) {
          if (e instanceof GrpcError) throw e;
          if (e instanceof ArtifactIntegrityError) throw failedPrecondition(e.message);
          throw failedPrecondition(`cannot load ${dir}: ${(e as Error).message}`);
        }
      }),
      setDefault: unary(async (req) => {
        if (!req.modelName) throw invalidArgument('model_name', 'must not be empty');
        if (!req.version) throw invalidArgument('version', 'must not be empty');
        const previousVersion = this.setDefault(req.modelName, req.version, req.unloadPrevious);
        return { model: this.defaults.get(req.modelName)!.ref, previousVersion };
      }),
      unloadModel: unary(async (req) => {
        if (!req.modelName) throw invalidArgument('model_name', 'must not be empty');
        if (!req.version) throw invalidArgument('version', 'must not be empty');
        await this.unload(req.modelName, req.version);
        return {};
      }),
      listModels: unary(async () => ({ models: this.list() })),
    };
  }
}

function validateCandidates(req: RankRequest, max: number): Candidate[] {
  if (req.candidates.length === 0) throw invalidArgument('candidates', 'must not be empty');
  if (req.candidates.length > max) throw invalidArgument('candidates', `at most ${max} per call, got ${req.candidates.length}`);
  return req.candidates.map((c, i) => {
    if (!c.id) throw invalidArgument(`candidates[${i}].id`, 'must not be empty');
    if (c.text.length > MAX_TEXT) throw invalidArgument(`candidates[${i}].text`, `longer than ${MAX_TEXT} characters`);
    if (!Number.isFinite(c.retrievalScore)) throw invalidArgument(`candidates[${i}].retrieval_score`, 'must be finite');
    return { id: c.id, text: c.text, retrievalScore: c.retrievalScore };
  });
}
