// The ranking service over real gRPC with the real all-MiniLM-L6-v2 ONNX model.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { EmbedRequest, LoadModelRequest, RankingClient, RankRequest, type RankResponse } from '@ranksafe/proto';
import { adminMetadata, checkHealth, unaryCall, type RunningService } from '@ranksafe/serving-kit';
import { startRankingService } from './app';
import { loadRankingConfig } from './config';
import type { RankingModels } from './service';

const TOKEN = 'ranking-test-admin-token';
const insecure = grpc.credentials.createInsecure();
const PRODUCTS = [
  { id: 'shoe', text: 'mens leather running shoes, size 10 | footwear', retrievalScore: 0 },
  { id: 'table', text: 'solid oak dining table with extendable leaf | dining tables', retrievalScore: 0 },
  { id: 'lamp', text: 'brass floor lamp with linen shade | lighting', retrievalScore: 0 },
  { id: 'chair', text: 'oak dining chair, set of 2 | dining chairs', retrievalScore: 0 },
];

describe('ranking-service', () => {
  let svc: RunningService;
  let models: RankingModels;
  let client: RankingClient;
  const rank = (req: Partial<RankRequest>, deadlineMs = 10_000) => unaryCall(client.rank.bind(client), RankRequest.fromPartial(req), { deadlineMs });

  beforeAll(async () => {
    const cfg = loadRankingConfig({
      GRPC_PORT: '0',
      METRICS_PORT: '-1',
      LOG_LEVEL: 'warn',
      ADMIN_TOKEN: TOKEN,
      RANKING_INTRA_OP_THREADS: '1',
      RANKING_MAX_QUEUE_SIZE: '256',
    });
    ({ svc, models } = await startRankingService(cfg, { handleSignals: false }));
    client = new RankingClient(svc.address, insecure);
  }, 120_000);
  afterAll(async () => {
    client?.close();
    await svc?.shutdown();
  });

  it('is SERVING once its model is warm', async () => {
    expect((await checkHealth(svc.address, 'ranksafe.v1.Ranking')).status).toBe('SERVING');
    const { models: loaded } = await unaryCall(client.listModels.bind(client), {});
    expect(loaded).toHaveLength(1);
    expect(loaded[0]).toMatchObject({
      isDefault: true,
      warm: true,
      executionProvider: 'cpu',
      requestedExecutionProvider: 'cpu',
      executionProviderFallback: '',
      model: { name: 'minilm-l6-v2' },
    });
    expect(await svc.metrics.registry.metrics()).toMatch(/ranksafe_ranking_execution_provider\{[^}]*requested="cpu",active="cpu"[^}]*\} 1/);
  });

  it('ranks products for a query by meaning', async () => {
    const res: RankResponse = await rank({ subject: { $case: 'query', value: 'wooden table for the dining room' }, candidates: PRODUCTS });
    expect(res.ranked.map((r) => r.id)[0]).toBe('table');
    expect(res.ranked.map((r) => r.id).slice(-1)[0]).not.toBe('table');
    expect(res.model?.name).toBe('minilm-l6-v2');
    for (let i = 1; i < res.ranked.length; i++) expect(res.ranked[i - 1]!.score).toBeGreaterThanOrEqual(res.ranked[i]!.score);
  });

  it('ranks for a user profile (weighted sum of item embeddings)', async () => {
    const res = await rank({
      subject: {
        $case: 'profile',
        value: {
          items: [
            { text: 'oak bookshelf | living room furniture', weight: 5 },
            { text: 'walnut coffee table', weight: 4 },
          ],
        },
      },
      candidates: PRODUCTS,
    });
    expect(['table', 'chair']).toContain(res.ranked[0]!.id);
  });

  it('blends in the retrieval score', async () => {
    const q = { $case: 'query' as const, value: 'lighting' };
    const plain = await rank({ subject: q, candidates: PRODUCTS });
    expect(plain.ranked[0]!.id).toBe('lamp');
    const boosted = await rank({ subject: q, candidates: PRODUCTS.map((p) => ({ ...p, retrievalScore: p.id === 'shoe' ? 100 : 0 })) });
    const shoe = boosted.ranked.find((r) => r.id === 'shoe')!;
    expect(shoe.score).toBeGreaterThan(shoe.modelScore);
  });

  it('embeds texts as normalised 384-d vectors, the same for the same text', async () => {
    const res = await unaryCall(client.embed.bind(client), EmbedRequest.fromPartial({ texts: ['oak table', 'oak table', 'lamp'] }));
    expect(res.embeddings).toHaveLength(3);
    const [a, b] = res.embeddings.map((e) => e.values);
    expect(a).toHaveLength(384);
    expect(a!.reduce((s, x) => s + x * x, 0)).toBeCloseTo(1, 4);
    expect(a).toEqual(b);
  });

  it('exports the batcher counters of the serving model as metrics', async () => {
    await rank({ subject: { $case: 'query', value: `metrics probe ${Math.random()}` }, candidates: PRODUCTS });
    const m = await svc.metrics.registry.getSingleMetric('ranksafe_ranking_batcher')!.get();
    const stat = (name: string) => m.values.find((v) => v.labels.stat === name)?.value;
    const stats = models.primary!.engine.batcher.stats;
    expect(stat('batches')).toBe(stats.batches);
    expect(stat('items')).toBe(stats.items);
    expect(stat('batches')).toBeGreaterThan(0);
  });

  it('merges concurrent requests into shared batches', async () => {
    const before = { ...models.primary!.engine.batcher.stats };
    const texts = Array.from({ length: 24 }, (_, i) => `unique product text ${i} ${Math.random()}`);
    await Promise.all(texts.map((t) => unaryCall(client.embed.bind(client), EmbedRequest.fromPartial({ texts: [t] }))));
    const after = models.primary!.engine.batcher.stats;
    expect(after.items - before.items).toBe(24);
    expect(after.batches - before.batches).toBeLessThan(24);
  });

  it.each([
    [{ candidates: PRODUCTS }, 'subject'],
    [{ subject: { $case: 'query', value: '   ' }, candidates: PRODUCTS }, 'query'],
    [{ subject: { $case: 'query', value: 'x' }, candidates: [] }, 'candidates'],
    [
      { subject: { $case: 'query', value: 'x' }, candidates: Array.from({ length: 1001 }, (_, i) => ({ id: `p${i}`, text: 't', retrievalScore: 0 })) },
      'candidates',
    ],
    [{ subject: { $case: 'query', value: 'x' }, candidates: [{ id: '', text: 't', retrievalScore: 0 }] }, 'candidates[0].id'],
    [{ subject: { $case: 'profile', value: { items: [] } }, candidates: PRODUCTS }, 'profile.items'],
  ])('answers bad input with INVALID_ARGUMENT naming the field (%#)', async (req, field) => {
    const err = await rank(req as Partial<RankRequest>).catch((e) => e);
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.metadata.get('field')).toEqual([field]);
  });

  it('answers NOT_FOUND for a model it does not serve', async () => {
    const err = await rank({ subject: { $case: 'query', value: 'x' }, candidates: PRODUCTS, modelName: 'bge-small' }).catch((e) => e);
    expect(err.code).toBe(grpc.status.NOT_FOUND);
  });

  it('answers RESOURCE_EXHAUSTED when its queue is full, and keeps serving', async () => {
    const many = Array.from({ length: 200 }, (_, i) => ({ id: `p${i}`, text: `never seen before product ${i} ${Math.random()}`, retrievalScore: 0 }));
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, () => rank({ subject: { $case: 'query', value: `q ${Math.random()}` }, candidates: many }, 60_000)),
    );
    const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as grpc.ServiceError).code : grpc.status.OK));
    expect(codes).toContain(grpc.status.RESOURCE_EXHAUSTED);
    expect(codes).toContain(grpc.status.OK);
    await expect(rank({ subject: { $case: 'query', value: 'lamp' }, candidates: PRODUCTS })).resolves.toBeDefined();
  }, 120_000);

  it('reloads a loaded version idempotently under load without failing a request, and refuses a tampered one', async () => {
    const md = () => adminMetadata(new grpc.Metadata(), TOKEN);
    const before = (await unaryCall(client.listModels.bind(client), {})).models[0]!;
    let stop = false;
    const failures: unknown[] = [];
    let ok = 0;
    const load = (async () => {
      while (!stop) {
        await rank({ subject: { $case: 'query', value: `dining ${ok}` }, candidates: PRODUCTS }).then(
          () => ok++,
          (e) => failures.push(e),
        );
      }
    })();
    const dir = path.resolve(__dirname, '../../../models/minilm-l6-v2');
    try {
      // Same model dir and variant: the same name and version, already loaded; LoadModel answers with it.
      const res = await unaryCall(
        client.loadModel.bind(client),
        LoadModelRequest.fromPartial({ modelName: '', source: { $case: 'localPath', value: dir }, makeDefault: true }),
        { metadata: md() },
      );
      expect(res.model?.version).toBe(before.model!.version);
      expect(res).toMatchObject({ alreadyLoaded: true, isDefault: true });

      const tampered = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-tampered-'));
      for (const f of fs.readdirSync(dir)) if (f !== 'model.fp32.onnx') fs.copyFileSync(path.join(dir, f), path.join(tampered, f));
      const bytes = fs.readFileSync(path.join(tampered, 'model.int8.onnx'));
      bytes[1000] ^= 0xff;
      fs.writeFileSync(path.join(tampered, 'model.int8.onnx'), bytes);
      const err = await unaryCall(
        client.loadModel.bind(client),
        LoadModelRequest.fromPartial({ modelName: '', source: { $case: 'localPath', value: tampered }, makeDefault: true }),
        { metadata: md() },
      ).catch((e) => e);
      fs.rmSync(tampered, { recursive: true, force: true });
      expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(err.details).toMatch(/refusing to load a tampered or corrupt artifact/);
    } finally {
      await new Promise((r) => setTimeout(r, 300));
      stop = true;
      await load;
    }
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(0);
    const after = (await unaryCall(client.listModels.bind(client), {})).models;
    expect(after).toHaveLength(1);
    expect(after[0]!.isDefault).toBe(true);
    expect(after[0]!.loadedAtUnixMs).toBe(before.loadedAtUnixMs); // the same instance, not a reload
    const noToken = await unaryCall(
      client.loadModel.bind(client),
      LoadModelRequest.fromPartial({ modelName: '', source: { $case: 'localPath', value: dir }, makeDefault: true }),
    ).catch((e) => e);
    expect(noToken.code).toBe(grpc.status.UNAUTHENTICATED);
  }, 120_000);

  it('configured for cuda where no GPU is visible (CUDA_VISIBLE_DEVICES=""), with the cpu fall-back: serves on cpu and says so', async () => {
    const before = process.env['CUDA_VISIBLE_DEVICES'];
    process.env['CUDA_VISIBLE_DEVICES'] = ''; // hides every device where there is one (the CUDA runtime reads it at first use)
    let gpu: RunningService | undefined;
    let c: RankingClient | undefined;
    try {
      const cfg = loadRankingConfig({
        GRPC_PORT: '0',
        METRICS_PORT: '-1',
        LOG_LEVEL: 'silent',
        ADMIN_TOKEN: TOKEN,
        RANKING_INTRA_OP_THREADS: '1',
        RANKING_EXECUTION_PROVIDER: 'cuda',
        RANKING_CUDA_FALLBACK: 'cpu',
      });
      ({ svc: gpu } = await startRankingService(cfg, { handleSignals: false }));
      c = new RankingClient(gpu.address, insecure);
      expect((await checkHealth(gpu.address, 'ranksafe.v1.Ranking')).status).toBe('SERVING');
      const [m] = (await unaryCall(c.listModels.bind(c), {})).models;
      expect(m).toMatchObject({
        executionProvider: 'cpu',
        requestedExecutionProvider: 'cuda',
        executionProviderFallback: expect.stringMatching(/^CUDA execution provider unavailable/),
      });
      expect(await gpu.metrics.registry.metrics()).toMatch(/ranksafe_ranking_execution_provider\{[^}]*requested="cuda",active="cpu"[^}]*\} 1/);
      const res = await unaryCall(
        c.rank.bind(c),
        RankRequest.fromPartial({ subject: { $case: 'query', value: 'wooden table for the dining room' }, candidates: PRODUCTS }),
      );
      expect(res.ranked[0]!.id).toBe('table');
    } finally {
      c?.close();
      await gpu?.shutdown();
      if (before === undefined) delete process.env['CUDA_VISIBLE_DEVICES'];
      else process.env['CUDA_VISIBLE_DEVICES'] = before;
    }
  }, 120_000);
});
