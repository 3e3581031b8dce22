// Several versions of one model served side by side (a canary beside production), over real gRPC
// with the real ONNX models, loaded through the real model registry on real Postgres: addressed by
// registry version, one default per name, the candidate's cache warmed before it takes traffic, and
// loading / promoting / unloading a candidate under Rank load without a failed request.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { EmbedRequest, LoadModelRequest, ModelKind, RankingClient, RankRequest, WarmState, type LoadModelResponse, type RankResponse } from '@ranksafe/proto';
import { modelBundleFiles, readManifest } from '@ranksafe/ranking-core';
import { publishDirectory, RegistryClient } from '@ranksafe/registry-client';
import { adminMetadata, checkHealth, unaryCall, type RunningService } from '@ranksafe/serving-kit';
import { scratchDatabase, testCatalogIndex } from '@ranksafe/testing';
import { WORKSPACE_ROOT } from '@ranksafe/platform';
/* eslint-disable @nx/enforce-module-boundaries -- the test runs a real model registry in-process; apps never import each other outside tests */
import { startRegistry } from '../../model-registry/src/app';
import { loadRegistryConfig } from '../../model-registry/src/config';
import { startRankingService } from './app';
import { loadRankingConfig } from './config';

const TOKEN = 'multimodel-test-token';
const NAME = 'minilm-l6-v2';
const MODEL_DIR = path.join(WORKSPACE_ROOT, 'models', NAME);
const WARM_N = 120;
const manifest = readManifest(MODEL_DIR);
/** Registry versions as ops publishes them: <variant>-<sha12 of the model artifact>. */
const versionOf = (variant: 'int8' | 'fp32') => `${variant}-${manifest.artifacts[manifest.variants[variant]!]!.sha256.slice(0, 12)}`;
const PROD = versionOf('int8');
const CAND = versionOf('fp32');
const PRODUCTS = [
  { id: 'shoe', text: 'mens leather running shoes, size 10 | footwear', retrievalScore: 0 },
  { id: 'table', text: 'solid oak dining table with extendable leaf | dining tables', retrievalScore: 0 },
  { id: 'lamp', text: 'brass floor lamp with linen shade | lighting', retrievalScore: 0 },
  { id: 'chair', text: 'oak dining chair, set of 2 | dining chairs', retrievalScore: 0 },
];

