// The whole hot path over real gRPC: gateway → retrieval-service → 2 ranking-service replicas,
// with a real catalog index and the real all-MiniLM-L6-v2 model. Degraded mode, bad input, and
// losing ranking replicas under load.
import * as grpc from '@grpc/grpc-js';
import { closedLoop, openLoop } from '@ranksafe/loadgen';
import { FaultKind, RecommendRequest, SearchClient, SearchRequest, type SearchResponse } from '@ranksafe/proto';
import { CatalogIndex } from '@ranksafe/retrieval-core';
import { listReflectedServices, type RunningService, unaryCall } from '@ranksafe/serving-kit';
import { eventually, testCatalogIndex } from '@ranksafe/testing';
/* eslint-disable @nx/enforce-module-boundaries -- an integration test of the whole hot path runs the real services in-process; apps never import each other outside tests */
import { startRankingService } from '../../ranking-service/src/app';
import { loadRankingConfig } from '../../ranking-service/src/config';
import type { RankingModels } from '../../ranking-service/src/service';
import { startRetrievalService } from '../../retrieval-service/src/app';
import { loadRetrievalConfig } from '../../retrieval-service/src/config';
/* eslint-enable @nx/enforce-module-boundaries */
import { startGateway, type RunningGateway } from './app';
import { loadGatewayConfig } from './config';

const insecure = grpc.credentials.createInsecure();
const quiet = { GRPC_PORT: '0', METRICS_PORT: '-1', LOG_LEVEL: 'error', ADMIN_TOKEN: 'gateway-test-token', SHUTDOWN_GRACE_MS: '5000' };

