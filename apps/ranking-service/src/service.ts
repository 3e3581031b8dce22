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
} from '@ranksafe/proto';
import {
  ArtifactIntegrityError,
  BertEncoder,
  ExpiredError,
  QueueFullError,
  RankingEngine,
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
import { fetchForLoad, RegistryFetcher } from '@ranksafe/registry-client';
import { readIndexEmbeddings } from '@ranksafe/retrieval-core';
import type { RankingConfig } from './config';

interface Served {
  engine: RankingEngine;
  ref: ModelRef;
  dir: string;
  loadedAt: number;
  active: boolean;
}

const MAX_TEXT = 10_000;
const MAX_EMBED_TEXTS = 256;
const MAX_PROFILE_ITEMS = 200;

/** Map engine errors to gRPC statuses. */
function engineError(e: unknown): never {
  if (e instanceof QueueFullError) throw resourceExhausted(`ranking queue is full (${e.message}); retry with backoff`);
  if (e instanceof ExpiredError) throw deadlineExceeded(e.message);
  throw e;
}

/**
 * The ranking service: loaded models, the one serving traffic, and the RPCs. Loading warms a
 * model up before traffic moves to it; the replaced model drains what it has queued, then closes.
 */
export class RankingModels {
  private served: Served[] = [];

  constructor(
    private readonly cfg: RankingConfig,
    private readonly logger: Logger,
    private readonly onServingChange: (serving: boolean) => void = () => undefined,
  ) {}

  get active(): Served | undefined {
    return this.served.find((s) => s.active);
  }

  async load(dir: string, activate: boolean): Promise<Served> {
    const t0 = Date.now();
    const encoder = await BertEncoder.load(dir, {
      variant: this.cfg.RANKING_MODEL_VARIANT,
      executionProvider: this.cfg.RANKING_EXECUTION_PROVIDER,
      cudaFallbackToCpu: this.cfg.RANKING_CUDA_FALLBACK === 'cpu',
      intraOpThreads: this.cfg.RANKING_INTRA_OP_THREADS,
      runBatchSize: this.cfg.RANKING_RUN_BATCH_SIZE,
      onWarning: (w) => this.logger.warn(w),
    });
    const engine = new RankingEngine(encoder, {
      batcher: { maxBatchSize: this.cfg.RANKING_MAX_BATCH_SIZE, maxQueueDelayMs: this.cfg.RANKING_MAX_QUEUE_DELAY_MS, maxQueueSize: this.cfg.RANKING_MAX_QUEUE_SIZE },
      cacheSize: this.cfg.RANKING_CACHE_SIZE,
      retrievalWeight: this.cfg.RANKING_RETRIEVAL_WEIGHT,
    });
    this.primeCache(engine);
    // Warm up: the first runs allocate and pick kernels; do them before any request sees the model.
    await encoder.encode(['warm up']);
    await encoder.encode(Array.from({ length: this.cfg.RANKING_MAX_BATCH_SIZE }, (_, i) => `warm up text number ${i} for a full batch`));
    const ref: ModelRef = { name: encoder.manifest.name, version: `${encoder.variant}-${encoder.sha256.slice(0, 12)}`, kind: ModelKind.MODEL_KIND_BI_ENCODER };
    const existing = this.served.find((x) => x.ref.name === ref.name && x.ref.version === ref.version);
    if (existing && !activate && this.active) {
      await engine.close();
      return existing;
    }
    const s: Served = { engine, ref, dir, loadedAt: Date.now(), active: false };
    this.served.push(s);
    // A reload of a loaded version replaces that instance (it drains and closes once replaced).
    if (existing && !existing.active) {
      this.served = this.served.filter((x) => x !== existing);
      void existing.engine.close();
    }
    this.logger.info({ model: ref, ep: encoder.executionProvider, warmupMs: Date.now() - t0 }, 'model loaded and warm');
    if (activate || !this.active) this.activate(s);
    return s;
  }

  /** Warm the embedding cache from the catalog index when the same model version embedded it. */
  private primeCache(engine: RankingEngine): void {
    const p = this.cfg.RANKING_PRIME_INDEX;
    if (!p) return;
    try {
      const t0 = Date.now();
      const { manifest, texts, vectors } = readIndexEmbeddings(p);
      const n = engine.prime(manifest.embedding_model.sha256, texts, vectors);
      if (n === 0) {
        this.logger.info({ index: manifest.version, indexModel: manifest.embedding_model }, 'catalog index was embedded by another model version: cache not warmed');
      } else {
        this.logger.info({ index: manifest.version, entries: n, ms: Date.now() - t0 }, 'embedding cache warmed from the catalog index');
      }
    } catch (e) {
      this.logger.warn({ err: (e as Error).message, index: p }, 'cannot warm the embedding cache from the catalog index; serving cold');
    }
  }

  private fetcher?: RegistryFetcher;

  /**
   * Fetch a model through the registry into the local cache (sha256 verified while downloading
   * and again per file). Errors leave the serving model as it is.
   */
  async fromRegistry(name: string, ref: string): Promise<string> {
    if (!this.cfg.RANKING_REGISTRY_ADDRESS) throw failedPrecondition('no model registry is configured (RANKING_REGISTRY_ADDRESS); use local_path');
    this.fetcher ??= new RegistryFetcher(this.cfg.RANKING_REGISTRY_ADDRESS, this.cfg.RANKING_REGISTRY_CACHE_DIR, { token: this.cfg.ADMIN_TOKEN });
    const serving = this.active ? `still serving ${this.active.ref.name} ${this.active.ref.version}` : '';
    const f = await fetchForLoad(this.fetcher, name, ref, serving, (c) =>
      this.logger.warn({ name, ref, version: c.version }, 'model registry unreachable: loading the cached copy of the last resolution'),
    );
    return f.dir;
  }

  private activate(s: Served): void {
    const previous = this.active;
    if (previous === s) return;
    s.active = true;
    if (previous) {
      previous.active = false;
      // Requests already holding the old engine have queued their work; it drains, then closes.
      this.served = this.served.filter((x) => x !== previous);
      void previous.engine.close().then(() => this.logger.info({ model: previous.ref }, 'previous model unloaded'));
    }
    this.logger.info({ model: s.ref }, 'serving traffic');
    this.onServingChange(true);
  }

  async unload(name: string, version: string): Promise<void> {
    const s = this.served.find((x) => x.ref.name === name && (version === '' || x.ref.version === version));
    if (!s) throw notFound(`model ${name}${version ? ` version ${version}` : ''} is not loaded`);
    if (s.active) throw failedPrecondition(`model ${name} ${s.ref.version} serves traffic; load and activate another version first`);
    this.served = this.served.filter((x) => x !== s);
    await s.engine.close();
  }

  list(): LoadedModel[] {
    return this.served.map((s) => ({
      model: s.ref,
      sha256: s.engine.encoder.sha256,
      active: s.active,
      warm: true,
      executionProvider: s.engine.encoder.executionProvider,
      loadedAtUnixMs: s.loadedAt,
    }));
  }

  async closeAll(): Promise<void> {
    this.fetcher?.close();
    await Promise.all(this.served.map((s) => s.engine.close()));
    this.served = [];
  }

  /** The engine for a request: the active model, or NOT_FOUND / UNAVAILABLE. */
  engineFor(modelName: string): Served {
    const a = this.active;
    if (!a) throw unavailable('no model is serving yet');
    if (modelName && modelName !== a.ref.name) throw notFound(`model "${modelName}" is not served here (serving ${a.ref.name})`);
    return a;
  }

  implementation(): RankingServer {
    const deadlineOf = (ctx: CallContext) => Date.now() + ctx.remainingMs();
    return {
      rank: unary(async (req: RankRequest, ctx): Promise<RankResponse> => {
        const served = this.engineFor(req.modelName);
        const candidates = validateCandidates(req, this.cfg.RANKING_MAX_CANDIDATES);
        const subject = req.subject;
        if (!subject) throw invalidArgument('subject', 'set query or profile');
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
      embed: unary(async (req: EmbedRequest, ctx): Promise<EmbedResponse> => {
        const served = this.engineFor(req.modelName);
        if (req.texts.length === 0) throw invalidArgument('texts', 'must not be empty');
        if (req.texts.length > MAX_EMBED_TEXTS) throw invalidArgument('texts', `at most ${MAX_EMBED_TEXTS} per call`);
        req.texts.forEach((t, i) => {
          if (t.length > MAX_TEXT) throw invalidArgument(`texts[${i}]`, `longer than ${MAX_TEXT} characters`);
        });
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
        let dir: string;
        if (source.$case === 'registryRef') {
          if (!source.value.trim()) throw invalidArgument('registry_ref', 'must not be empty');
          dir = await this.fromRegistry(req.modelName || this.cfg.RANKING_MODEL_NAME, source.value.trim());
        } else {
          dir = path.resolve(source.value);
        }
        try {
          const s = await this.load(dir, req.activate || !this.active);
          return { model: s.ref, sha256: s.engine.encoder.sha256, warmupMs: Date.now() - s.loadedAt };
        } catch (e) {
          if (e instanceof GrpcError) throw e;
          if (e instanceof ArtifactIntegrityError) throw failedPrecondition(e.message);
          throw failedPrecondition(`cannot load ${dir}: ${(e as Error).message}`);
        }
      }),
      unloadModel: unary(async (req) => {
        if (!req.modelName) throw invalidArgument('model_name', 'must not be empty');
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
