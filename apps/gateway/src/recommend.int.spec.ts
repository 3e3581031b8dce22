// Recommend over the real services with a sequential recommender (the committed tools/seqrec model of the
// ring walk, served by ranking-service beside the search model): the sequential path for a user with history
// and for a session, filters, the fallbacks (embedding profile, popularity) and bad input, each path counted;
// and a canary split of the sequential path between two recommender versions (a second one trained by
// seqrec.light on the same walk), counted in the canary analysis apart from the Rank calls.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  GatewayAdminClient,
  LoadModelRequest,
  ModelKind,
  RankingClient,
  RecommendRequest,
  SearchClient,
  SearchRequest,
  SetRoutingRequest,
  type CanaryAnalysis,
  type RecommendResponse,
} from '@ranksafe/proto';
import { adminMetadata, unaryCall, type RunningService } from '@ranksafe/serving-kit';
import { trainLightRecommender } from '@ranksafe/platform';
import { eventually, ringCatalogIndex, ringWalk, SEQREC_FIXTURE_DIR, writeRingWalkFile } from '@ranksafe/testing';
/* eslint-disable @nx/enforce-module-boundaries -- an integration test of the whole hot path runs the real services in-process; apps never import each other outside tests */
import { startRankingService } from '../../ranking-service/src/app';
import { loadRankingConfig } from '../../ranking-service/src/config';
import { startRetrievalService } from '../../retrieval-service/src/app';
import { loadRetrievalConfig } from '../../retrieval-service/src/config';
/* eslint-enable @nx/enforce-module-boundaries */
import { startGateway, type RunningGateway } from './app';
import { loadGatewayConfig } from './config';

const insecure = grpc.credentials.createInsecure();
const TOKEN = 'recommend-test-token';
const md = () => adminMetadata(new grpc.Metadata(), TOKEN);
const quiet = { GRPC_PORT: '0', METRICS_PORT: '-1', LOG_LEVEL: 'error', ADMIN_TOKEN: TOKEN, SHUTDOWN_GRACE_MS: '5000' };
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: grpc.ServiceError) => e,
  );
const ids = (r: RecommendResponse) => r.results.map((x) => x.product!.id);

