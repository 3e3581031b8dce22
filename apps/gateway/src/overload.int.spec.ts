// Overload over the real services: a burst past what the stages admit is shed, never timed out.
// A ranking replica whose admission limit is 1 sheds Rank calls, and the gateway answers those
// searches in retrieval order (degraded, ranking_overloaded); a gateway whose own limit is 2
// answers the excess RESOURCE_EXHAUSTED at once. No other status, and every process still serves.
import * as grpc from '@grpc/grpc-js';
import { SearchClient, SearchRequest } from '@ranksafe/proto';
import { CatalogIndex } from '@ranksafe/retrieval-core';
import { checkHealth, unaryCall, type RunningService } from '@ranksafe/serving-kit';
import { eventually, testCatalogIndex } from '@ranksafe/testing';
/* eslint-disable @nx/enforce-module-boundaries -- an integration test of the hot path runs the real services in-process; apps never import each other outside tests */
import { startRankingService } from '../../ranking-service/src/app';
import { loadRankingConfig } from '../../ranking-service/src/config';
import { startRetrievalService } from '../../retrieval-service/src/app';
import { loadRetrievalConfig } from '../../retrieval-service/src/config';
/* eslint-enable @nx/enforce-module-boundaries */
import { startGateway, type RunningGateway } from './app';
import { loadGatewayConfig } from './config';

const insecure = grpc.credentials.createInsecure();
const quiet = { GRPC_PORT: '0', METRICS_PORT: '-1', LOG_LEVEL: 'error', ADMIN_TOKEN: 'overload-test-token', SHUTDOWN_GRACE_MS: '5000' };
/** A limit pinned at n with no queue: whatever finds n calls running is shed. */
const pinned = (n: number) => ({
  ADMISSION_INITIAL_LIMIT: String(n),
  ADMISSION_MIN_LIMIT: String(n),
  ADMISSION_MAX_LIMIT: String(n),
  ADMISSION_MAX_QUEUE_MS: '0',
});

describe('gateway under a burst past what the stages admit', () => {
  let retrieval: RunningService;
  let ranking: RunningService;
  const gateways: RunningGateway[] = [];
  const clients: SearchClient[] = [];
  let index: CatalogIndex;

  beforeAll(async () => {
    const fixture = await testCatalogIndex({ products: 300, users: 20 });
    index = CatalogIndex.load(fixture.dir);
    ({ svc: retrieval } = await startRetrievalService(loadRetrievalConfig({ ...quiet, RETRIEVAL_INDEX: fixture.root }), { handleSignals: false }));
    ({ svc: ranking } = await startRankingService(
      loadRankingConfig({ ...quiet, ...pinned(1), RANKING_INTRA_OP_THREADS: '1', RANKING_PRIME_INDEX: fixture.root }),
      { handleSignals: false },
    ));
    // Gateway 0 admits everything it gets (a limit far above the burst); gateway 1 admits 2 at a time.
    for (const own of [{ ADMISSION_INITIAL_LIMIT: '256', ADMISSION_MIN_LIMIT: '256' }, pinned(2)]) {
      const gw = await startGateway(
        loadGatewayConfig({
          ...quiet,
          ...own,
          RETRIEVAL_TARGETS: retrieval.address,
          RANKING_TARGETS: ranking.address,
          GATEWAY_HEALTH_INTERVAL_MS: '200',
          GATEWAY_RANKING_BUDGET_MS: '5000',
          GATEWAY_RETRIEVAL_BUDGET_MS: '5000',
        }),
        { handleSignals: false },
      );
      gateways.push(gw);
      clients.push(new SearchClient(gw.svc.address, insecure));
      await eventually(() => gw.ranking.readyCount() === 1 && gw.retrieval.readyCount() === 1, 30_000);
    }
  }, 300_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all(gateways.map((g) => g.svc.shutdown()));
    await ranking?.shutdown();
    await retrieval?.shutdown();
  });

  /** 24 searches at once through gateway `g`: each one's status, and the answer when OK. */
  const burst = (g: number) =>
    Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        unaryCall(clients[g]!.search.bind(clients[g]!), SearchRequest.fromPartial({ query: index.products[i]!.title, k: 5 }), { deadlineMs: 20_000 }).then(
          (r) => ({ status: 'OK', r }),
          (e: grpc.ServiceError) => ({ status: grpc.status[e.code]!, r: undefined }),
        ),
      ),
    );

  it('answers what ranking sheds in retrieval order (degraded, ranking_overloaded), failing nothing', async () => {
    const out = await burst(0);
    expect(out.map((o) => o.status)).toEqual(Array(24).fill('OK'));
    const degraded = out.filter((o) => o.r!.degraded);
    expect(degraded.length).toBeGreaterThan(0);
    expect(new Set(degraded.map((o) => o.r!.degradedReason))).toEqual(new Set(['ranking_overloaded']));
    for (const o of out) expect(o.r!.results).toHaveLength(5);
    expect(await ranking.metrics.registry.metrics()).toMatch(/ranksafe_admission_shed_total\{[^}]*method="\/ranksafe.v1.Ranking\/Rank"[^}]*\} [1-9]/);
  });

  it('sheds the excess of its own limit with RESOURCE_EXHAUSTED, answers the rest, and every process keeps serving', async () => {
    const out = await burst(1);
    const by = (s: string) => out.filter((o) => o.status === s).length;
    expect(by('OK') + by('RESOURCE_EXHAUSTED')).toBe(24);
    expect(by('OK')).toBeGreaterThanOrEqual(2);
    expect(by('RESOURCE_EXHAUSTED')).toBeGreaterThan(0);
    for (const addr of [gateways[0]!.svc.address, gateways[1]!.svc.address, retrieval.address, ranking.address])
      expect((await checkHealth(addr)).status).toBe('SERVING');
    const after = await unaryCall(clients[1]!.search.bind(clients[1]!), SearchRequest.fromPartial({ query: index.products[3]!.title, k: 5 }), {
      deadlineMs: 20_000,
    });
    expect(after.results).toHaveLength(5);
  });
});
