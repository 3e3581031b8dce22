// The model registry when its database goes away (the registry-db-unavailable drill, on loopback):
// the registry's Postgres path runs through a TcpProxy; closing it is the cut. Health goes
// NOT_SERVING, a mutation fails fast with UNAVAILABLE (not INTERNAL, not a hang), the process stays
// up; when the path returns, health is SERVING again, a mutation succeeds and the one acknowledged
// before the cut is still there.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { TcpProxy, urlThrough } from '@ranksafe/platform';
import { ModelKind } from '@ranksafe/proto';
import { RegistryClient, RegistryRpcError } from '@ranksafe/registry-client';
import { checkHealth, type RunningService } from '@ranksafe/serving-kit';
import { eventually, scratchDatabase } from '@ranksafe/testing';
import { startRegistry } from './app';
import { loadRegistryConfig } from './config';

const TOKEN = 'registry-db-cut-test-token';

describe('model-registry with its database cut', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let tmp: string;
  let proxy: TcpProxy;
  let svc: RunningService;
  let registry: RegistryClient;
  const start = (port = 0) => {
    const u = new URL(db.url);
    return TcpProxy.start({ listenHost: '127.0.0.1', listenPort: port, upstreamHost: u.hostname, upstreamPort: Number(u.port || 5432) });
  };

  beforeAll(async () => {
    db = await scratchDatabase('rs_regdbcut');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regdbcut-'));
    proxy = await start();
    const cfg = loadRegistryConfig({
      GRPC_PORT: '0',
      METRICS_PORT: '-1',
      LOG_LEVEL: 'silent',
      ADMIN_TOKEN: TOKEN,
      DATABASE_URL: urlThrough(db.url, '127.0.0.1', proxy.port),
      DB_CHECK_INTERVAL_MS: '200',
      REGISTRY_ARTIFACT_DIR: path.join(tmp, 'artifacts'),
    });
    ({ svc } = await startRegistry(cfg, { handleSignals: false }));
    registry = new RegistryClient(svc.address, { token: TOKEN, actor: 'db-cut-test' });
  }, 60_000);
  afterAll(async () => {
    registry?.close();
    await svc?.shutdown();
    await proxy?.close();
    await db?.drop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('goes NOT_SERVING, fails mutations with UNAVAILABLE, and comes back with nothing acknowledged lost', async () => {
    const bytes = randomBytes(10_000);
    const f = path.join(tmp, 'm.bin');
    fs.writeFileSync(f, bytes);
    await registry.register({ name: 'cut', version: 'v1', kind: ModelKind.MODEL_KIND_BI_ENCODER, framework: 'onnx' }, f);
    const acked = await registry.setAlias({ name: 'cut', alias: 'production', version: 'v1', expectedVersion: '' });

    await proxy.close();
    await eventually(async () => (await checkHealth(svc.address)).status === 'NOT_SERVING', 5000, 50);
    const t = Date.now();
    const err = await registry.setAlias({ name: 'cut', alias: 'canary', version: 'v1', expectedVersion: '' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(RegistryRpcError);
    expect([(err as RegistryRpcError).code, (err as RegistryRpcError).details]).toEqual([
      grpc.status.UNAVAILABLE,
      expect.stringContaining('database is unavailable'),
    ]);
    expect(Date.now() - t).toBeLessThan(3000);
    const read = await registry.resolveAlias('cut', 'production').catch((e: RegistryRpcError) => e);
    expect((read as RegistryRpcError).code).toBe(grpc.status.UNAVAILABLE);

    proxy = await start(proxy.port);
    await eventually(async () => (await checkHealth(svc.address)).status === 'SERVING', 5000, 50);
    expect(await registry.resolveAlias('cut', 'production')).toMatchObject({ version: 'v1', updatedAtUnixMs: acked.updatedAtUnixMs });
    await expect(registry.setAlias({ name: 'cut', alias: 'canary', version: 'v1', expectedVersion: '' })).resolves.toMatchObject({ version: 'v1' });
  }, 60_000);
});