describe('ranking-service: a candidate version beside the production default', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let tmp: string;
  let registry: RunningService;
  let ranking: RunningService;
  let client: RankingClient;
  const md = () => adminMetadata(new grpc.Metadata(), TOKEN);
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected the call to fail');
      },
      (e: grpc.ServiceError) => e,
    );
  const rank = (req: Partial<RankRequest> = {}): Promise<RankResponse> =>
    unaryCall(
      client.rank.bind(client),
      RankRequest.fromPartial({ subject: { $case: 'query', value: 'wooden table for the dining room' }, candidates: PRODUCTS, ...req }),
      { deadlineMs: 30_000 },
    );
  const load = (ref: string, req: Partial<LoadModelRequest> = {}): Promise<LoadModelResponse> =>
    unaryCall(client.loadModel.bind(client), LoadModelRequest.fromPartial({ modelName: NAME, source: { $case: 'registryRef', value: ref }, ...req }), {
      metadata: md(),
      deadlineMs: 180_000,
    });
  const list = async () => (await unaryCall(client.listModels.bind(client), {})).models;
  const setDefault = (version: string, unloadPrevious = false) =>
    unaryCall(client.setDefault.bind(client), { modelName: NAME, version, unloadPrevious }, { metadata: md() });
  const unload = (version: string) => unaryCall(client.unloadModel.bind(client), { modelName: NAME, version }, { metadata: md() });

  /** Rank requests without a version, back to back, until stop(); every answer and failure kept. */
  function steadyLoad() {
    let stopped = false;
    const versions: string[] = [];
    const failures: unknown[] = [];
    const health: string[] = [];
    const loop = (async () => {
      let i = 0;
      while (!stopped) {
        await rank({ subject: { $case: 'query', value: `dining table ${i++ % 7}` } }).then(
          (r) => versions.push(r.model!.version),
          (e) => failures.push(e),
        );
        // The status it reports (a generous deadline: loading a model hashes its artifact, which takes the CPU).
        if (i % 5 === 0) health.push((await checkHealth(ranking.address, 'ranksafe.v1.Ranking', 30_000)).status);
      }
    })();
    const stop = async () => {
      stopped = true;
      await loop;
    };
    running.push(stop);
    return { versions, failures, health, stop };
  }
  /** Load loops still running when a test failed midway: stopped after each test. */
  const running: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((stop) => stop()));
  });

  beforeAll(async () => {
    db = await scratchDatabase('rs_multimodel');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'multimodel-'));
    const fixture = await testCatalogIndex({ products: 300, users: 20 });
    ({ svc: registry } = await startRegistry(
      loadRegistryConfig({
        GRPC_PORT: '0',
        METRICS_PORT: '-1',
        LOG_LEVEL: 'error',
        ADMIN_TOKEN: TOKEN,
        DATABASE_URL: db.url,
        REGISTRY_ARTIFACT_DIR: path.join(tmp, 'artifacts'),
      }),
      { handleSignals: false },
    ));
    const publisher = new RegistryClient(registry.address, { token: TOKEN, actor: 'test' });
    for (const variant of ['int8', 'fp32'] as const) {
      await publishDirectory(publisher, {
        spec: {
          name: NAME,
          version: versionOf(variant),
          kind: ModelKind.MODEL_KIND_BI_ENCODER,
          framework: 'onnx',
          signature: {},
          metrics: {},
          lineage: undefined,
        },
        dir: MODEL_DIR,
        files: modelBundleFiles(MODEL_DIR, variant),
        alias: variant === 'int8' ? 'production' : 'canary',
      });
    }
    publisher.close();
    ({ svc: ranking } = await startRankingService(
      loadRankingConfig({
        GRPC_PORT: '0',
        METRICS_PORT: '-1',
        LOG_LEVEL: 'error',
        ADMIN_TOKEN: TOKEN,
        RANKING_INTRA_OP_THREADS: '1',
        RANKING_REGISTRY_ADDRESS: registry.address,
        RANKING_REGISTRY_CACHE_DIR: path.join(tmp, 'cache'),
        RANKING_MODEL_REF: 'production',
        RANKING_PRIME_INDEX: fixture.root,
        RANKING_WARM_TOP_N: String(WARM_N),
      }),
      { handleSignals: false },
    ));
    client = new RankingClient(ranking.address, grpc.credentials.createInsecure());
  }, 300_000);
  afterAll(async () => {
    client?.close();
    await ranking?.shutdown();
    await registry?.shutdown();
    await db?.drop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('starts with the production alias as the default, reported by its registry version, its cache warmed from the index', async () => {
    const loaded = await list();
    expect(loaded).toHaveLength(1);
    expect(loaded[0]).toMatchObject({
      model: { name: NAME, version: PROD },
      isDefault: true,
      source: 'production',
      variant: 'int8',
      warmSource: 'index',
      warmState: WarmState.WARM_STATE_WARM,
      warm: true,
    });
    expect(loaded[0]!.cache!.size).toBeGreaterThanOrEqual(300);
    expect((await rank()).model).toMatchObject({ name: NAME, version: PROD });
  });

  it('loads a candidate beside the default under load: the default keeps answering, health stays SERVING, the candidate cache is warmed by embedding the catalog', async () => {
    const traffic = steadyLoad();
    const res = await load('canary', { waitForWarm: true });
    await traffic.stop();
    expect(res).toMatchObject({ model: { name: NAME, version: CAND }, isDefault: false, alreadyLoaded: false });
    // The index was embedded by the int8 model, so the fp32 candidate embedded the first N products itself.
    expect(res.loaded).toMatchObject({
      warmState: WarmState.WARM_STATE_WARM,
      warm: true,
      warmSource: 'embedded',
      warmDone: WARM_N,
      warmTarget: WARM_N,
      variant: 'fp32',
      source: 'canary',
    });
    expect(res.loaded!.cache!.size).toBeGreaterThanOrEqual(WARM_N);
    // What is being served was warmed first: the products production ranked hit the candidate's cache.
    const cacheOf = async () => (await list()).find((m) => m.model!.version === CAND)!.cache!;
    const before = await cacheOf();
    await rank({ modelVersion: CAND });
    const after = await cacheOf();
    expect(Number(after.hits) - Number(before.hits)).toBeGreaterThanOrEqual(PRODUCTS.length);
    expect(Number(after.misses) - Number(before.misses)).toBeLessThanOrEqual(1); // the query text at most
    expect(traffic.failures).toEqual([]);
    expect(traffic.versions.length).toBeGreaterThan(0);
    expect(new Set(traffic.versions)).toEqual(new Set([PROD]));
    expect(traffic.health.length).toBeGreaterThan(0);
    expect(traffic.health.filter((h) => h !== 'SERVING')).toEqual([]);
    const loaded = await list();
    expect(loaded.map((m) => [m.model!.version, m.isDefault]).sort()).toEqual(
      [
        [CAND, false],
        [PROD, true],
      ].sort(),
    );
  }, 240_000);

  it('answers by explicit version and by default, each ModelRef naming the version that scored', async () => {
    const byDefault = await rank();
    const byProd = await rank({ modelVersion: PROD });
    const byCand = await rank({ modelName: NAME, modelVersion: CAND });
    expect(byDefault.model).toMatchObject({ name: NAME, version: PROD });
    expect(byProd.model?.version).toBe(PROD);
    expect(byCand.model?.version).toBe(CAND);
    expect(byProd.ranked.map((r) => r.id)).toEqual(byDefault.ranked.map((r) => r.id));
    // Two variants of one model: the same best answer, slightly different scores.
    expect(byCand.ranked[0]!.id).toBe('table');
    expect(byCand.ranked[0]!.modelScore).not.toBe(byProd.ranked[0]!.modelScore);
    const emb = await unaryCall(client.embed.bind(client), EmbedRequest.fromPartial({ texts: ['oak table'], modelVersion: CAND }));
    expect(emb.model?.version).toBe(CAND);
    const candidate = (await list()).find((m) => m.model!.version === CAND)!;
    expect(candidate.requests).toBeGreaterThanOrEqual(2);
  });

  it('is idempotent: loading a loaded version again answers with it and leaves the default alone', async () => {
    const before = (await list()).find((m) => m.model!.version === CAND)!;
    const again = await load(CAND);
    expect(again).toMatchObject({ alreadyLoaded: true, isDefault: false, model: { version: CAND } });
    expect(again.loaded!.loadedAtUnixMs).toBe(before.loadedAtUnixMs);
    expect((await rank()).model?.version).toBe(PROD);
  });

  it('answers NOT_FOUND for a version or model that is not loaded, INVALID_ARGUMENT for bad input, FAILED_PRECONDITION for unloading the default', async () => {
    const unknown = await failure(rank({ modelVersion: 'int8-000000000000' }));
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
    expect(unknown.details).toContain(PROD);
    expect((await failure(rank({ modelName: 'bge-small' }))).code).toBe(grpc.status.NOT_FOUND);
    expect((await failure(unaryCall(client.embed.bind(client), EmbedRequest.fromPartial({ texts: ['x'], modelVersion: 'nope' })))).code).toBe(
      grpc.status.NOT_FOUND,
    );
    expect((await failure(setDefault('nope'))).code).toBe(grpc.status.NOT_FOUND);
    expect((await failure(unload('nope'))).code).toBe(grpc.status.NOT_FOUND);
    expect((await failure(load('no-such-version'))).code).toBe(grpc.status.NOT_FOUND);

    const bad = await failure(rank({ modelVersion: CAND, candidates: [] }));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.metadata.get('field')).toEqual(['candidates']);
    const noVersion = await failure(unload(''));
    expect(noVersion.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(noVersion.metadata.get('field')).toEqual(['version']);
    expect((await failure(load('canary', { unloadPreviousDefault: true }))).code).toBe(grpc.status.INVALID_ARGUMENT);

    const def = await failure(unload(PROD));
    expect(def.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(def.details).toMatch(/default/);
    expect((await failure(unaryCall(client.setDefault.bind(client), { modelName: NAME, version: CAND, unloadPrevious: false })))!.code).toBe(
      grpc.status.UNAUTHENTICATED,
    );
    expect((await rank()).model?.version).toBe(PROD);
  });

  it('unloads the candidate under load with 0 failed requests; the default keeps serving and the candidate is then NOT_FOUND', async () => {
    const traffic = steadyLoad();
    // Some traffic to the candidate in flight while it unloads: queued work finishes before it closes.
    const toCandidate = Promise.allSettled(Array.from({ length: 4 }, (_, i) => rank({ modelVersion: CAND, subject: { $case: 'query', value: `lamp ${i}` } })));
    await unload(CAND);
    const settled = await toCandidate;
    await traffic.stop();
    expect(traffic.failures).toEqual([]);
    expect(new Set(traffic.versions)).toEqual(new Set([PROD]));
    // A candidate request either ran on the candidate (it was queued before the unload) or found it gone.
    for (const r of settled) {
      if (r.status === 'fulfilled') expect(r.value.model?.version).toBe(CAND);
      else expect((r.reason as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
    }
    expect((await failure(rank({ modelVersion: CAND }))).code).toBe(grpc.status.NOT_FOUND);
    expect((await list()).map((m) => m.model!.version)).toEqual([PROD]);
    expect((await checkHealth(ranking.address, 'ranksafe.v1.Ranking')).status).toBe('SERVING');
  }, 120_000);

  it('promotes a candidate load-before-unload under load, and rolls back the same way, with 0 failed requests', async () => {
    await load(CAND, { waitForWarm: true });
    const traffic = steadyLoad();
    while (traffic.versions.length < 3 && traffic.failures.length === 0) await new Promise((r) => setTimeout(r, 20));
    const promoted = await setDefault(CAND);
    expect(promoted).toMatchObject({ model: { version: CAND }, previousVersion: PROD });
    const seen = traffic.versions.length;
    while (traffic.versions.length < seen + 3 && traffic.failures.length === 0) await new Promise((r) => setTimeout(r, 20));
    // Roll back: production is default again and the candidate is unloaded in the same call.
    const rolledBack = await setDefault(PROD, true);
    expect(rolledBack).toMatchObject({ model: { version: PROD }, previousVersion: CAND });
    await traffic.stop();
    expect(traffic.failures).toEqual([]);
    expect(traffic.versions).toContain(CAND);
    expect((await rank()).model?.version).toBe(PROD);
    // Once a version answered as default, every later answer came from it until the next switch.
    const firstCand = traffic.versions.indexOf(CAND);
    expect(traffic.versions.slice(0, firstCand).every((v) => v === PROD)).toBe(true);
    expect((await list()).map((m) => [m.model!.version, m.isDefault])).toEqual([[PROD, true]]);
  }, 240_000);
});
