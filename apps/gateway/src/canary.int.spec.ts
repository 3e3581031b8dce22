// Canary routing in the gateway over the real services: a real catalog index, a ranking replica
// serving the int8 model as its default and the fp32 variant as the candidate (real ONNX), and the
// split stored in real Postgres. Splits of 0 / 50 / 100 % honoured over N requests, mirroring that
// leaves answers as they were, per-variant analysis, and a restarted gateway that keeps its split.
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  GatewayAdminClient,
  LoadModelRequest,
  RankingClient,
  SearchClient,
  SearchRequest,
  SetRoutingRequest,
  type CanaryAnalysis,
  type SearchResponse,
} from '@ranksafe/proto';
import { CatalogIndex } from '@ranksafe/retrieval-core';
import { adminMetadata, unaryCall, type RunningService } from '@ranksafe/serving-kit';
import { WORKSPACE_ROOT } from '@ranksafe/platform';
import { eventually, scratchDatabase, testCatalogIndex } from '@ranksafe/testing';
/* eslint-disable @nx/enforce-module-boundaries -- an integration test of the hot path runs the real services in-process; apps never import each other outside tests */
import { startRankingService } from '../../ranking-service/src/app';
import { loadRankingConfig } from '../../ranking-service/src/config';
import { startRetrievalService } from '../../retrieval-service/src/app';
import { loadRetrievalConfig } from '../../retrieval-service/src/config';
import { startGateway, type RunningGateway } from './app';
import { loadGatewayConfig } from './config';

const TOKEN = 'canary-test-token';
const insecure = grpc.credentials.createInsecure();
const quiet = { GRPC_PORT: '0', METRICS_PORT: '-1', LOG_LEVEL: 'error', ADMIN_TOKEN: TOKEN, SHUTDOWN_GRACE_MS: '5000' };
const N = 40;

