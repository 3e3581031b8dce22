// Registry snapshots on real Postgres (scratch database + migrations) and real directories:
// consistent backup, verification by restoring into a scratch database, restore into the live
// database with artifacts copied back, tamper detection, retention and RPO.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Pool } from 'pg';
import { createPool, migrateUp } from '@ranksafe/db';
import { ModelKind, type ModelVersionSpec } from '@ranksafe/proto';
import { scratchDatabase, testServerUrl } from '@ranksafe/testing';
import {
  computeRpoMs,
  FailedPreconditionError,
  LocalArtifactStore,
  NotFoundError,
  Registry,
  RegistrySnapshots,
  SNAPSHOT_TABLES,
  snapshotToProto,
  type SnapshotInfo,
  type SnapshotManifest,
} from './index';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
async function* chunksOf(b: Buffer): AsyncIterable<Buffer> {
  for (let off = 0; off < b.length; off += 65536) yield b.subarray(off, off + 65536);
}
const spec = (version: string, bytes: Buffer): ModelVersionSpec => ({
  name: 'minilm',
  version,
  kind: ModelKind.MODEL_KIND_BI_ENCODER,
  framework: 'onnx',
  sizeBytes: bytes.length,
  sha256: sha(bytes),
  signature: { input: 'text' },
  metrics: { ndcg10: 0.5 },
  lineage: { source: `test ${version}`, datasetSha256: '', parentVersion: '' },
});
const readAll = async (s: AsyncIterable<Buffer>) => {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c);
  return Buffer.concat(parts);
};

