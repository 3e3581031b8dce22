// The retrieval service over real gRPC: a real catalog index (synthetic shop embedded with the
// real all-MiniLM-L6-v2 model), BM25 + HNSW + fusion, filters, hot reload, integrity checks.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { RetrievalClient, RetrievalMode, RetrieveRequest, type RetrieveResponse } from '@ranksafe/proto';
import { CatalogIndex } from '@ranksafe/retrieval-core';
import { adminMetadata, checkHealth, unaryCall, type RunningService } from '@ranksafe/serving-kit';
import { testCatalogIndex } from '@ranksafe/testing';
import { startRetrievalService } from './app';
import { loadRetrievalConfig } from './config';

const TOKEN = 'retrieval-test-admin-token';
const insecure = grpc.credentials.createInsecure();

describe('retrieval-service', () => {
  let svc: RunningService;
  let client: RetrievalClient;
  let index: CatalogIndex;
  let second: { dir: string; version: string };
  const retrieve = (req: Partial<RetrieveRequest>): Promise<RetrieveResponse> =>
    unaryCall(client.retrieve.bind(client), RetrieveRequest.fromPartial(req), { deadlineMs: 10_000 });
  const firstUserId = () => [...Array(60).keys()].map((i) => `u${String(i + 1).padStart(4, '0')}`).find((id) => index.user(id))!;
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected the call to fail');
      },
      (e: grpc.ServiceError) => e,
    );

  beforeAll(async () => {
    const first = await testCatalogIndex({ products: 1500, users: 60 });
    second = await testCatalogIndex({ products: 400, users: 10, seed: 11 });
    index = CatalogIndex.load(first.dir);
    const cfg = loadRetrievalConfig({
      GRPC_PORT: '0',
      METRICS_PORT: '-1',
      LOG_LEVEL: 'warn',
      ADMIN_TOKEN: TOKEN,
      RETRIEVAL_INDEX: first.root,
      RETRIEVAL_RELOAD_DRAIN_MS: '100',
    });
    ({ svc } = await startRetrievalService(cfg, { handleSignals: false }));
    client = new RetrievalClient(svc.address, insecure);
  }, 300_000);
  afterAll(async () => {
    client?.close();
    await svc?.shutdown();
  });

  it('serves the index it was started with', async () => {
    expect((await checkHealth(svc.address, 'ranksafe.v1.Retrieval')).status).toBe('SERVING');
    const d = await unaryCall(client.describeIndex.bind(client), {});
    expect(d).toMatchObject({ indexVersion: index.version, products: 1500, users: 60, embeddingModel: { name: 'minilm-l6-v2' } });
    expect(d.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('finds a product by its title with BM25, dense and hybrid retrieval', async () => {
    const target = index.products[123]!;
    for (const mode of [RetrievalMode.RETRIEVAL_MODE_BM25, RetrievalMode.RETRIEVAL_MODE_DENSE, RetrievalMode.RETRIEVAL_MODE_HYBRID]) {
      const res = await retrieve({ query: target.title, topN: 20, mode });
      expect(res.indexVersion).toBe(index.version);
      expect(res.candidates.length).toBe(20);
      expect(res.candidates.slice(0, 10).map((c) => c.product!.title)).toContain(target.title);
      const scores = res.candidates.map((c) => c.fusedScore);
      expect([...scores].sort((a, b) => b - a)).toEqual(scores);
      expect(res.candidates[0]!.rankText).toContain(res.candidates[0]!.product!.title);
    }
    const hybrid = await retrieve({ query: target.title, topN: 50 });
    expect(hybrid.candidates.some((c) => c.bm25Score > 0 && c.denseScore > 0)).toBe(true);
  });

  it('filters by category (a whole branch or a leaf), brand and price range', async () => {
    const p = index.products[42]!;
    const top = p.category.split(' > ')[0]!;
    const byCat = await retrieve({ query: p.title, topN: 50, filters: { categories: [top], brands: [], minPrice: undefined, maxPrice: undefined } });
    expect(byCat.candidates.length).toBeGreaterThan(0);
    for (const c of byCat.candidates) expect(c.product!.category.startsWith(top)).toBe(true);
    const byBrand = await retrieve({ query: p.title, topN: 50, filters: { categories: [], brands: [p.brand] } });
    for (const c of byBrand.candidates) expect(c.product!.brand).toBe(p.brand);
    expect(byBrand.candidates.map((c) => c.product!.id)).toContain(p.id);
    const byPrice = await retrieve({
      query: 'gift',
      topN: 100,
      mode: RetrievalMode.RETRIEVAL_MODE_DENSE,
      filters: { categories: [], brands: [], minPrice: 20, maxPrice: 60 },
    });
    expect(byPrice.candidates.length).toBeGreaterThan(0);
    for (const c of byPrice.candidates) expect(c.product!.price >= 20 && c.product!.price <= 60).toBe(true);
  });

  it('recommends from seed items: neighbours of the profile, never the seeds themselves', async () => {
    const user = index.user(firstUserId())!;
    expect(user).toBeDefined();
    const seeds = user.items.map((i) => ({ id: i.id, weight: i.rating }));
    const res = await retrieve({ seeds, topN: 30 });
    expect(res.candidates).toHaveLength(30);
    const seedIds = new Set(seeds.map((s) => s.id));
    for (const c of res.candidates) expect(seedIds.has(c.product!.id)).toBe(false);
    // Neighbours of the profile come from the departments the user shops in.
    const top = (id: string) => index.products[index.byId.get(id)!]!.category.split(' > ')[0]!;
    const departments = new Set(user.items.map((i) => top(i.id)));
    const inDepartments = res.candidates.filter((c) => departments.has(top(c.product!.id))).length;
    expect(inDepartments / res.candidates.length).toBeGreaterThanOrEqual(0.7);
  });

  it('returns products and user histories by id', async () => {
    const ids = [index.products[0]!.id, 'no-such-product', index.products[9]!.id];
    const res = await unaryCall(client.getProducts.bind(client), { ids });
    expect(res.products.map((p) => p.id)).toEqual([ids[0], ids[2]]);
    expect(res.rankTexts).toHaveLength(2);
    expect(res.missingIds).toEqual(['no-such-product']);
    const userId = firstUserId();
    const h = await unaryCall(client.getUserHistory.bind(client), { userId, limit: 3 });
    expect(h.interactions).toHaveLength(3);
    expect(h.interactions.map((i) => i.itemId)).toEqual(
      index
        .user(userId)!
        .items.slice(-3)
        .map((i) => i.id),
    );
    const missing = await failure(unaryCall(client.getUserHistory.bind(client), { userId: 'nobody', limit: 0 }));
    expect(missing.code).toBe(grpc.status.NOT_FOUND);
  });

  it.each([
    [{ query: '' }, 'query'],
    [{ query: 'x'.repeat(600) }, 'query'],
    [{ query: 'sofa', topN: 5000 }, 'top_n'],
    [{ query: 'sofa', queryEmbedding: [0.1, 0.2] }, 'query_embedding'],
    [{ query: 'sofa', seeds: [{ id: 'p000001', weight: 1 }] }, 'seeds'],
    [{ seeds: [{ id: 'nope', weight: 1 }] }, 'seeds'],
    [{ seeds: [{ id: 'p000001', weight: -1 }] }, 'seeds[0].weight'],
    [{ query: 'sofa', filters: { categories: ['Spaceships'], brands: [] } }, 'filters.categories'],
    [{ query: 'sofa', filters: { categories: [], brands: ['NoSuchBrand'] } }, 'filters.brands'],
    [{ query: 'sofa', filters: { categories: [], brands: [], minPrice: 50, maxPrice: 10 } }, 'filters.min_price'],
    [{ query: 'sofa', filters: { categories: [], brands: [], minPrice: -1 } }, 'filters.min_price'],
  ] as Array<[Partial<RetrieveRequest>, string]>)('answers bad input with INVALID_ARGUMENT naming the field (%#)', async (req, field) => {
    const err = await failure(retrieve(req));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.metadata.get('field')).toEqual([field]);
  });

  it('refuses a tampered index and keeps serving the one it has', async () => {
    const tampered = fs.mkdtempSync(path.join(os.tmpdir(), 'tampered-index-'));
    fs.cpSync(second.dir, tampered, { recursive: true });
    fs.appendFileSync(path.join(tampered, 'catalog.jsonl'), '{"id":"evil","title":"injected product","price":1}\n');
    const md = adminMetadata(new grpc.Metadata(), TOKEN);
    const err = await failure(
      unaryCall(client.loadIndex.bind(client), { source: { $case: 'localPath', value: tampered } }, { metadata: md, deadlineMs: 60_000 }),
    );
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/sha256/);
    expect((await unaryCall(client.describeIndex.bind(client), {})).indexVersion).toBe(index.version);
    fs.rmSync(tampered, { recursive: true, force: true });
  });

  it('hot-reloads another index version (admin only) without failing calls in flight', async () => {
    const load = (md?: grpc.Metadata) =>
      unaryCall(client.loadIndex.bind(client), { source: { $case: 'localPath', value: second.dir } }, { metadata: md, deadlineMs: 60_000 });
    expect((await failure(load())).code).toBe(grpc.status.UNAUTHENTICATED);

    let stop = false;
    const versions = new Set<string>();
    const errors: unknown[] = [];
    const traffic = (async () => {
      while (!stop) {
        await retrieve({ query: 'stainless steel', topN: 10 }).then(
          (r) => versions.add(r.indexVersion),
          (e) => errors.push(e),
        );
      }
    })();
    const res = await load(adminMetadata(new grpc.Metadata(), TOKEN));
    expect(res).toMatchObject({ indexVersion: second.version, products: 400 });
    await retrieve({ query: 'stainless steel', topN: 10 }).then((r) => versions.add(r.indexVersion));
    stop = true;
    await traffic;
    expect(errors).toEqual([]);
    expect(versions).toEqual(new Set([index.version, second.version]));
    expect((await checkHealth(svc.address, 'ranksafe.v1.Retrieval')).status).toBe('SERVING');
  });
});
