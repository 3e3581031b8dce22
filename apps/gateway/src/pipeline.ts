import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { Counter, Histogram, type Registry } from 'prom-client';
import {
  Candidate,
  GetProductsRequest,
  GetUserHistoryRequest,
  RankRequest,
  RecommendItemsRequest,
  RetrieveRequest,
  type ModelRef,
  type RankedCandidate,
  type RankingClient,
  type RecommendRequest,
  type RecommendResponse,
  type RetrievalClient,
  type ScoredProduct,
  type SearchRequest,
  type SearchResponse,
  type WeightedItem,
} from '@ranksafe/proto';
import { GrpcError, invalidArgument, resourceExhausted, unavailable, type CallContext, type Logger, type ReplicaPool } from '@ranksafe/serving-kit';
import { CanaryAnalyzer, pickVariant, shouldMirror, type AnalysisVariant, type Variant } from './canary';
import type { GatewayConfig } from './config';
import { analysedPath, PRODUCTION_ONLY, routingFor, type RoutingTable } from './routing';

const MAX_RECENT_ITEMS = 200;
/** Time kept back from a stage budget for the rest of the request. */
const MARGIN_MS = 5;

export type DegradedReason = 'ranking_unavailable' | 'ranking_timeout' | 'ranking_overloaded' | 'ranking_error';