describe('gateway: Recommend with a sequential recommender, and its fallbacks', () => {
  let retrieval: RunningService;
  let ranking: RunningService;
  const gateways: RunningGateway[] = [];
  const clients: SearchClient[] = [];
  /** Gateway 0 asks the sequential recommender first; gateway 1 names a recommender no replica serves. */
  const recommend = (req: Partial<RecommendRequest>, gw = 0) =>
    unaryCall(clients[gw]!.recommend.bind(clients[gw]!), RecommendRequest.fromPartial(req), { deadlineMs: 10_000 });
  const pathCount = async (path: string, reason: string) => {
    const m = await gateways[0]!.svc.metrics.registry.getSingleMetric('ranksafe_gateway_recommend_path_total')!.get();
    return m.values.find((v) => v.labels.path === path && v.labels.fallback_reason === reason)?.value ?? 0;
  };

  beforeAll(async () => {
    const ring = await ringCatalogIndex();
    ({ svc: retrieval } = await startRetrievalService(loadRetrievalConfig({ ...quiet, RETRIEVAL_INDEX: ring.root }), { handleSignals: false }));
    ({ svc: ranking } = await startRankingService(
      loadRankingConfig({ ...quiet, RANKING_INTRA_OP_THREADS: '1', RANKING_PRIME_INDEX: ring.root, RANKING_RECOMMENDER_DIR: SEQREC_FIXTURE_DIR }),
      { handleSignals: false },
    ));
    for (const model of ['', 'no-such-recommender']) {
      const gw = await startGateway(
        loadGatewayConfig({
          ...quiet,
          RETRIEVAL_TARGETS: retrieval.address,
          RANKING_TARGETS: ranking.address,
          GATEWAY_HEALTH_INTERVAL_MS: '200',
          GATEWAY_RANKING_BUDGET_MS: '2000',
          GATEWAY_RETRIEVAL_BUDGET_MS: '2000',
          GATEWAY_RECOMMENDER_MODEL: model,
          // The split test sends 40 at once: about the split, not admission (overload.int.spec.ts is).
          ADMISSION_INITIAL_LIMIT: '64',
          ADMISSION_MIN_LIMIT: '64',
        }),
        { handleSignals: false },
      );
      gateways.push(gw);
      clients.push(new SearchClient(gw.svc.address, insecure));
      await eventually(() => gw.ranking.readyCount() === 1 && gw.retrieval.readyCount() === 1, 15_000);
    }
  }, 300_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all(gateways.map((g) => g.svc.shutdown()));
    await ranking?.shutdown();
    await retrieval?.shutdown();
  });

  it('answers a user with history from the sequential model: the walk’s next items, with their products', async () => {
    const user = ringWalk().find((u) => u.items.length >= 8 && Number(u.items[1]!.slice(1)) === (Number(u.items[0]!.slice(1)) + 1) % 40)!;
    const last = Number(user.items.at(-1)!.slice(1));
    const before = await pathCount('sequential', '');
    const r = await recommend({ subject: { $case: 'userId', value: user.userId }, k: 5, requestId: 'rec-1' });
    expect(r).toMatchObject({ path: 'sequential', fallbackReason: '', degraded: false, requestId: 'rec-1', ignoredItemIds: [] });
    expect(r.rankingModel).toMatchObject({ name: 'seqrec-walk', kind: ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER });
    expect(ids(r)[0]).toBe(`i${(last + 1) % 40}`);
    expect(r.results[0]!.product).toMatchObject({ title: `ring item ${(last + 1) % 40}`, category: expect.stringMatching(/^Ring > /) });
    for (const id of ids(r)) expect(user.items).not.toContain(id);
    expect(await pathCount('sequential', '')).toBe(before + 1);
  });

  it('answers a session, ignoring (and reporting) the items it does not know, and honours filters', async () => {
    const r = await recommend({ subject: { $case: 'recent', value: { itemIds: ['i10', 'gone-9', 'i11', 'i12'] } }, k: 3 });
    expect(r).toMatchObject({ path: 'sequential', ignoredItemIds: ['gone-9'] });
    expect(ids(r)[0]).toBe('i13');
    const even = await recommend({
      subject: { $case: 'recent', value: { itemIds: ['i10', 'i11', 'i12'] } },
      k: 4,
      filters: { categories: ['ring > even'], brands: [] },
    });
    expect(even.path).toBe('sequential');
    expect(ids(even)).toHaveLength(4);
    for (const id of ids(even)) expect(Number(id.slice(1)) % 2).toBe(0);
    expect(ids(even)).not.toContain('i10');
  });

  it('falls back to the embedding profile when no replica serves the recommender it names', async () => {
    const r = await recommend({ subject: { $case: 'recent', value: { itemIds: ['i10', 'i11', 'i12'] } }, k: 4 }, 1);
    expect(r).toMatchObject({ path: 'profile', fallbackReason: 'no_model', degraded: false });
    expect(r.rankingModel?.name).toBe('minilm-l6-v2');
    expect(ids(r)).toHaveLength(4);
    for (const id of ids(r)) expect(['i10', 'i11', 'i12']).not.toContain(id);
  });

  it('falls back to popularity for a known user none of whose items the catalog still has', async () => {
    const before = await pathCount('popularity', 'unknown_items');
    const r = await recommend({ subject: { $case: 'userId', value: 'u-gone' }, k: 5 });
    expect(r).toMatchObject({ path: 'popularity', fallbackReason: 'unknown_items', ignoredItemIds: ['gone-1', 'gone-2'] });
    expect(ids(r)).toHaveLength(5);
    // The most popular items of the walk, most held first.
    const count = new Map<string, number>();
    for (const u of ringWalk()) for (const id of new Set(u.items)) count.set(id, (count.get(id) ?? 0) + 1);
    const scores = r.results.map((x) => x.score);
    expect(scores).toEqual(ids(r).map((id) => count.get(id)));
    expect(Math.max(...count.values())).toBe(scores[0]);
    expect(await pathCount('popularity', 'unknown_items')).toBe(before + 1);
  });

  it('refuses bad input with the field named', async () => {
    const cases: Array<[Partial<RecommendRequest>, grpc.status, string, RegExp]> = [
      [
        { subject: { $case: 'recent', value: { itemIds: ['gone-1', 'gone-2'] } } },
        grpc.status.INVALID_ARGUMENT,
        'recent.item_ids',
        /none of the 2 item ids .*: gone-1, gone-2/,
      ],
      [
        { subject: { $case: 'recent', value: { itemIds: ['i1'] } }, filters: { categories: ['shoes'], brands: [] } },
        grpc.status.INVALID_ARGUMENT,
        'filters.categories',
        /unknown category/,
      ],
      [{ subject: { $case: 'recent', value: { itemIds: ['i1'] } }, k: 1000 }, grpc.status.INVALID_ARGUMENT, 'k', /between 1 and/],
      [{ subject: { $case: 'recent', value: { itemIds: [] } } }, grpc.status.INVALID_ARGUMENT, 'recent.item_ids', /must not be empty/],
    ];
    for (const [req, code, field, message] of cases) {
      const e = await failure(recommend(req));
      expect({ code: e.code, field: e.metadata.get('field')[0]?.toString() }).toEqual({ code, field });
      expect(e.details).toMatch(message);
    }
    expect((await failure(recommend({ subject: { $case: 'userId', value: 'nobody' } }))).code).toBe(grpc.status.NOT_FOUND);
  });

  it('splits the sequential path between two recommender versions, counted apart from the Rank calls; refuses a mirror or an index kind', async () => {
    // The candidate: the same walk learnt by seqrec.light (numpy), loaded beside the fixture as another version of seqrec-walk.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-seqrec-canary-'));
    const rc = new RankingClient(ranking.address, insecure);
    const admin = new GatewayAdminClient(gateways[0]!.svc.address, insecure);
    const setRouting = (req: Partial<SetRoutingRequest>) => unaryCall(admin.setRouting.bind(admin), SetRoutingRequest.fromPartial(req), { metadata: md() });
    const analysis = (): Promise<CanaryAnalysis> => unaryCall(admin.getCanaryAnalysis.bind(admin), { epoch: '' }, { metadata: md() });
    const variant = (a: CanaryAnalysis, v: string) => a.variants.find((x) => x.variant === v)!;
    let candidate = '';
    try {
      writeRingWalkFile(path.join(tmp, 'walk.txt'));
      expect(trainLightRecommender({ data: path.join(tmp, 'walk.txt'), out: path.join(tmp, 'light'), name: 'seqrec-walk', maxSeconds: 30 })).toBeUndefined();
      const loaded = await unaryCall(
        rc.loadModel.bind(rc),
        LoadModelRequest.fromPartial({ modelName: 'seqrec-walk', source: { $case: 'localPath', value: path.join(tmp, 'light') }, waitForWarm: true }),
        { metadata: md(), deadlineMs: 60_000 },
      );
      candidate = loaded.model!.version;
      const production = (await recommend({ subject: { $case: 'recent', value: { itemIds: ['i1', 'i2'] } } })).rankingModel!.version;
      expect(candidate).not.toBe(production);

      const bad: Array<[Partial<SetRoutingRequest>, string]> = [
        [{ modelName: 'seqrec-walk', canaryVersion: candidate, mirrorRate: 0.5, modelKind: ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER }, 'mirror_rate'],
        [{ modelName: 'seqrec-walk', canaryVersion: candidate, modelKind: ModelKind.MODEL_KIND_CATALOG_INDEX }, 'model_kind'],
      ];
      for (const [req, field] of bad) {
        const e = await failure(setRouting(req));
        expect({ code: e.code, field: e.metadata.get('field')[0]?.toString() }).toEqual({ code: grpc.status.INVALID_ARGUMENT, field });
      }
      const set = await setRouting({
        modelName: 'seqrec-walk',
        canaryVersion: candidate,
        canaryWeight: 0.5,
        modelKind: ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER,
        resetAnalysis: true,
        reason: 'recommender canary',
      });
      expect(set).toMatchObject({ modelKind: ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER, canaryWeight: 0.5 });

      const walkers = ringWalk()
        .filter((u) => u.items.length >= 4)
        .slice(0, 40);
      const answers = await Promise.all(walkers.map((u, i) => recommend({ subject: { $case: 'userId', value: u.userId }, k: 5, requestId: `seq-${i}` })));
      // A Search meanwhile is ranked by the search model's production, and not counted in this split's analysis.
      const sc = clients[0]!;
      const searched = await unaryCall(sc.search.bind(sc), SearchRequest.fromPartial({ query: 'ring item 3', k: 3, requestId: 'search-during-split' }), {
        deadlineMs: 10_000,
      });
      expect(searched).toMatchObject({ variant: 'production', degraded: false, rankingModel: { name: 'minilm-l6-v2' } });

      const canary = answers.filter((r) => r.variant === 'canary');
      expect(canary.length).toBeGreaterThan(5);
      expect(canary.length).toBeLessThan(35);
      for (const r of answers) {
        expect(r).toMatchObject({ path: 'sequential', rankingModel: { name: 'seqrec-walk', version: r.variant === 'canary' ? candidate : production } });
      }
      // The same request id lands on the same side again.
      expect((await recommend({ subject: { $case: 'userId', value: walkers[0]!.userId }, k: 5, requestId: 'seq-0' })).variant).toBe(answers[0]!.variant);
      const a = await analysis();
      expect(variant(a, 'canary')).toMatchObject({ requests: canary.length + (answers[0]!.variant === 'canary' ? 1 : 0), errors: 0, versions: [candidate] });
      expect(variant(a, 'production')).toMatchObject({ requests: 41 - variant(a, 'canary').requests, errors: 0, versions: [production] });
      expect(variant(a, 'mirror').requests).toBe(0);
    } finally {
      await setRouting({ canaryVersion: '', canaryWeight: 0, reason: 'end of test' }).catch(() => undefined);
      await unaryCall(rc.unloadModel.bind(rc), { modelName: 'seqrec-walk', version: candidate }, { metadata: md() }).catch(() => undefined);
      rc.close();
      admin.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }, 120_000);
});