describe('registry snapshots', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let pool: Pool;
  let tmp: string;
  let store: LocalArtifactStore;
  let registry: Registry;
  let snaps: RegistrySnapshots;
  const bytes: Record<string, Buffer> = {};

  const counts = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const t of SNAPSHOT_TABLES) out[t] = Number((await pool.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
    return out;
  };
  const manifestOf = (s: SnapshotInfo): SnapshotManifest => JSON.parse(fs.readFileSync(path.join(s.path, 'manifest.json'), 'utf8'));
  const register = async (version: string, size = 150_000) => {
    bytes[version] = randomBytes(size);
    return registry.registerVersion(spec(version, bytes[version]!), chunksOf(bytes[version]!), 'tester');
  };
  const scratchLeft = async () => {
    const c = createPool(testServerUrl(), { max: 1 });
    try {
      return (await c.query('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${db.name}_verify_%`])).rows.length;
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    db = await scratchDatabase('rs_snap');
    await migrateUp(db.url);
    pool = createPool(db.url, { max: 6 });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-snapshots-'));
    store = await LocalArtifactStore.open(path.join(tmp, 'artifacts'));
    registry = new Registry(pool, store);
    snaps = new RegistrySnapshots(pool, store, { databaseUrl: db.url, backupDir: path.join(tmp, 'backups'), retention: 3 });
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  let first: SnapshotInfo;
  let firstCounts: Record<string, number>;

  it('takes a consistent snapshot: table files, manifest, artifacts in the shared backup store', async () => {
    await register('v1');
    await register('v2');
    await register('v3');
    await registry.setAlias('minilm', 'prod', 'v1', '', 'tester', 'first');
    await registry.setAlias('minilm', 'staging', 'v2', '', 'tester');
    await registry.setAlias('minilm', 'staging', 'v3', 'v2', 'tester', 'newer');
    firstCounts = await counts();
    expect(firstCounts).toEqual({ model_versions: 3, model_aliases: 2, model_alias_history: 3, registry_audit: 6 });

    first = await snaps.create('before-mutations', 'tester');
    expect(first).toMatchObject({ label: 'before-mutations', rowCounts: firstCounts, rows: 14, artifacts: 3, verifiedAt: null, verifyError: null });
    expect(first.bytes).toBeGreaterThan(3 * 150_000);
    expect(fs.readdirSync(path.dirname(first.path))).toEqual([first.id]); // no temp dir left
    const m = manifestOf(first);
    expect(m.id).toBe(first.id);
    expect(m.created_at_unix_ms).toBe(first.createdAt.getTime());
    expect(m.migrations).toContain('0003_registry_snapshots');
    expect(m.artifacts.map((a) => a.sha256).sort()).toEqual(['v1', 'v2', 'v3'].map((v) => sha(bytes[v]!)).sort());
    for (const t of SNAPSHOT_TABLES) {
      const file = fs.readFileSync(path.join(first.path, m.tables[t].file));
      expect(sha(file)).toBe(m.tables[t].sha256);
      expect(file.toString('utf8').split('\n').filter(Boolean)).toHaveLength(firstCounts[t]!);
    }
    for (const v of ['v1', 'v2', 'v3']) {
      expect(fs.readFileSync(snaps.backupStore.path(sha(bytes[v]!))).equals(bytes[v]!)).toBe(true);
    }
    // The creation is audited after the export (so not inside the snapshot).
    expect((await registry.listAudit({ limit: 1 }))[0]).toMatchObject({ action: 'create_snapshot', subject: `snapshot:${first.id}`, actor: 'tester' });
    const listed = await snaps.list();
    expect(listed.snapshots.map((s) => s.id)).toEqual([first.id]);
    expect(listed.rpoMs).toBe(-1); // nothing verified yet
  }, 60_000);

  it('verifies by restoring into a scratch database, then dropping it', async () => {
    const v = await snaps.verify(first.id, 'tester');
    expect(v.verifyError).toBeNull();
    expect(v.verifiedAt).toBeInstanceOf(Date);
    expect(v.rowCounts).toEqual(firstCounts);
    expect(snapshotToProto(v)).toMatchObject({ id: first.id, status: 'verified', rows: 14, artifacts: 3, verifiedAtUnixMs: v.verifiedAt!.getTime() });
    expect(await scratchLeft()).toBe(0);
    const listed = await snaps.list();
    expect(listed.snapshots[0]!.verifiedAt).toEqual(v.verifiedAt);
    expect(listed.rpoMs).toBeGreaterThanOrEqual(0);
    expect(listed.rpoMs).toBeLessThan(60_000);
    expect(computeRpoMs(listed.snapshots, new Date(first.createdAt.getTime() + 5000))).toBe(5000);
  }, 60_000);

  it('restores: rows identical to the snapshot, artifacts copied back and downloadable, restore audited', async () => {
    // Mutate: delete a version, move an alias, register another; lose an artifact file.
    await registry.deleteVersion('minilm', 'v2', 'tester');
    await registry.setAlias('minilm', 'prod', 'v3', 'v1', 'tester', 'promote');
    await register('v4');
    fs.rmSync(store.path(sha(bytes.v1!)));
    fs.rmSync(store.path(sha(bytes.v2!)));
    const auditIdsBefore = (await registry.listAudit({ limit: 1000 })).map((a) => a.id);

    const r = await snaps.restore(first.id, 'restorer');
    expect(r.id).toBe(first.id);
    const after = await counts();
    expect({ ...after, registry_audit: after.registry_audit! - 1 }).toEqual(firstCounts);
    const lastAudit = (await registry.listAudit({ limit: 1 }))[0]!;
    expect(lastAudit).toMatchObject({ action: 'restore_snapshot', subject: `snapshot:${first.id}`, actor: 'restorer' });
    // Sequences moved past every id ever handed out: the restore's audit id is new.
    expect(lastAudit.id).toBeGreaterThan(Math.max(...auditIdsBefore));

    // The rows are the snapshot's, byte for byte as exported.
    const m = manifestOf(first);
    const reexport = (await pool.query(`SELECT row_to_json(x)::text AS j FROM model_versions x ORDER BY name, version`)).rows.map((x) => x.j + '\n').join('');
    expect(sha(Buffer.from(reexport))).toBe(m.tables.model_versions.sha256);
    expect((await registry.resolveAlias('minilm', 'prod')).version).toBe('v1');
    expect((await registry.resolveAlias('minilm', 'staging')).version).toBe('v3');
    await expect(registry.getVersion('minilm', 'v4')).rejects.toBeInstanceOf(NotFoundError);
    expect((await registry.aliasHistory('minilm', 'prod')).map((h) => h.version)).toEqual(['v1']);

    for (const v of ['v1', 'v2', 'v3']) {
      expect(fs.readFileSync(store.path(sha(bytes[v]!))).equals(bytes[v]!)).toBe(true);
      const dl = await registry.openArtifact('minilm', v);
      expect((await readAll(dl.stream as AsyncIterable<Buffer>)).equals(bytes[v]!)).toBe(true);
    }
    // The registry works on after a restore.
    await registry.setAlias('minilm', 'prod', 'v2', 'v1', 'tester');
    expect((await registry.resolveAlias('minilm', 'prod')).version).toBe('v2');
  }, 60_000);

  let tampered: SnapshotInfo;

  it('fails verification of a snapshot whose backup artifact was tampered with, and refuses to restore it', async () => {
    await register('v5');
    tampered = await snaps.create('to-tamper', 'tester');
    const p = snaps.backupStore.path(sha(bytes.v5!));
    const bad = Buffer.from(bytes.v5!);
    bad[1000] = bad[1000]! ^ 0xff; // same size, different bytes
    fs.chmodSync(p, 0o644);
    fs.writeFileSync(p, bad);

    const v = await snaps.verify(tampered.id, 'tester');
    expect(v.verifiedAt).toBeNull();
    expect(v.verifyError).toMatch(/backup artifact .* hashes to/);
    expect(snapshotToProto(v).status).toMatch(/^failed: /);
    expect(await scratchLeft()).toBe(0);
    const before = await counts();
    await expect(snaps.restore(tampered.id, 'tester')).rejects.toBeInstanceOf(FailedPreconditionError);
    expect(await counts()).toEqual(before);
    // RPO still comes from the older verified snapshot.
    const listed = await snaps.list();
    expect(listed.snapshots.map((s) => s.id)).toEqual([tampered.id, first.id]);
    expect(listed.rpoMs).toBeGreaterThanOrEqual(Date.now() - first.createdAt.getTime() - 1000);

    // A tampered table file is caught too.
    const other = await snaps.create('table-tamper', 'tester');
    fs.appendFileSync(path.join(other.path, 'model_aliases.jsonl'), '{"name":"x"}\n');
    const ov = await snaps.verify(other.id, 'tester');
    expect(ov.verifyError).toMatch(/model_aliases\.jsonl hashes to/);
    await expect(snaps.restore(other.id, 'tester')).rejects.toBeInstanceOf(FailedPreconditionError);
  }, 90_000);

  it('keeps the newest N snapshots (and the newest verified one), and collects unreferenced backup artifacts', async () => {
    expect(fs.existsSync(snaps.backupStore.path(sha(bytes.v5!)))).toBe(true);
    await registry.deleteVersion('minilm', 'v5', 'tester'); // now only the old snapshots reference v5
    // 3 snapshots now (tampered, table-tamper, first); retention 3.
    const a = await snaps.create('r1', 'tester');
    let ids = (await snaps.list()).snapshots.map((s) => s.id);
    // Newest 3 (r1, table-tamper, tampered) plus the newest verified one (first).
    expect(ids).toHaveLength(4);
    expect(ids).toContain(first.id);
    await snaps.verify(a.id, 'tester');
    const b = await snaps.create('r2', 'tester');
    const c = await snaps.create('r3', 'tester');
    ids = (await snaps.list()).snapshots.map((s) => s.id);
    expect(ids).toEqual([c.id, b.id, a.id]);
    expect(fs.readdirSync(path.dirname(a.path)).sort()).toEqual([a.id, b.id, c.id].sort());
    // v5's artifact was referenced only by dropped snapshots; v1-v3 are still referenced.
    const kept: string[] = [];
    for await (const s of snaps.backupStore.list()) kept.push(s);
    expect(kept.sort()).toEqual(['v1', 'v2', 'v3'].map((v) => sha(bytes[v]!)).sort());
    expect(c.artifacts).toBe(3);
  }, 120_000);
});
