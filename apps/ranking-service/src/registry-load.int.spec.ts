// ranking-service loading models through the model registry (both real, over gRPC, on real
// Postgres): by alias, verified and cached; a tampered artifact is refused with the old model
// still serving; with the registry down the serving model stays and the cached copy still loads.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { LoadModelRequest, ModelKind, RankingClient, RankRequest } from '@ranksafe/proto';
import { modelBundleFiles } from '@ranksafe/ranking-core';
import { packBundle } from '@ranksafe/registry-core';
import { RegistryClient } from '@ranksafe/registry-client';
import { adminMetadata, unaryCall, type RunningService } from '@ranksafe/serving-kit';
import { scratchDatabase } from '@ranksafe/testing';
import { WORKSPACE_ROOT } from '@ranksafe/platform';
/* eslint-disable @nx/enforce-module-boundaries -- this integration test loads models from a real registry service run in-process; apps never import each other outside tests */
import { startRegistry } from '../../model-registry/src/app';
import { loadRegistryConfig } from '../../model-registry/src/config';
/* eslint-enable @nx/enforce-module-boundaries */
import { startRankingService } from './app';
import { loadRankingConfig } from './config';
import type { RankingModels } from './service';

const TOKEN = 'registry-load-test-token';
const MODEL_DIR = path.join(WORKSPACE_ROOT, 'models', 'minilm-l6-v2');

describe('ranking-service loads models through the model registry', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let tmp: string;
  let registry: RunningService;
  let ranking: RunningService;
  let models: RankingModels;
  let reg: RegistryClient;
  let rank: RankingClient;
  const md = () => adminMetadata(new grpc.Metadata(), TOKEN);
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected the call to fail');
      },
      (e: grpc.ServiceError) => e,
    );
  const load = (ref: string) =>
    unaryCall(
      rank.loadModel.bind(rank),
      LoadModelRequest.fromPartial({ modelName: 'minilm-l6-v2', source: { $case: 'registryRef', value: ref }, makeDefault: true }),
      { metadata: md(), deadlineMs: 120_000 },
    );
  const ranks = () =>
    unaryCall(
      rank.rank.bind(rank),
      RankRequest.fromPartial({
        subject: { $case: 'query', value: 'oak table' },
        candidates: [{ id: 'a', text: 'solid oak dining table', retrievalScore: 0 }],
      }),
      { deadlineMs: 10_000 },
    );

  const register = (version: string, file: string) =>
    reg.register({ name: 'minilm-l6-v2', version, kind: ModelKind.MODEL_KIND_BI_ENCODER, framework: 'onnx' }, file);

  beforeAll(async () => {
    db = await scratchDatabase('rs_regload');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regload-'));
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
    reg = new RegistryClient(registry.address, { token: TOKEN, actor: 'registry-load-test' });
    ({ svc: ranking, models } = await startRankingService(
      loadRankingConfig({
        GRPC_PORT: '0',
        METRICS_PORT: '-1',
        LOG_LEVEL: 'error',
        ADMIN_TOKEN: TOKEN,
        RANKING_INTRA_OP_THREADS: '1',
        RANKING_REGISTRY_ADDRESS: registry.address,
        RANKING_REGISTRY_CACHE_DIR: path.join(tmp, 'cache'),
      }),
      { handleSignals: false },
    ));
    rank = new RankingClient(ranking.address, grpc.credentials.createInsecure());
    // Two versions of the model in the registry: the int8 and the fp32 variant, as bundles.
    const int8 = path.join(tmp, 'int8.bundle');
    const fp32 = path.join(tmp, 'fp32.bundle');
    packBundle(MODEL_DIR, modelBundleFiles(MODEL_DIR, 'int8'), int8);
    packBundle(MODEL_DIR, modelBundleFiles(MODEL_DIR, 'fp32'), fp32);
    await register('int8-1', int8);
    await register('fp32-1', fp32);
    await reg.setAlias({ name: 'minilm-l6-v2', alias: 'production', version: 'int8-1', expectedVersion: '', reason: 'test' });
  }, 180_000);
  afterAll(async () => {
    reg?.close();
    rank?.close();
    await ranking?.shutdown();
    await registry?.shutdown().catch(() => undefined);
    await db?.drop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('loads the production alias, verified, and serves it', async () => {
    const res = await load('production');
    expect(res.model?.name).toBe('minilm-l6-v2');
    expect(models.primary!.dir.startsWith(path.join(tmp, 'cache'))).toBe(true);
    expect((await ranks()).ranked).toHaveLength(1);
  }, 120_000);

  it('refuses a tampered artifact with a clear error and keeps the old model serving', async () => {
    const before = models.primary!.ref;
    const { sha256 } = await reg.resolve('minilm-l6-v2', 'fp32-1');
    const file = path.join(tmp, 'artifacts', 'sha256', sha256.slice(0, 2), sha256);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from('tampered'), 0, 8, 5_000_000);
    fs.closeSync(fd);
    const err = await failure(load('fp32-1'));
    expect(err.code).toBe(grpc.status.DATA_LOSS);
    expect(err.details).toMatch(/hashes to [0-9a-f]{64}.*still serving minilm-l6-v2/);
    expect(models.primary!.ref).toEqual(before);
    expect((await ranks()).ranked).toHaveLength(1);
  }, 120_000);

  it('keeps serving when the registry is down, and reloads the cached copy of a known reference', async () => {
    await registry.shutdown('test: registry down');
    const cached = await load('production');
    expect(cached.model?.name).toBe('minilm-l6-v2');
    const unknown = await failure(load('canary'));
    expect(unknown.code).toBe(grpc.status.UNAVAILABLE);
    expect(unknown.details).toMatch(/unreachable.*still serving/);
    expect((await ranks()).ranked).toHaveLength(1);
  }, 120_000);
});