describe('gateway: canary routing to a candidate ranking version', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let retrieval: RunningService;
  let ranking: RunningService;
  let gw: RunningGateway;
  let client: SearchClient;
  let admin: GatewayAdminClient;
  let index: CatalogIndex;
  let candidate = '';
  let production = '';
  const md = () => adminMetadata(new grpc.Metadata(), TOKEN);
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected the call to fail');
      },
      (e: grpc.ServiceError) => e,
    );
  const search = (i: number, prefix = 'req'): Promise<SearchResponse> =>
    unaryCall(
      client.search.bind(client),
      SearchRequest.fromPartial({ query: index.products[i % index.products.length]!.title, k: 10, requestId: `${prefix}-${i}` }),
      { deadlineMs: 60_000 },
    );
  /** N searches, a few at a time. */
  const searches = async (prefix: string): Promise<SearchResponse[]> => {
    const out: SearchResponse[] = [];
    for (let i = 0; i < N; i += 4) out.push(...(await Promise.all([0, 1, 2, 3].map((j) => search(i + j, prefix)))));
    return out;
  };
  const setRouting = (req: Partial<SetRoutingRequest>) => unaryCall(admin.setRouting.bind(admin), SetRoutingRequest.fromPartial(req), { metadata: md() });
  const analysis = (epoch = ''): Promise<CanaryAnalysis> => unaryCall(admin.getCanaryAnalysis.bind(admin), { epoch }, { metadata: md() });
  const variantOf = (a: CanaryAnalysis, v: string) => a.variants.find((x) => x.variant === v)!;
  const startGw = async () => {
    gw = await startGateway(
      loadGatewayConfig({
        ...quiet,
        DATABASE_URL: db.url,
        RETRIEVAL_TARGETS: retrieval.address,
        RANKING_TARGETS: ranking.address,
        GATEWAY_TOP_N: '20',
        GATEWAY_HEALTH_INTERVAL_MS: '200',
        GATEWAY_RANKING_BUDGET_MS: '20000',
        GATEWAY_RETRIEVAL_BUDGET_MS: '5000',
      }),
      { handleSignals: false },
    );
    client = new SearchClient(gw.svc.address, insecure);
    admin = new GatewayAdminClient(gw.svc.address, insecure);
    await eventually(() => gw.ranking.readyCount() === 1 && gw.retrieval.readyCount() === 1, 30_000);
  };
  const stopGw = async () => {
    client.close();
    admin.close();
    await gw.svc.shutdown();
  };

  beforeAll(async () => {
    db = await scratchDatabase('rs_canary');
    const fixture = await testCatalogIndex({ products: 300, users: 20 });
    index = CatalogIndex.load(fixture.dir);
    ({ svc: retrieval } = await startRetrievalService(loadRetrievalConfig({ ...quiet, RETRIEVAL_INDEX: fixture.root }), { handleSignals: false }));
    ({ svc: ranking } = await startRankingService(
      loadRankingConfig({ ...quiet, RANKING_INTRA_OP_THREADS: '1', RANKING_PRIME_INDEX: fixture.root, RANKING_WARM_TOP_N: '300' }),
      { handleSignals: false },
    ));
    // The candidate: the fp32 variant of the same model, loaded beside the int8 default, its cache warmed with the whole catalog.
    const rc = new RankingClient(ranking.address, insecure);
    const dir = path.join(WORKSPACE_ROOT, 'models', 'minilm-l6-v2');
    const loaded = await unaryCall(
      rc.loadModel.bind(rc),
      LoadModelRequest.fromPartial({ source: { $case: 'localPath', value: dir }, variant: 'fp32', waitForWarm: true }),
      { metadata: md(), deadlineMs: 300_000 },
    );
    candidate = loaded.model!.version;
    production = (await unaryCall(rc.listModels.bind(rc), {})).models.find((m) => m.isDefault)!.model!.version;
    rc.close();
    await startGw();
  }, 600_000);
  afterAll(async () => {
    await stopGw().catch(() => undefined);
    await ranking?.shutdown();
    await retrieval?.shutdown();
    await db?.drop();
  });

  it('answers everything with production before any routing is set, and says so', async () => {
    expect(await unaryCall(admin.getRouting.bind(admin), {}, { metadata: md() })).toMatchObject({ revision: 0, canaryVersion: '', canaryWeight: 0 });
    const res = await search(1);
    expect(res).toMatchObject({ variant: 'production', degraded: false, rankingModel: { version: production } });
  });

  it('refuses routing changes without the admin token, with bad values, or against a stale revision', async () => {
    const noToken = await failure(unaryCall(admin.setRouting.bind(admin), SetRoutingRequest.fromPartial({ canaryVersion: candidate }), {}));
    expect(noToken.code).toBe(grpc.status.UNAUTHENTICATED);
    const bad = await failure(setRouting({ canaryVersion: candidate, canaryWeight: 1.5 }));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.metadata.get('field')).toEqual(['canary_weight']);
    expect((await failure(setRouting({ canaryWeight: 0.5 }))).metadata.get('field')).toEqual(['canary_version']);
    expect((await failure(setRouting({ canaryVersion: candidate, expectedRevision: 7 }))).code).toBe(grpc.status.ABORTED);
  });

  it('sends 10% to a canary named without a weight', async () => {
    const r = await setRouting({ canaryVersion: candidate, expectedRevision: 0, reason: 'default weight' });
    expect(r).toMatchObject({ canaryVersion: candidate, canaryWeight: 0.1, revision: 1, updatedBy: 'admin' });
  });

  it.each([
    [0, 0, 0],
    [0.5, 0.25, 0.75],
    [1, 1, 1],
  ])(
    'honours a %s split over N requests (canary share within [%s, %s])',
    async (weight, lo, hi) => {
      const set = await setRouting({ canaryVersion: candidate, canaryWeight: weight, resetAnalysis: true, reason: `split ${weight}` });
      expect(set.canaryWeight).toBe(weight);
      const res = await searches(`split-${weight}`);
      const canary = res.filter((r) => r.variant === 'canary');
      expect(canary.length / N).toBeGreaterThanOrEqual(lo);
      expect(canary.length / N).toBeLessThanOrEqual(hi);
      for (const r of res) {
        expect(r.degraded).toBe(false);
        expect(r.rankingModel?.version).toBe(r.variant === 'canary' ? candidate : production);
      }
      const a = await analysis();
      expect(variantOf(a, 'canary')).toMatchObject({ requests: canary.length, errors: 0 });
      expect(variantOf(a, 'production')).toMatchObject({ requests: N - canary.length, errors: 0 });
      if (canary.length > 0) expect(variantOf(a, 'canary').versions).toEqual([candidate]);
    },
    300_000,
  );

  it('mirrors requests to the canary without changing a single answer, and compares the rankings', async () => {
    await setRouting({ canaryVersion: '', canaryWeight: 0, reason: 'baseline' });
    const baseline = await searches('mirror');
    const { epoch } = await setRouting({ canaryVersion: candidate, canaryWeight: 0, mirrorRate: 1, resetAnalysis: true, reason: 'mirror all' }).then(() =>
      analysis(),
    );
    const mirrored = await searches('mirror');
    expect(mirrored.map((r) => r.results)).toEqual(baseline.map((r) => r.results));
    expect(mirrored.every((r) => r.variant === 'production' && r.rankingModel?.version === production)).toBe(true);
    await eventually(async () => variantOf(await analysis(epoch), 'mirror').requests === N, 120_000);
    const a = await analysis(epoch);
    expect(variantOf(a, 'mirror')).toMatchObject({ requests: N, errors: 0, versions: [candidate] });
    expect(variantOf(a, 'production').requests).toBe(N);
    expect(variantOf(a, 'canary').requests).toBe(0);
    // fp32 and int8 of one model: nearly the same ranking, slightly different scores.
    expect(a.mirror!.compared).toBe(N);
    expect(a.mirror!.meanTop10Overlap).toBeGreaterThan(0.7);
    expect(a.mirror!.meanScoreDrift).toBeGreaterThan(0);
    expect(a.mirror!.meanScoreDrift).toBeLessThan(0.1);
    const m = await gw.svc.metrics.registry.getSingleMetric('ranksafe_gateway_variant_requests_total')!.get();
    expect(m.values.find((v) => v.labels.variant === 'mirror' && v.labels.outcome === 'ok')?.value).toBeGreaterThanOrEqual(N);
    const overlap = await gw.svc.metrics.registry.getSingleMetric('ranksafe_gateway_mirror_top10_overlap')!.get();
    expect(
      (overlap.values as Array<{ metricName?: string; value: number; labels: Record<string, unknown> }>).find(
        (v) => v.metricName === 'ranksafe_gateway_mirror_top10_overlap_count' && v.labels.canary_version === candidate,
      )?.value,
    ).toBeGreaterThanOrEqual(N);
    // A reset ends the epoch: its counters are gone, and asking for them says so.
    await unaryCall(admin.resetCanaryAnalysis.bind(admin), {}, { metadata: md() });
    expect((await failure(analysis(epoch))).code).toBe(grpc.status.FAILED_PRECONDITION);
  }, 300_000);

  it('counts a canary the ranking replicas do not have as canary errors (degraded answers), production unaffected', async () => {
    await setRouting({ canaryVersion: 'int8-000000000000', canaryWeight: 0.5, resetAnalysis: true, reason: 'missing canary' });
    const res = await searches('missing');
    const a = await analysis();
    const canary = res.filter((r) => r.variant === 'canary');
    expect(canary.length).toBeGreaterThan(0);
    expect(canary.every((r) => r.degraded)).toBe(true);
    expect(res.filter((r) => r.variant === 'production').every((r) => !r.degraded)).toBe(true);
    expect(variantOf(a, 'canary')).toMatchObject({ requests: canary.length, errors: canary.length });
    expect(variantOf(a, 'production').errors).toBe(0);
  }, 300_000);

  it('comes back from a restart with the same split, read from Postgres', async () => {
    const before = await setRouting({ canaryVersion: candidate, canaryWeight: 1, mirrorRate: 0, reason: 'all to canary before restart' });
    await stopGw();
    await startGw();
    const after = await unaryCall(admin.getRouting.bind(admin), {}, { metadata: md() });
    expect(after).toEqual(before);
    const res = await search(3, 'after-restart');
    expect(res).toMatchObject({ variant: 'canary', degraded: false, rankingModel: { version: candidate } });
  }, 300_000);
});