describe('gateway: Search and Recommend over the real services', () => {
  let retrieval: RunningService;
  const ranking: RunningService[] = [];
  const models: RankingModels[] = [];
  let gw: RunningGateway;
  let client: SearchClient;
  let index: CatalogIndex;
  const search = (req: Partial<SearchRequest>, deadlineMs = 10_000): Promise<SearchResponse> =>
    unaryCall(client.search.bind(client), SearchRequest.fromPartial(req), { deadlineMs });
  const recommend = (req: Partial<RecommendRequest>) => unaryCall(client.recommend.bind(client), RecommendRequest.fromPartial(req), { deadlineMs: 10_000 });
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected the call to fail');
      },
      (e: grpc.ServiceError) => e,
    );
  const degradedCount = async (reason: string) => {
    const m = await gw.svc.metrics.registry.getSingleMetric('ranksafe_gateway_degraded_total')!.get();
    return m.values.filter((v) => v.labels.reason === reason).reduce((s, v) => s + v.value, 0);
  };

  beforeAll(async () => {
    const fixture = await testCatalogIndex({ products: 1500, users: 60 });
    index = CatalogIndex.load(fixture.dir);
    ({ svc: retrieval } = await startRetrievalService(loadRetrievalConfig({ ...quiet, RETRIEVAL_INDEX: fixture.root }), { handleSignals: false }));
    for (let i = 0; i < 2; i++) {
      const cfg = loadRankingConfig({ ...quiet, INSTANCE_ID: `ranking-${i}`, RANKING_INTRA_OP_THREADS: '1', RANKING_PRIME_INDEX: fixture.root });
      const started = await startRankingService(cfg, { handleSignals: false });
      ranking.push(started.svc);
      models.push(started.models);
    }
    gw = await startGateway(
      loadGatewayConfig({
        ...quiet,
        RETRIEVAL_TARGETS: retrieval.address,
        RANKING_TARGETS: ranking.map((r) => r.address).join(','),
        GATEWAY_HEALTH_INTERVAL_MS: '200',
        GATEWAY_RANKING_BUDGET_MS: '2000',
        GATEWAY_RETRIEVAL_BUDGET_MS: '2000',
      }),
      { handleSignals: false },
    );
    client = new SearchClient(gw.svc.address, insecure);
    await eventually(() => gw.ranking.readyCount() === 2 && gw.retrieval.readyCount() === 1, 15_000);
  }, 300_000);
  afterAll(async () => {
    client?.close();
    await gw?.svc.shutdown();
    await Promise.all(ranking.map((r) => r.shutdown()));
    await retrieval?.shutdown();
  });

  it('each server lists through reflection what it serves, and only that', async () => {
    const base = ['grpc.health.v1.Health', 'ranksafe.v1.Admin'];
    expect(await listReflectedServices(gw.svc.address)).toEqual([...base, 'ranksafe.v1.GatewayAdmin', 'ranksafe.v1.Search']);
    expect(await listReflectedServices(retrieval.address)).toEqual([...base, 'ranksafe.v1.Retrieval']);
    expect(await listReflectedServices(ranking[0]!.address)).toEqual([...base, 'ranksafe.v1.Ranking']);
  });

  it('answers a search with ranked products from the production model', async () => {
    const target = index.products[77]!;
    const res = await search({ query: target.title, k: 5, requestId: 'req-1' });
    expect(res.degraded).toBe(false);
    expect(res.results).toHaveLength(5);
    expect(res.rankingModel?.name).toBe('minilm-l6-v2');
    expect(res.indexVersion).toBe(index.version);
    expect(res.requestId).toBe('req-1');
    expect(res.results.map((r) => r.product!.title)).toContain(target.title);
    for (let i = 1; i < res.results.length; i++) expect(res.results[i - 1]!.score).toBeGreaterThanOrEqual(res.results[i]!.score);
    for (const r of res.results) expect(r.retrievalRank).toBeGreaterThanOrEqual(1);
  });

  it('ranks catalog products from the embedding cache warmed with the index (only the query is encoded)', async () => {
    const engines = models.map((m) => m.primary!.engine);
    const distinctTexts = new Set(index.products.map((_, i) => index.rankText(i))).size;
    for (const e of engines) expect(e.cache.size).toBeGreaterThanOrEqual(distinctTexts);
    const misses = () => engines.reduce((s, e) => s + e.cache.misses, 0);
    const before = misses();
    const res = await search({ query: `${index.products[300]!.title} gift idea`, k: 10 });
    expect(res.degraded).toBe(false);
    expect(misses() - before).toBe(1);
  });

  it('honours filters and a smaller rerank depth', async () => {
    const p = index.products[5]!;
    const top = p.category.split(' > ')[0]!;
    const res = await search({ query: p.title, k: 10, rerankDepth: 30, filters: { categories: [top], brands: [] } });
    expect(res.degraded).toBe(false);
    for (const r of res.results) expect(r.product!.category.startsWith(top)).toBe(true);
    for (const r of res.results) expect(r.retrievalRank).toBeLessThanOrEqual(30);
  });

  it('recommends for a known user and for a session of recent items', async () => {
    const userId = [...Array(60).keys()].map((i) => `u${String(i + 1).padStart(4, '0')}`).find((id) => index.user(id))!;
    const byUser = await recommend({ subject: { $case: 'userId', value: userId }, k: 8 });
    expect(byUser.degraded).toBe(false);
    expect(byUser.results).toHaveLength(8);
    const seen = new Set(index.user(userId)!.items.map((i) => i.id));
    for (const r of byUser.results) expect(seen.has(r.product!.id)).toBe(false);
    const recent = [index.products[10]!.id, index.products[11]!.id];
    const bySession = await recommend({ subject: { $case: 'recent', value: { itemIds: recent } }, k: 4 });
    expect(bySession.results).toHaveLength(4);
    expect(bySession.rankingModel?.name).toBe('minilm-l6-v2');
    // No sequential recommender is served here: the embedding profile answers, and says why.
    for (const r of [byUser, bySession]) expect(r).toMatchObject({ path: 'profile', fallbackReason: 'no_model', ignoredItemIds: [] });
    const unknown = await failure(recommend({ subject: { $case: 'userId', value: 'nobody' } }));
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
  });

  it.each([
    ['search', { query: '' }, 'query'],
    ['search', { query: 'q'.repeat(513) }, 'query'],
    ['search', { query: 'sofa', k: 1000 }, 'k'],
    ['search', { query: 'sofa', rerankDepth: 5000 }, 'rerank_depth'],
    ['search', { query: 'sofa', filters: { categories: ['Spaceships'], brands: [] } }, 'filters.categories'],
    ['search', { query: 'sofa', filters: { categories: [], brands: [], minPrice: 10, maxPrice: 1 } }, 'filters.min_price'],
    ['recommend', {}, 'subject'],
    ['recommend', { subject: { $case: 'recent', value: { itemIds: [] } } }, 'recent.item_ids'],
    ['recommend', { subject: { $case: 'recent', value: { itemIds: Array.from({ length: 201 }, (_, i) => `p${i}`) } } }, 'recent.item_ids'],
    ['recommend', { subject: { $case: 'recent', value: { itemIds: ['no-such-item'] } } }, 'recent.item_ids'],
  ] as Array<[string, object, string]>)('%s answers bad input with INVALID_ARGUMENT naming the field (%#)', async (rpc, req, field) => {
    const err = await failure(rpc === 'search' ? search(req) : recommend(req));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.metadata.get('field')).toEqual([field]);
  });

  it('degrades to retrieval order when ranking is slower than its budget', async () => {
    const faults = ranking.map((r) =>
      r.faults.inject({ kind: FaultKind.FAULT_KIND_LATENCY, methods: ['/ranksafe.v1.Ranking/Rank'], latencyMs: 3000, statusCode: 0, probability: 0, ttlMs: 0 }),
    );
    try {
      const before = await degradedCount('ranking_timeout');
      const res = await search({ query: 'coffee table', k: 5 });
      expect(res).toMatchObject({ degraded: true, degradedReason: 'ranking_timeout' });
      expect(res.results).toHaveLength(5);
      expect(res.results.map((r) => r.retrievalRank)).toEqual([1, 2, 3, 4, 5]);
      expect(await degradedCount('ranking_timeout')).toBe(before + 1);
    } finally {
      ranking.forEach((r, i) => r.faults.clear(faults[i]!.id));
    }
  });

  it('degrades when every ranking replica is overloaded', async () => {
    const faults = ranking.map((r) =>
      r.faults.inject({
        kind: FaultKind.FAULT_KIND_ERROR,
        methods: ['/ranksafe.v1.Ranking/Rank'],
        latencyMs: 0,
        statusCode: grpc.status.RESOURCE_EXHAUSTED,
        probability: 0,
        ttlMs: 0,
      }),
    );
    try {
      const res = await search({ query: 'running shoes', k: 3 });
      expect(res).toMatchObject({ degraded: true, degradedReason: 'ranking_overloaded' });
      expect(res.results).toHaveLength(3);
    } finally {
      ranking.forEach((r, i) => r.faults.clear(faults[i]!.id));
    }
  });

  it('answers an open-loop arrival stream in full (loadgen over real gRPC)', async () => {
    // 2/s: far below what the closed loops here reach, even on a busy 2-core machine (the rate is
    // held whatever the answers take, so above capacity this would see DEADLINE_EXCEEDED).
    const s = await openLoop({
      ratePerSec: 2,
      count: 10,
      maxInFlight: 64,
      request: (i) => search({ query: index.products[i]!.title, k: 5 }),
      classify: (r) => ({ degraded: r.degraded }),
      timeline: true,
    }).done;
    expect(s.errorSamples).toEqual([]);
    expect(s).toMatchObject({ mode: 'open', scheduled: 10, sent: 10, completed: 10, ok: 10, dropped: 0, failedTotal: 0 });
    expect(s.latencyMs.count).toBe(10);
    expect(s.timeline!.reduce((n, p) => n + p.sent, 0)).toBe(10);
  });

  it('loses no request when a ranking replica goes away under load, and degrades (never fails) when all are gone', async () => {
    const queries = index.products.slice(0, 60).map((p) => p.title);
    const outcomes: Array<'ranked' | 'degraded' | 'error'> = [];
    const load = closedLoop({
      concurrency: 4,
      request: (i) => search({ query: queries[i % queries.length]!, k: 5 }),
      classify: (r) => ({ degraded: r.degraded }),
      onRecord: (r) => outcomes.push(r.status !== 'OK' ? 'error' : r.degraded ? 'degraded' : 'ranked'),
    });
    try {
      await eventually(() => outcomes.length >= 20, 30_000);
      await ranking[0]!.shutdown('test: replica goes away');
      const atFirstStop = outcomes.length;
      await eventually(() => outcomes.length >= atFirstStop + 30, 30_000);
      const withOneReplica = outcomes.slice(atFirstStop);
      expect(load.stats.failed).toEqual({});
      expect(withOneReplica.filter((o) => o === 'ranked').length).toBeGreaterThan(0);

      await ranking[1]!.shutdown('test: last replica goes away');
      const atSecondStop = outcomes.length;
      await eventually(() => outcomes.length >= atSecondStop + 20, 30_000);
      load.stop();
      const summary = await load.done;
      expect(summary.errorSamples).toEqual([]);
      expect(summary.failedTotal).toBe(0);
      expect(summary.ok).toBe(outcomes.length);
      expect(outcomes.slice(-10)).toEqual(Array(10).fill('degraded'));
    } finally {
      load.stop(); // a failed expectation must not leave the load running
    }
    const res = await search({ query: 'lamp', k: 3 });
    expect(res).toMatchObject({ degraded: true, degradedReason: 'ranking_unavailable' });
  }, 120_000);
});
