// RegistryClient (libs/registry-client) against a real model-registry over gRPC on loopback, on a
// scratch Postgres: typed calls keep their gRPC status, exists, keyset listing, resolve, a lost
// compare-and-set as AliasConflictError with the current version, the verified download (a
// tampered artifact is DATA_LOSS and leaves no file), snapshots, and the fetcher sharing a client.
// It lives here because a lib's tests may not import an app (the server).
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ModelKind } from '@ranksafe/proto';
import { packBundle } from '@ranksafe/registry-core';
import { AliasConflictError, CURRENT_VERSION_TRAILER, publishDirectory, RegistryClient, RegistryFetcher, RegistryRpcError } from '@ranksafe/registry-client';
import type { RunningService } from '@ranksafe/serving-kit';
import { scratchDatabase } from '@ranksafe/testing';
import { startRegistry } from './app';
import { loadRegistryConfig } from './config';

const TOKEN = 'registry-client-test-token';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('RegistryClient against a real model-registry', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let tmp: string;
  let svc: RunningService;
  let registry: RegistryClient;
  const artifacts = () => path.join(tmp, 'artifacts');
  const blob = (sha256: string) => path.join(artifacts(), 'sha256', sha256.slice(0, 2), sha256);
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected the call to fail');
      },
      (e: Error) => e,
    );
  const file = (name: string, bytes: Buffer) => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, bytes);
    return f;
  };
  const spec = (version: string) => ({ name: 'minilm', version, kind: ModelKind.MODEL_KIND_BI_ENCODER, framework: 'onnx' });

  const v1 = randomBytes(300_000);
  const v2 = randomBytes(700_000);
  const v3 = randomBytes(50_000);

  beforeAll(async () => {
    db = await scratchDatabase('rs_regclient');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regclient-'));
    const cfg = loadRegistryConfig({
      GRPC_PORT: '0',
      METRICS_PORT: '-1',
      LOG_LEVEL: 'error',
      ADMIN_TOKEN: TOKEN,
      DATABASE_URL: db.url,
      REGISTRY_ARTIFACT_DIR: artifacts(),
      REGISTRY_BACKUP_DIR: path.join(tmp, 'backups'),
    });
    ({ svc } = await startRegistry(cfg, { handleSignals: false }));
    registry = new RegistryClient(svc.address, { token: TOKEN, actor: 'client-test' });
  }, 60_000);
  afterAll(async () => {
    registry?.close();
    await svc?.shutdown();
    await db?.drop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('registers by streamed upload, answers exists, lists every version across keyset pages, and keeps gRPC statuses', async () => {
    const sent: number[] = [];
    const mv = await registry.register({ ...spec('v1'), metrics: { ndcg10: 0.7 } }, file('v1.bin', v1), { onProgress: (s) => sent.push(s) });
    expect(mv).toMatchObject({
      spec: { name: 'minilm', version: 'v1', sha256: sha(v1), sizeBytes: v1.length, metrics: { ndcg10: 0.7 } },
      createdBy: 'client-test',
    });
    expect(sent.at(-1)).toBe(v1.length);
    await registry.register(spec('v2'), file('v2.bin', v2));
    await registry.register(spec('v3'), file('v3.bin', v3));

    expect(await registry.exists('minilm', 'v2')).toBe(true);
    expect(await registry.exists('minilm', 'nope')).toBe(false);

    const listed: string[] = [];
    for await (const v of registry.listVersions('minilm', { pageSize: 1 })) listed.push(v.spec!.version);
    expect(listed.sort()).toEqual(['v1', 'v2', 'v3']);

    const dup = await failure(registry.register(spec('v1'), file('v1.bin', v1)));
    expect(dup).toBeInstanceOf(RegistryRpcError);
    expect(dup).toMatchObject({ code: grpc.status.ALREADY_EXISTS, method: 'RegisterVersion' });
    const anonymous = new RegistryClient(svc.address);
    try {
      const denied = await failure(anonymous.setAlias({ name: 'minilm', alias: 'production', version: 'v1', expectedVersion: '' }));
      expect(denied).toMatchObject({ code: grpc.status.UNAUTHENTICATED, method: 'SetAlias' });
      expect(await anonymous.exists('minilm', 'v1')).toBe(true); // reads need no token by default
    } finally {
      anonymous.close();
    }
  });

  it('moves an alias only by compare-and-set: a stale expectation is AliasConflictError carrying the current version', async () => {
    const a = await registry.setAlias({ name: 'minilm', alias: 'production', version: 'v1', expectedVersion: '', reason: 'first' });
    expect(a).toMatchObject({ alias: 'production', version: 'v1', updatedBy: 'client-test' });
    expect(await registry.aliasVersion('minilm', 'production')).toBe('v1');
    expect(await registry.aliasVersion('minilm', 'canary')).toBe('');

    // Two writers with the same expectation: exactly one wins, the other learns who did.
    const results = await Promise.allSettled([
      registry.setAlias({ name: 'minilm', alias: 'production', version: 'v2', expectedVersion: 'v1' }),
      registry.setAlias({ name: 'minilm', alias: 'production', version: 'v3', expectedVersion: 'v1' }),
    ]);
    const won = results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ version: string }>;
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(won).toBeDefined();
    expect(lost.reason).toBeInstanceOf(AliasConflictError);
    const conflict = lost.reason as AliasConflictError;
    expect(conflict).toMatchObject({
      code: grpc.status.ABORTED,
      model: 'minilm',
      alias: 'production',
      expectedVersion: 'v1',
      currentVersion: won.value.version,
    });
    // the registry said so itself (a trailer), the client did not have to ask
    expect(conflict.metadata.get(CURRENT_VERSION_TRAILER)).toEqual([won.value.version]);
    expect(await registry.aliasVersion('minilm', 'production')).toBe(won.value.version);

    // Expecting an alias that is not set: the current version is '' (unset).
    const unset = await failure(registry.setAlias({ name: 'minilm', alias: 'canary', version: 'v3', expectedVersion: 'v2' }));
    expect(unset).toBeInstanceOf(AliasConflictError);
    expect((unset as AliasConflictError).currentVersion).toBe('');

    // publishDirectory never moves an existing alias: the conflict means "already set".
    expect(await publishDirectory(registry, { spec: spec('v1'), dir: tmp, files: ['v1.bin'], alias: 'production' })).toEqual({
      uploaded: false,
      aliasSet: false,
    });
    expect(await registry.aliasVersion('minilm', 'production')).toBe(won.value.version);
  });

  it('resolves an alias (now and as of a time) or a version, and says NOT_FOUND for neither', async () => {
    const history = await registry.aliasHistory('minilm', 'production');
    expect(history.map((e) => e.version)).toEqual([history[0]!.version, 'v1']);
    const now = await registry.resolve('minilm', 'production');
    expect(now).toMatchObject({ name: 'minilm', version: history[0]!.version, alias: { alias: 'production' } });
    const then = await registry.resolve('minilm', 'production', { asOf: history[1]!.updatedAtUnixMs });
    expect(then).toMatchObject({ version: 'v1', sha256: sha(v1), sizeBytes: v1.length });
    const byVersion = await registry.resolve('minilm', 'v3');
    expect(byVersion.alias).toBeUndefined();
    expect(byVersion.sha256).toBe(sha(v3));
    const missing = await failure(registry.resolve('minilm', 'staging'));
    expect(missing).toMatchObject({ code: grpc.status.NOT_FOUND });
    expect(missing.message).toMatch(/no alias or version "staging"/);
    const audit = await registry.listAudit({ name: 'minilm' });
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['register_version', 'set_alias']));
    expect(audit.every((e) => e.actor === 'client-test')).toBe(true);
  });

  it('downloads verified into place; a tampered artifact is DATA_LOSS and leaves no file, not even a partial one', async () => {
    const out = path.join(tmp, 'dl');
    fs.mkdirSync(out);
    const got = await registry.download('minilm', 'v2', path.join(out, 'v2.bin'), { expectedSha256: sha(v2) });
    expect(got).toEqual({ path: path.join(out, 'v2.bin'), sizeBytes: v2.length, sha256: sha(v2) });
    expect(fs.readFileSync(got.path).equals(v2)).toBe(true);

    // The bytes are right but not what the caller was told to expect: refused on this side.
    const wrong = await failure(registry.download('minilm', 'v3', path.join(out, 'v3.bin'), { expectedSha256: sha(v1) }));
    expect(wrong).toMatchObject({ code: grpc.status.DATA_LOSS });
    expect(fs.existsSync(path.join(out, 'v3.bin'))).toBe(false);

    // Tamper with v2's blob in the store (same length); an older copy sits at the destination.
    const bytes = fs.readFileSync(blob(sha(v2)));
    bytes[600_000] = bytes[600_000]! ^ 0xff;
    fs.writeFileSync(blob(sha(v2)), bytes);
    fs.writeFileSync(path.join(out, 'old.bin'), 'old copy');
    const tampered = await failure(registry.download('minilm', 'v2', path.join(out, 'old.bin')));
    expect(tampered).toBeInstanceOf(RegistryRpcError);
    expect(tampered).toMatchObject({ code: grpc.status.DATA_LOSS, method: 'DownloadArtifact' });
    expect(tampered.message).toMatch(/hashes to [0-9a-f]{64}/);
    expect(fs.readFileSync(path.join(out, 'old.bin'), 'utf8')).toBe('old copy');
    expect(fs.readdirSync(out).sort()).toEqual(['old.bin', 'v2.bin']);
    fs.writeFileSync(blob(sha(v2)), v2); // repaired for the snapshot test
  });

  it('cancels a call when its signal aborts, and gives up at the deadline', async () => {
    const before = new AbortController();
    before.abort();
    expect(await failure(registry.getVersion('minilm', 'v1', { signal: before.signal }))).toMatchObject({ code: grpc.status.CANCELLED });
    // aborted while in flight (the answer cannot have arrived before the next line runs)
    const during = new AbortController();
    const call = registry.listSnapshots({ signal: during.signal });
    during.abort();
    expect(await failure(call)).toMatchObject({ code: grpc.status.CANCELLED, method: 'ListSnapshots' });
    const dl = new AbortController();
    const dest = path.join(tmp, 'cancelled.bin');
    const download = registry.download('minilm', 'v2', dest, { signal: dl.signal, onProgress: () => dl.abort() });
    expect(await failure(download)).toMatchObject({ code: grpc.status.CANCELLED });
    expect(fs.existsSync(dest)).toBe(false);
    expect(fs.readdirSync(tmp).filter((f) => f.endsWith('.part'))).toEqual([]);
    const nowhere = new RegistryClient('127.0.0.1:1', { deadlineMs: 300 });
    try {
      const e = await failure(nowhere.exists('minilm', 'v1'));
      expect(e).toBeInstanceOf(RegistryRpcError);
      expect((e as RegistryRpcError).unreachable).toBe(true);
    } finally {
      nowhere.close();
    }
  });

  it('snapshots: create, verify, list with the RPO', async () => {
    const snap = await registry.createSnapshot('client-test');
    expect(snap).toMatchObject({ label: 'client-test', status: 'unverified', artifacts: 3 });
    let listed = await registry.listSnapshots();
    expect(listed.snapshots.map((s) => s.id)).toEqual([snap.id]);
    expect(listed.rpoMs).toBe(-1);
    const verified = await registry.verifySnapshot(snap.id);
    expect(verified).toMatchObject({ id: snap.id, status: 'verified', rows: snap.rows });
    listed = await registry.listSnapshots();
    expect(listed.snapshots[0]).toMatchObject({ id: snap.id, status: 'verified' });
    expect(listed.rpoMs).toBeGreaterThanOrEqual(0);
    const missing = await failure(registry.verifySnapshot('no-such-snapshot'));
    expect(missing).toBeInstanceOf(RegistryRpcError);
    expect([grpc.status.NOT_FOUND, grpc.status.INVALID_ARGUMENT]).toContain((missing as RegistryRpcError).code);
  }, 120_000);

  it('RegistryFetcher over a shared client: resolves, downloads verified, unpacks, and leaves the client open', async () => {
    const src = path.join(tmp, 'bundle-src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'manifest.json'), '{"hello":"world"}');
    fs.writeFileSync(path.join(src, 'weights.bin'), randomBytes(100_000));
    const bundle = path.join(tmp, 'b.bundle');
    packBundle(src, ['manifest.json', 'weights.bin'], bundle);
    await registry.register({ ...spec('bundle-1'), name: 'packed' }, bundle);
    await registry.setAlias({ name: 'packed', alias: 'production', version: 'bundle-1', expectedVersion: '' });
    const fetcher = new RegistryFetcher(registry, path.join(tmp, 'cache'));
    const f = await fetcher.fetch('packed', 'production');
    fetcher.close();
    expect(f).toMatchObject({ name: 'packed', version: 'bundle-1', sha256: sha(fs.readFileSync(bundle)), fromCache: false });
    expect(fs.readFileSync(path.join(f.dir, 'manifest.json'), 'utf8')).toBe('{"hello":"world"}');
    expect(fs.readdirSync(path.join(tmp, 'cache')).sort()).toEqual([f.sha256, 'refs.json'].sort());
    expect(await registry.exists('packed', 'bundle-1')).toBe(true); // still open
  });
});