export class GatewayMetrics {
  readonly degraded: Counter<'rpc' | 'reason'>;
  readonly stageSeconds: Histogram<'rpc' | 'stage'>;
  readonly variantRequests: Counter<'rpc' | 'variant' | 'outcome'>;
  readonly variantSeconds: Histogram<'rpc' | 'variant'>;
  readonly mirrorOverlap: Histogram<'rpc' | 'canary_version'>;
  readonly mirrorDrift: Histogram<'rpc' | 'canary_version'>;
  readonly recommendPath: Counter<'path' | 'fallback_reason'>;
  constructor(registry: Registry) {
    this.recommendPath = new Counter({
      name: 'ranksafe_gateway_recommend_path_total',
      help: 'Recommend answers by the path that gave them (sequential, profile, popularity) and why the sequential recommender did not (fallback_reason; empty when it answered or was not asked)',
      labelNames: ['path', 'fallback_reason'],
      registers: [registry],
    });
    this.variantRequests = new Counter({
      name: 'ranksafe_gateway_variant_requests_total',
      help: 'Ranking calls per routing variant (production, canary: answered; mirror: shadow calls to the canary) and outcome (ok, error)',
      labelNames: ['rpc', 'variant', 'outcome'],
      registers: [registry],
    });
    this.variantSeconds = new Histogram({
      name: 'ranksafe_gateway_variant_ranking_seconds',
      help: 'Ranking stage latency per routing variant',
      labelNames: ['rpc', 'variant'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    this.mirrorOverlap = new Histogram({
      name: 'ranksafe_gateway_mirror_top10_overlap',
      help: "Mirrored requests: share of production's top 10 that the canary also ranks in its top 10",
      labelNames: ['rpc', 'canary_version'],
      buckets: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
      registers: [registry],
    });
    this.mirrorDrift = new Histogram({
      name: 'ranksafe_gateway_mirror_score_drift',
      help: 'Mirrored requests: mean |canary model score - production model score| over the candidates',
      labelNames: ['rpc', 'canary_version'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    });
    this.degraded = new Counter({
      name: 'ranksafe_gateway_degraded_total',
      help: 'Responses served in retrieval order because ranking was unavailable, too slow or overloaded',
      labelNames: ['rpc', 'reason'],
      registers: [registry],
    });
    this.stageSeconds = new Histogram({
      name: 'ranksafe_gateway_stage_seconds',
      help: 'Time spent in each stage of a request',
      labelNames: ['rpc', 'stage'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
  }
}

function degradedReason(e: unknown): DegradedReason {
  switch ((e as Partial<ServiceError>).code) {
    case status.UNAVAILABLE:
      return 'ranking_unavailable';
    case status.DEADLINE_EXCEEDED:
    case status.CANCELLED:
      return 'ranking_timeout';
    case status.RESOURCE_EXHAUSTED:
      return 'ranking_overloaded';
    default:
      return 'ranking_error';
  }
}

/** Re-raise a downstream error to our caller: bad input keeps its status and field, overload is RESOURCE_EXHAUSTED; the rest is UNAVAILABLE. */
function fromRetrieval(e: unknown, renameField?: Record<string, string>): never {
  const err = e as Partial<ServiceError>;
  if (err.code === status.INVALID_ARGUMENT || err.code === status.NOT_FOUND) {
    const field = err.metadata?.get('field')[0]?.toString();
    if (err.code === status.INVALID_ARGUMENT && field) {
      const problem = (err.details ?? '').replace(new RegExp(`^${field.replace(/[.[\]]/g, '\\$&')}: `), '');
      throw invalidArgument(renameField?.[field] ?? field, problem);
    }
    throw new GrpcError(err.code, err.details ?? 'error');
  }
  if (err.code === status.DEADLINE_EXCEEDED) throw new GrpcError(status.DEADLINE_EXCEEDED, `retrieval did not answer within its budget: ${err.details}`);
  // Every retrieval replica shed it: the caller is told to back off, as the gateway's own admission would.
  if (err.code === status.RESOURCE_EXHAUSTED) throw resourceExhausted(`retrieval is overloaded: ${err.details}`);
  throw unavailable(`retrieval is unavailable: ${err.details ?? (e as Error).message}`);
}

/**
 * The serving path: retrieval top N → ranking → top k, each stage within its own deadline budget.
 * When ranking fails for any reason the answer is still given, in retrieval order, marked degraded.
 * The query and filters are validated once, by the retrieval service that knows the catalog; its
 * INVALID_ARGUMENT (with the field) is passed through.
 */
export class SearchPipeline {
  constructor(
    private readonly cfg: GatewayConfig,
    private readonly retrieval: ReplicaPool<RetrievalClient>,
    private readonly ranking: ReplicaPool<RankingClient>,
    private readonly metrics: GatewayMetrics,
    private readonly logger: Logger,
    private readonly routing?: RoutingTable,
    readonly analysis: CanaryAnalyzer = new CanaryAnalyzer(),
  ) {}

  private k(k: number): number {
    if (k === 0) return this.cfg.GATEWAY_DEFAULT_K;
    if (k > this.cfg.GATEWAY_MAX_K) throw invalidArgument('k', `must be between 1 and ${this.cfg.GATEWAY_MAX_K}, got ${k}`);
    return k;
  }

  private budget(ctx: CallContext, stageMs: number): number {
    const left = ctx.remainingMs() - MARGIN_MS;
    if (left <= 0) throw new GrpcError(status.DEADLINE_EXCEEDED, 'the request deadline passed');
    return Math.max(1, Math.min(stageMs, left));
  }

  /**
   * A retrieval call's options: each attempt within the stage budget, and one more attempt on
   * another replica when the first runs out of it (GATEWAY_RETRIEVAL_ATTEMPTS), all within the
   * caller's deadline — a replica stalled for a moment (a model load on its cores) fails no request.
   */
  private retrievalCall(ctx: CallContext, md: Metadata) {
    const per = this.cfg.GATEWAY_RETRIEVAL_BUDGET_MS;
    return { deadlineMs: this.budget(ctx, per * this.cfg.GATEWAY_RETRIEVAL_ATTEMPTS), attemptTimeoutMs: per, idempotent: true, metadata: md };
  }

  private async timed<T>(rpc: string, stage: string, f: () => Promise<T>): Promise<T> {
    const end = this.metrics.stageSeconds.startTimer({ rpc, stage });
    try {
      return await f();
    } finally {
      end();
    }
  }

  async search(req: SearchRequest, ctx: CallContext): Promise<SearchResponse> {
    const query = req.query.trim();
    if (!query) throw invalidArgument('query', 'must not be empty');
    const k = this.k(req.k);
    if (req.rerankDepth > this.cfg.GATEWAY_TOP_N) throw invalidArgument('rerank_depth', `at most ${this.cfg.GATEWAY_TOP_N}, got ${req.rerankDepth}`);
    const topN = Math.max(k, req.rerankDepth || this.cfg.GATEWAY_TOP_N);
    const md = requestMetadata(req.requestId);

    const retrieved = await this.timed('search', 'retrieval', () =>
      this.retrieval
        .call((c) => c.retrieve, RetrieveRequest.fromPartial({ query, filters: req.filters, topN }), {
          ...this.retrievalCall(ctx, md),
        })
        .catch((e) => fromRetrieval(e)),
    );
    const ranked = await this.rank(
      'search',
      retrieved.candidates,
      RankRequest.fromPartial({ subject: { $case: 'query', value: query } }),
      ctx,
      md,
      req.requestId,
    );
    return { ...this.answer(retrieved.candidates, ranked, k), indexVersion: retrieved.indexVersion, requestId: req.requestId, variant: ranked.variant };
  }

  /**
   * Recommend: the sequential-recommender model first, from the subject's item history (a user's
   * interactions, or a session's recent items); when it cannot answer (no such model served, none of
   * the items known to it, unavailable, too slow) the embedding profile of the same items, ranked by
   * the ranking model; and for a known user none of whose items the catalog still has, the catalog's
   * most popular items. The response names the path that answered and why the sequential one did not.
   */
  async recommend(req: RecommendRequest, ctx: CallContext): Promise<RecommendResponse> {
    const k = this.k(req.k);
    const md = requestMetadata(req.requestId);
    const subject = req.subject;
    if (!subject) throw invalidArgument('subject', 'set user_id or recent.item_ids');
    let seeds: WeightedItem[];
    let seedField: string;
    if (subject.$case === 'userId') {
      const userId = subject.value.trim();
      if (!userId) throw invalidArgument('user_id', 'must not be empty');
      const history = await this.timed('recommend', 'history', () =>
        this.retrieval
          .call((c) => c.getUserHistory, GetUserHistoryRequest.fromPartial({ userId, limit: this.cfg.GATEWAY_PROFILE_ITEMS }), {
            ...this.retrievalCall(ctx, md),
          })
          .catch((e) => fromRetrieval(e)),
      );
      seeds = history.interactions.map((i) => ({ id: i.itemId, weight: i.rating || 1 }));
      if (!seeds.length) throw new GrpcError(status.NOT_FOUND, `user "${userId}" has no interactions`);
      seedField = 'user_id';
    } else {
      const ids = subject.value.itemIds;
      if (ids.length === 0) throw invalidArgument('recent.item_ids', 'must not be empty');
      if (ids.length > MAX_RECENT_ITEMS) throw invalidArgument('recent.item_ids', `at most ${MAX_RECENT_ITEMS}, got ${ids.length}`);
      if (ids.some((id) => !id.trim())) throw invalidArgument('recent.item_ids', 'must not hold empty ids');
      seeds = ids.slice(-this.cfg.GATEWAY_PROFILE_ITEMS).map((id) => ({ id, weight: 1 }));
      seedField = 'recent.item_ids';
    }
    const base = { requestId: req.requestId };
    let fallbackReason = '';
    if (this.cfg.GATEWAY_RECOMMENDER === 'sequential') {
      const seq = await this.sequential(
        seeds.map((s) => s.id),
        k,
        req,
        ctx,
        md,
      );
      if ('answer' in seq) {
        this.metrics.recommendPath.inc({ path: 'sequential', fallback_reason: '' });
        return { ...seq.answer, ...base };
      }
      fallbackReason = seq.reason;
    }
    const topN = Math.max(k, this.cfg.GATEWAY_TOP_N);
    let retrieved, profile;
    try {
      [retrieved, profile] = await this.timed('recommend', 'retrieval', () =>
        Promise.all([
          this.retrieval.call((c) => c.retrieve, RetrieveRequest.fromPartial({ seeds, filters: req.filters, topN }), {
            ...this.retrievalCall(ctx, md),
          }),
          this.retrieval.call((c) => c.getProducts, GetProductsRequest.fromPartial({ ids: seeds.map((s) => s.id) }), {
            ...this.retrievalCall(ctx, md),
          }),
        ]),
      );
    } catch (e) {
      // A known user none of whose items the catalog still has: nothing personal is left, answer what is popular.
      if (subject.$case === 'userId' && isSeedsRefused(e)) return { ...(await this.popular(seeds, k, req, ctx, md, fallbackReason)), ...base };
      return fromRetrieval(e, { seeds: seedField });
    }
    const weightOf = new Map(seeds.map((s) => [s.id, s.weight]));
    const items = profile.products.map((p, i) => ({ text: profile.rankTexts[i] ?? p.title, weight: weightOf.get(p.id) ?? 1 }));
    const ranked = await this.rank(
      'recommend',
      retrieved.candidates,
      RankRequest.fromPartial({ subject: { $case: 'profile', value: { items } } }),
      ctx,
      md,
      req.requestId,
    );
    this.metrics.recommendPath.inc({ path: 'profile', fallback_reason: fallbackReason });
    return {
      ...this.answer(retrieved.candidates, ranked, k),
      ...base,
      variant: ranked.variant,
      path: 'profile',
      fallbackReason,
      ignoredItemIds: profile.missingIds,
    };
  }

  /**
   * The sequential recommender's top k for these items, with the products; or why it could not answer.
   * A sequential-recommender split (Routing.model_kind) picks the version per request like rank()
   * does for the ranking model, and its answers count in the canary analysis (rpc "recommend_sequential").
   * Items unknown to the model are the request's, not the model's fault: they count as answered.
   */
  private async sequential(
    itemIds: string[],
    k: number,
    req: RecommendRequest,
    ctx: CallContext,
    md: Metadata,
  ): Promise<{ answer: Omit<RecommendResponse, 'requestId'> } | { reason: SequentialFallback }> {
    const routing = this.routingFor('sequential');
    const variant = pickVariant(routing, req.requestId);
    const analysed = this.analysed('sequential');
    let res;
    const t0 = performance.now();
    try {
      res = await this.timed('recommend', 'sequential', () =>
        this.ranking.call(
          (c) => c.recommend,
          RecommendItemsRequest.fromPartial({
            itemIds,
            k,
            filters: req.filters,
            modelName: routing.modelName || this.cfg.GATEWAY_RECOMMENDER_MODEL,
            modelVersion: variant === 'canary' ? routing.canaryVersion : '',
          }),
          { deadlineMs: this.budget(ctx, this.cfg.GATEWAY_RANKING_BUDGET_MS), idempotent: true, metadata: md },
        ),
      );
      this.observe('recommend_sequential', variant, performance.now() - t0, true, res.model?.version, analysed);
    } catch (e) {
      const err = e as Partial<ServiceError>;
      const field = err.metadata?.get('field')[0]?.toString() ?? '';
      this.observe('recommend_sequential', variant, performance.now() - t0, sequentialFallback(err.code, field) === 'unknown_items', undefined, analysed);
      // Bad filters are the caller's: the ranking service checks them against the same catalog retrieval does.
      if (err.code === status.INVALID_ARGUMENT && field.startsWith('filters')) return fromRetrieval(e);
      if (e instanceof GrpcError && e.code === status.DEADLINE_EXCEEDED && ctx.remainingMs() <= 0) throw e;
      const reason = sequentialFallback(err.code, field);
      (reason === 'error' ? this.logger.error : this.logger.debug).call(
        this.logger,
        { reason, code: err.code, details: err.details ?? (e as Error).message },
        'sequential recommender did not answer: falling back to the embedding profile',
      );
      return { reason };
    }
    if (res.items.length === 0) return { reason: 'no_results' };
    const products = await this.timed('recommend', 'products', () =>
      this.retrieval
        .call((c) => c.getProducts, GetProductsRequest.fromPartial({ ids: res.items.map((x) => x.id) }), this.retrievalCall(ctx, md))
        .catch((e) => fromRetrieval(e)),
    );
    const byId = new Map(products.products.map((p) => [p.id, p]));
    const results: ScoredProduct[] = [];
    for (const x of res.items) {
      const product = byId.get(x.id);
      if (product) results.push({ product, score: x.score, retrievalRank: 0 });
    }
    if (results.length === 0) return { reason: 'no_results' };
    return {
      answer: {
        results,
        degraded: false,
        degradedReason: '',
        rankingModel: res.model,
        variant,
        path: 'sequential',
        fallbackReason: '',
        ignoredItemIds: res.unknownItemIds,
      },
    };
  }

  /** The catalog's most popular items under the filters, leaving out what the subject has. */
  private async popular(
    seeds: WeightedItem[],
    k: number,
    req: RecommendRequest,
    ctx: CallContext,
    md: Metadata,
    fallbackReason: string,
  ): Promise<Omit<RecommendResponse, 'requestId'>> {
    const res = await this.timed('recommend', 'retrieval', () =>
      this.retrieval
        .call((c) => c.retrieve, RetrieveRequest.fromPartial({ popular: true, excludeIds: seeds.map((s) => s.id), filters: req.filters, topN: k }), {
          ...this.retrievalCall(ctx, md),
        })
        .catch((e) => fromRetrieval(e)),
    );
    this.metrics.recommendPath.inc({ path: 'popularity', fallback_reason: fallbackReason });
    return {
      results: res.candidates.map((c, i) => ({ product: c.product, score: c.fusedScore, retrievalRank: i + 1 })),
      degraded: false,
      degradedReason: '',
      rankingModel: undefined,
      variant: 'production',
      path: 'popularity',
      fallbackReason,
      ignoredItemIds: seeds.map((s) => s.id),
    };
  }

  private get current() {
    return this.routing?.routing ?? PRODUCTION_ONLY;
  }

  private routingFor(path: 'rank' | 'sequential') {
    return routingFor(this.current, path);
  }

  private analysed(path: 'rank' | 'sequential'): boolean {
    return analysedPath(this.current) === path;
  }

  /** Count one call in Prometheus, and in the canary analysis when its path is the one analysed (see analysedPath). */
  private observe(rpc: string, variant: AnalysisVariant, ms: number, ok: boolean, version?: string, analysed = true): void {
    if (analysed) this.analysis.record(variant, ms, ok, version);
    this.metrics.variantRequests.inc({ rpc, variant, outcome: ok ? 'ok' : 'error' });
    this.metrics.variantSeconds.observe({ rpc, variant }, ms / 1000);
  }

  /**
   * Rescore candidates with the variant the routing picks for this request (production: the
   * ranking service's default version; canary: RankRequest.model_version = the candidate); on any
   * failure return undefined and the reason (the caller degrades). A sample of what production
   * answers is mirrored to the canary in the background and compared, never answered.
   */
  private async rank(
    rpc: string,
    candidates: Candidate[],
    subject: RankRequest,
    ctx: CallContext,
    md: Metadata,
    requestId: string,
  ): Promise<{ ranked?: RankedCandidate[]; model?: ModelRef; reason?: DegradedReason; variant: Variant }> {
    const routing = this.routingFor('rank');
    const variant = pickVariant(routing, requestId);
    const analysed = this.analysed('rank');
    if (candidates.length === 0) return { ranked: [], variant };
    const req: RankRequest = {
      ...subject,
      candidates: candidates.map((c) => ({ id: c.product!.id, text: c.rankText || c.product!.title, retrievalScore: c.fusedScore })),
      modelName: routing.modelName,
      modelVersion: variant === 'canary' ? routing.canaryVersion : '',
    };
    const t0 = performance.now();
    try {
      const res = await this.timed(rpc, 'ranking', () =>
        this.ranking.call((c) => c.rank, req, { deadlineMs: this.budget(ctx, this.cfg.GATEWAY_RANKING_BUDGET_MS), idempotent: true, metadata: md }),
      );
      this.observe(rpc, variant, performance.now() - t0, true, res.model?.version, analysed);
      if (variant === 'production' && shouldMirror(routing))
        void this.mirror(rpc, { ...req, modelVersion: routing.canaryVersion }, res.ranked, routing.canaryVersion, md);
      return { ranked: res.ranked, model: res.model, variant };
    } catch (e) {
      this.observe(rpc, variant, performance.now() - t0, false, undefined, analysed);
      if (e instanceof GrpcError && e.code === status.DEADLINE_EXCEEDED && ctx.remainingMs() <= 0) throw e;
      const reason = degradedReason(e);
      this.metrics.degraded.inc({ rpc, reason });
      const err = e as Partial<ServiceError>;
      (reason === 'ranking_error' ? this.logger.error : this.logger.warn).call(
        this.logger,
        { rpc, reason, variant, code: err.code, details: err.details ?? (e as Error).message },
        'ranking skipped: answering in retrieval order',
      );
      return { reason, variant };
    }
  }

  /** Rank the same request with the canary and compare with what production answered; failures only count. */
  private async mirror(rpc: string, req: RankRequest, production: RankedCandidate[], canaryVersion: string, md: Metadata): Promise<void> {
    const t0 = performance.now();
    try {
      const res = await this.ranking.call((c) => c.rank, req, { deadlineMs: this.cfg.GATEWAY_RANKING_BUDGET_MS, idempotent: true, metadata: md });
      this.observe(rpc, 'mirror', performance.now() - t0, true, res.model?.version);
      const { overlap, drift } = this.analysis.compare(production, res.ranked);
      this.metrics.mirrorOverlap.observe({ rpc, canary_version: canaryVersion }, overlap);
      this.metrics.mirrorDrift.observe({ rpc, canary_version: canaryVersion }, drift);
    } catch (e) {
      this.observe(rpc, 'mirror', performance.now() - t0, false);
      this.logger.debug({ rpc, canaryVersion, err: (e as Partial<ServiceError>).details ?? (e as Error).message }, 'mirrored ranking call failed');
    }
  }

  private answer(
    candidates: Candidate[],
    r: { ranked?: RankedCandidate[]; model?: ModelRef; reason?: DegradedReason },
    k: number,
  ): { results: ScoredProduct[]; degraded: boolean; degradedReason: string; rankingModel: ModelRef | undefined } {
    const rankOf = new Map(candidates.map((c, i) => [c.product!.id, i]));
    if (!r.ranked) {
      return {
        results: candidates.slice(0, k).map((c, i) => ({ product: c.product, score: c.fusedScore, retrievalRank: i + 1 })),
        degraded: true,
        degradedReason: r.reason ?? 'ranking_error',
        rankingModel: undefined,
      };
    }
    const results: ScoredProduct[] = [];
    for (const x of r.ranked) {
      const i = rankOf.get(x.id);
      if (i === undefined) continue;
      results.push({ product: candidates[i]!.product, score: x.score, retrievalRank: i + 1 });
      if (results.length === k) break;
    }
    return { results, degraded: false, degradedReason: '', rankingModel: r.model };
  }
}

export type SequentialFallback = 'no_model' | 'unknown_items' | 'unavailable' | 'timeout' | 'overloaded' | 'error' | 'no_results';

/** Why the sequential recommender did not answer, from its status (and the field it named). */
export function sequentialFallback(code: number | undefined, field: string): SequentialFallback {
  switch (code) {
    case status.NOT_FOUND:
    case status.UNIMPLEMENTED:
      return 'no_model';
    case status.INVALID_ARGUMENT:
      return field.startsWith('item_ids') ? 'unknown_items' : 'error';
    case status.UNAVAILABLE:
      return 'unavailable';
    case status.DEADLINE_EXCEEDED:
    case status.CANCELLED:
      return 'timeout';
    case status.RESOURCE_EXHAUSTED:
      return 'overloaded';
    default:
      return 'error';
  }
}

/** Retrieval refused a profile because none of its seed items is in the catalog. */
function isSeedsRefused(e: unknown): boolean {
  const err = e as Partial<ServiceError>;
  return err.code === status.INVALID_ARGUMENT && err.metadata?.get('field')[0]?.toString() === 'seeds';
}

function requestMetadata(requestId: string): Metadata {
  const md = new Metadata();
  if (requestId) md.set('x-request-id', requestId);
  return md;
}
