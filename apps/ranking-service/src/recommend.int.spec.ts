// A sequential recommender (the committed tools/seqrec model of the ring walk) served beside the search
// model over real gRPC: the next items for a history, filters from the serving catalog, bad input, and a
// model trained on another catalog refused at load.
import * as grpc from '@grpc/grpc-js';
import { LoadModelRequest, ModelKind, RankingClient, RankRequest, RecommendItemsRequest, type RecommendItemsResponse } from '@ranksafe/proto';
import { adminMetadata, unaryCall, type RunningService } from '@ranksafe/serving-kit';
import { ringCatalogIndex, SEQREC_FIXTURE_DIR, testCatalogIndex } from '@ranksafe/testing';
import { startRankingService } from './app';
import { loadRankingConfig } from './config';

const TOKEN = 'recommend-test-token';
const insecure = grpc.credentials.createInsecure();
const quiet = { GRPC_PORT: '0', METRICS_PORT: '-1', LOG_LEVEL: 'error', ADMIN_TOKEN: TOKEN, RANKING_INTRA_OP_THREADS: '1', RANKING_WARM_TOP_N: '0' };
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: grpc.ServiceError) => e,
  );
const fieldOf = (e: grpc.ServiceError) => e.metadata.get('field')[0]?.toString();

describe('ranking-service: Recommend with a sequential recommender', () => {
  let svc: RunningService;
  let client: RankingClient;
  const recommend = (req: Partial<RecommendItemsRequest>): Promise<RecommendItemsResponse> =>
    unaryCall(client.recommend.bind(client), RecommendItemsRequest.fromPartial(req), { deadlineMs: 10_000 });

  beforeAll(async () => {
    const ring = await ringCatalogIndex();
    ({ svc } = await startRankingService(loadRankingConfig({ ...quiet, RANKING_PRIME_INDEX: ring.root, RANKING_RECOMMENDER_DIR: SEQREC_FIXTURE_DIR }), {
      handleSignals: false,
    }));
    client = new RankingClient(svc.address, insecure);
  }, 180_000);
  afterAll(async () => {
    client?.close();
    await svc?.shutdown();
  });

  it('serves the recommender beside the search model, its vocabulary checked against the catalog', async () => {
    const { models } = await unaryCall(client.listModels.bind(client), {});
    const rec = models.find((m) => m.kind === ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER);
    expect(rec).toMatchObject({ model: { name: 'seqrec-walk' }, isDefault: true, vocabItems: 40, catalogCoverage: 1, executionProvider: 'cpu' });
    expect(models.find((m) => m.kind === ModelKind.MODEL_KIND_BI_ENCODER)).toMatchObject({ model: { name: 'minilm-l6-v2' }, isDefault: true });
  });

  it('answers the next items of a history, the history left out', async () => {
    const history = ['i20', 'i21', 'i22', 'i23'];
    const r = await recommend({ itemIds: history, k: 5 });
    expect(r.model).toMatchObject({ name: 'seqrec-walk', kind: ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER });
    expect(r.items).toHaveLength(5);
    expect(r.items[0]!.id).toBe('i24');
    for (const x of r.items) expect(history).not.toContain(x.id);
    expect(r).toMatchObject({ unknownItemIds: [], usedItems: 4 });
    // By name, and k defaulting to 10.
    expect((await recommend({ itemIds: history, modelName: 'seqrec-walk' })).items).toHaveLength(10);
  });

  it('applies the catalog filters and the exclusions', async () => {
    const odd = await recommend({ itemIds: ['i4', 'i5', 'i6'], k: 6, filters: { categories: ['Ring > Odd'], brands: [] }, excludeIds: ['i7'] });
    expect(odd.items).toHaveLength(6);
    for (const x of odd.items) expect(Number(x.id.slice(1)) % 2).toBe(1);
    expect(odd.items.map((x) => x.id)).not.toContain('i7');
    const cheap = await recommend({ itemIds: ['i4', 'i5', 'i6'], k: 10, filters: { categories: [], brands: ['ring-1'], maxPrice: 20 } });
    // ring-1 under price 20: i1, i5, i9, i13, i17 (price n + 1), i5 seen.
    expect(cheap.items.map((x) => x.id).sort()).toEqual(['i1', 'i13', 'i17', 'i9']);
  });

  it('ignores and reports unknown items; bad input gets a clear status', async () => {
    const some = await recommend({ itemIds: ['nope', 'i30', 'i31'], k: 3 });
    expect(some.unknownItemIds).toEqual(['nope']);
    expect(some.items[0]!.id).toBe('i32');
    const cases: Array<[Partial<RecommendItemsRequest>, string, RegExp]> = [
      [{ itemIds: ['x1', 'x2'] }, 'item_ids', /none of the 2 item ids is known to the model: x1, x2/],
      [{ itemIds: [] }, 'item_ids', /must not be empty/],
      [{ itemIds: Array.from({ length: 201 }, (_, i) => `i${i % 40}`) }, 'item_ids', /at most 200/],
      [{ itemIds: ['i1', ' '] }, 'item_ids[1]', /must not be empty/],
      [{ itemIds: ['i1'], k: 101 }, 'k', /between 1 and 100/],
      [{ itemIds: ['i1'], filters: { categories: ['Shoes'], brands: [] } }, 'filters.categories', /unknown category "shoes"/],
      [{ itemIds: ['i1'], filters: { categories: [], brands: [], minPrice: 9, maxPrice: 2 } }, 'filters.min_price', /above max_price/],
      [{ itemIds: ['i1'], modelName: 'minilm-l6-v2' }, 'model_name', /not a sequential recommender/],
    ];
    for (const [req, field, message] of cases) {
      const e = await failure(recommend(req));
      expect({ code: e.code, field }).toEqual({ code: grpc.status.INVALID_ARGUMENT, field: fieldOf(e) });
      expect(e.details).toMatch(message);
    }
    expect((await failure(recommend({ itemIds: ['i1'], modelName: 'no-such-model' }))).code).toBe(grpc.status.NOT_FOUND);
    const rank = await failure(
      unaryCall(
        client.rank.bind(client),
        RankRequest.fromPartial({ subject: { $case: 'query', value: 'x' }, candidates: [{ id: 'a', text: 'a' }], modelName: 'seqrec-walk' }),
      ),
    );
    expect(rank.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(rank.details).toMatch(/sequential recommender: call Recommend/);
  });

  it('batches concurrent requests', async () => {
    const all = await Promise.all(Array.from({ length: 16 }, (_, i) => recommend({ itemIds: [`i${i}`, `i${i + 1}`, `i${i + 2}`], k: 1 })));
    expect(all.map((r) => r.items[0]!.id)).toEqual(Array.from({ length: 16 }, (_, i) => `i${i + 3}`));
    const m = await svc.metrics.registry.getSingleMetric('ranksafe_ranking_batcher')!.get();
    const stat = (s: string) => m.values.find((v) => v.labels.model === 'seqrec-walk' && v.labels.stat === s)?.value ?? 0;
    expect(stat('items')).toBeGreaterThan(stat('batches'));
  });
});

describe('ranking-service: a recommender trained on another catalog', () => {
  it('is refused at load, with its coverage in the error, and the service keeps serving search', async () => {
    const shop = await testCatalogIndex({ products: 1500, users: 60 });
    const { svc } = await startRankingService(loadRankingConfig({ ...quiet, RANKING_PRIME_INDEX: shop.root }), { handleSignals: false });
    const client = new RankingClient(svc.address, insecure);
    try {
      const md = adminMetadata(new grpc.Metadata(), TOKEN);
      const e = await failure(
        unaryCall(client.loadModel.bind(client), LoadModelRequest.fromPartial({ source: { $case: 'localPath', value: SEQREC_FIXTURE_DIR } }), {
          metadata: md,
          deadlineMs: 60_000,
        }),
      );
      expect(e.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(e.details).toMatch(/knows 0 of the \d+ items in the histories of catalog idx-\w+ \(0\.0%, below the 95% required/);
      const { models } = await unaryCall(client.listModels.bind(client), {});
      expect(models.map((m) => m.model!.name)).toEqual(['minilm-l6-v2']);
      expect((await failure(unaryCall(client.recommend.bind(client), RecommendItemsRequest.fromPartial({ itemIds: ['p1'] })))).code).toBe(
        grpc.status.NOT_FOUND,
      );
    } finally {
      client.close();
      await svc.shutdown();
    }
  }, 180_000);
});
