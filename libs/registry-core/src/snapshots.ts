// Registry snapshots: consistent backups of the registry's tables plus the artifacts they
// reference, verification by a real restore into a scratch database, restore into the live
// database, retention, and the RPO (age of the newest verified snapshot).
//
// Layout under the backup root:
//   snapshots/<id>/manifest.json          id, label, created_at, per-table {file, rows, sha256, columns}, artifacts
//   snapshots/<id>/<table>.jsonl          one row_to_json() per line, in primary-key order
//   snapshots/.tmp-<id>/                  a snapshot being written (renamed into place at the end)
//   artifacts/sha256/ab/<sha256>          content-addressed artifact copies, shared by all snapshots
//
// The export is done in-process over SQL (not pg_dump) so it works against any server the
// registry can reach (embedded or remote, whatever the local pg_dump's version), needs no
// superuser or binary on PATH, exports exactly the registry's four tables, and its output is
// loaded back by the same code path (json_populate_recordset) that verification exercises.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Pool, type PoolClient } from 'pg';
import { atomicWriteFile, fileDigest, fsyncDir } from '@ranksafe/artifact-integrity';
import type { Snapshot } from '@ranksafe/proto';
import { createPool, dropDatabase, ensureDatabase, migrateUp, withDatabase } from '@ranksafe/db';
import { ArtifactIntegrityError, FailedPreconditionError, InvalidArgumentError, NotFoundError, RegistryError } from './errors';
import { assertSha256, LocalArtifactStore, type ArtifactStore } from './store';

/** The tables a snapshot holds, in load order (model_aliases references model_versions). */
export const SNAPSHOT_TABLES = ['model_versions', 'model_aliases', 'model_alias_history', 'registry_audit'] as const;
export type SnapshotTable = (typeof SNAPSHOT_TABLES)[number];

const ORDER_BY: Record<SnapshotTable, string> = {
  model_versions: 'name, version',
  model_aliases: 'name, alias',
  model_alias_history: 'id',
  registry_audit: 'id',
};
/** bigserial columns whose sequences a restore moves past the restored ids. */
const SERIAL: Partial<Record<SnapshotTable, string>> = { model_alias_history: 'id', registry_audit: 'id' };

export const SNAPSHOT_FORMAT = 'ranksafe-registry-snapshot/1';
export const SNAPSHOT_ID_RE = /^\d{8}T\d{9}Z-[0-9a-f]{8}$/;
export const DEFAULT_SNAPSHOT_RETENTION = 10;

/** Serialises snapshot operations across processes sharing the database ("rsnapsht"). */
const SNAPSHOT_LOCK = 0x72736e617073687an.toString();
const NOW_MS = "date_trunc('milliseconds', clock_timestamp())";
const FETCH_ROWS = 1000;
const LOAD_BATCH = 500;

export interface SnapshotManifest {
  format: typeof SNAPSHOT_FORMAT;
  id: string;
  label: string;
  created_at: string;
  created_at_unix_ms: number;
  /** Migrations applied to the source database when the snapshot was taken. */
  migrations: string[];
  tables: Record<SnapshotTable, { file: string; rows: number; bytes: number; sha256: string; columns: string[] }>;
  /** Every distinct artifact referenced by model_versions, with its recorded size. */
  artifacts: Array<{ sha256: string; size: number }>;
}

export interface SnapshotInfo {
  id: string;
  label: string;
  createdAt: Date;
  path: string;
  rowCounts: Record<string, number>;
  /** Rows over all tables. */
  rows: number;
  artifacts: number;
  /** Table files plus the referenced artifacts (logical size; artifacts are shared between snapshots). */
  bytes: number;
  verifiedAt: Date | null;
  verifyError: string | null;
}

export type SnapshotStatus = 'verified' | 'unverified' | 'failed';

export interface SnapshotManagerOptions {
  /** URL of the live database; verification creates `<db>_verify_<random>` on the same server (needs CREATEDB). */
  databaseUrl: string;
  /** Backup root (snapshots/ and artifacts/ below it). */
  backupDir: string;
  /** Keep the newest N snapshots (default 10); the newest verified one is kept as well. */
  retention?: number;
}

export function snapshotStatus(s: Pick<SnapshotInfo, 'verifiedAt' | 'verifyError'>): SnapshotStatus {
  if (s.verifyError !== null) return 'failed';
  return s.verifiedAt ? 'verified' : 'unverified';
}

/**
 * The recovery point objective we can promise now: the age in ms of the newest VERIFIED
 * snapshot (by the time its data was read), or -1 when no snapshot is verified. The ops CLI
 * and ListSnapshots (rpo_ms) both use this.
 */
export function computeRpoMs(snapshots: ReadonlyArray<Pick<SnapshotInfo, 'createdAt' | 'verifiedAt' | 'verifyError'>>, now: Date = new Date()): number {
  let newest: number | undefined;
  for (const s of snapshots) {
    if (snapshotStatus(s) !== 'verified') continue;
    const t = s.createdAt.getTime();
    if (newest === undefined || t > newest) newest = t;
  }
  return newest === undefined ? -1 : Math.max(0, now.getTime() - newest);
}

/** The gRPC message; status is 'verified', 'unverified' or 'failed: <why>'. */
export function snapshotToProto(s: SnapshotInfo): Snapshot {
  const st = snapshotStatus(s);
  return {
    id: s.id,
    label: s.label,
    createdAtUnixMs: s.createdAt.getTime(),
    verifiedAtUnixMs: s.verifiedAt?.getTime() ?? 0,
    rows: s.rows,
    artifacts: s.artifacts,
    bytes: s.bytes,
    status: st === 'failed' ? `failed: ${(s.verifyError ?? '').slice(0, 500)}` : st,
  };
}

interface SnapshotRow {
  id: string;
  label: string;
  created_at: Date;
  path: string;
  row_counts: Record<string, number>;
  artifacts: number;
  bytes: string;
  verified_at: Date | null;
  verify_error: string | null;
}

function toInfo(r: SnapshotRow): SnapshotInfo {
  const rowCounts = r.row_counts ?? {};
  return {
    id: r.id,
    label: r.label,
    createdAt: r.created_at,
    path: r.path,
    rowCounts,
    rows: Object.values(rowCounts).reduce((a, b) => a + Number(b), 0),
    artifacts: Number(r.artifacts),
    bytes: Number(r.bytes),
    verifiedAt: r.verified_at,
    verifyError: r.verify_error,
  };
}

/**
 * Snapshots of one registry database and its artifact store. Every operation holds a Postgres
 * advisory lock, so creates, verifications, restores and retention never interleave (also
 * across processes on the same database).
 */
export class RegistrySnapshots {
  readonly backupDir: string;
  readonly retention: number;
  readonly backupStore: LocalArtifactStore;
  private readonly databaseUrl: string;

  constructor(
    private readonly pool: Pool,
    /** The live artifact store (the registry's). */
    private readonly store: ArtifactStore,
    opts: SnapshotManagerOptions,
  ) {
    this.databaseUrl = opts.databaseUrl;
    this.backupDir = path.resolve(opts.backupDir);
    this.retention = opts.retention ?? DEFAULT_SNAPSHOT_RETENTION;
    if (!Number.isSafeInteger(this.retention) || this.retention < 1) throw new InvalidArgumentError(`invalid snapshot retention ${opts.retention}`);
    this.backupStore = new LocalArtifactStore(path.join(this.backupDir, 'artifacts'));
  }

  private get snapshotsDir(): string {
    return path.join(this.backupDir, 'snapshots');
  }

  /**
   * Take a consistent snapshot: every table read in one REPEATABLE READ READ ONLY transaction
   * (one instant, which becomes created_at), written to a temp dir, the referenced artifacts
   * copied into the backup store when missing (hash-checked by the store's put), manifest
   * written, dir renamed into place, row recorded, creation audited, retention applied.
   */
  async create(label: string, actor = 'admin'): Promise<SnapshotInfo> {
    if (typeof label !== 'string' || label.length > 200) throw new InvalidArgumentError('a snapshot label is at most 200 characters');
    return this.locked(async () => {
      await fsp.mkdir(this.snapshotsDir, { recursive: true });
      await this.backupStore.init();
      await this.sweepTemp();
      const suffix = randomBytes(4).toString('hex');
      const tmpDir = path.join(this.snapshotsDir, `.tmp-${suffix}`);
      await fsp.mkdir(tmpDir);
      try {
        const exp = await this.exportTables(tmpDir);
        const id = `${compactTime(exp.createdAt)}-${suffix}`;
        let artifactBytes = 0;
        for (const a of exp.artifacts) {
          artifactBytes += a.size;
          await this.copyArtifact(this.store, this.backupStore, a.sha256, a.size, 'backup');
        }
        const manifest: SnapshotManifest = {
          format: SNAPSHOT_FORMAT,
          id,
          label,
          created_at: exp.createdAt.toISOString(),
          created_at_unix_ms: exp.createdAt.getTime(),
          migrations: exp.migrations,
          tables: exp.tables,
          artifacts: exp.artifacts,
        };
        await atomicWriteFile(path.join(tmpDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
        await fsyncDir(tmpDir);
        const finalDir = path.join(this.snapshotsDir, id);
        await fsp.rename(tmpDir, finalDir);
        await fsyncDir(this.snapshotsDir);
        const rowCounts = Object.fromEntries(SNAPSHOT_TABLES.map((t) => [t, exp.tables[t].rows]));
        const tableBytes = SNAPSHOT_TABLES.reduce((a, t) => a + exp.tables[t].bytes, 0);
        const r = await this.pool.query<SnapshotRow>(
          `INSERT INTO registry_snapshots (id, label, created_at, path, row_counts, artifacts, bytes)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
          [id, label, exp.createdAt, finalDir, JSON.stringify(rowCounts), exp.artifacts.length, String(tableBytes + artifactBytes)],
        );
        await this.audit(this.pool, actor, 'create_snapshot', id, { label, rows: rowCounts, artifacts: exp.artifacts.length });
        await this.applyRetention();
        return toInfo(r.rows[0]!);
      } finally {
        await fsp.rm(tmpDir, { recursive: true, force: true }).catch(() => undefined);
      }
    });
  }

  /** Snapshots, newest first, and the RPO (see computeRpoMs). */
  async list(now: Date = new Date()): Promise<{ snapshots: SnapshotInfo[]; rpoMs: number }> {
    const r = await this.pool.query<SnapshotRow>('SELECT * FROM registry_snapshots ORDER BY created_at DESC, id DESC');
    const snapshots = r.rows.map(toInfo);
    return { snapshots, rpoMs: computeRpoMs(snapshots, now) };
  }

  async get(id: string): Promise<SnapshotInfo> {
    checkId(id);
    const r = await this.pool.query<SnapshotRow>('SELECT * FROM registry_snapshots WHERE id = $1', [id]);
    if (!r.rows[0]) throw new NotFoundError(`snapshot ${id} not found`);
    return toInfo(r.rows[0]);
  }

  /**
   * Prove the snapshot restores: table files match the manifest's sha256s, the rows load into
   * a fresh scratch database migrated to the current schema (constraints and foreign keys
   * checked by Postgres), the row counts equal the manifest's, the artifacts model_versions
   * references are exactly the manifest's, and every one of them in the backup store hashes to
   * its name and has its size. Records verified_at, or verify_error (and clears verified_at).
   */
  async verify(id: string, actor = 'admin'): Promise<SnapshotInfo> {
    checkId(id);
    return this.locked(() => this.verifyLocked(id, actor));
  }

  /**
   * Replace the live registry tables with the snapshot's rows in one transaction (tables locked
   * against writers, bigserial sequences moved past the restored ids, never backwards), after
   * copying any artifact missing from the live store back from the backup store (hash-checked).
   * Refused (FailedPreconditionError) for a snapshot that failed verification; one never
   * verified is verified first. The restore is audited by a row written after the restored rows.
   */
  async restore(id: string, actor = 'admin'): Promise<SnapshotInfo> {
    checkId(id);
    return this.locked(async () => {
      let snap = await this.get(id);
      if (snapshotStatus(snap) === 'unverified') snap = await this.verifyLocked(id, actor);
      if (snapshotStatus(snap) === 'failed') {
        throw new FailedPreconditionError(`snapshot ${id} failed verification (${snap.verifyError}); refusing to restore it`);
      }
      // The files may have changed since verification: check them again before touching anything.
      const manifest = await this.readManifest(snap);
      await this.checkTableFiles(snap, manifest);
      for (const a of manifest.artifacts) await this.copyArtifact(this.backupStore, this.store, a.sha256, a.size, 'restore');

      const c = await this.pool.connect();
      try {
        await c.query('BEGIN');
        await c.query(`LOCK TABLE ${SNAPSHOT_TABLES.join(', ')} IN ACCESS EXCLUSIVE MODE`);
        const before: Record<string, number> = {};
        for (const t of SNAPSHOT_TABLES) before[t] = await count(c, t);
        for (const t of [...SNAPSHOT_TABLES].reverse()) await c.query(`DELETE FROM ${t}`);
        await loadTables(c, snap, manifest);
        await this.audit(c, actor, 'restore_snapshot', id, {
          label: snap.label,
          snapshotCreatedAt: snap.createdAt.toISOString(),
          restored: Object.fromEntries(SNAPSHOT_TABLES.map((t) => [t, manifest.tables[t].rows])),
          replaced: before,
        });
        await c.query('COMMIT');
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        c.release();
      }
      return snap;
    });
  }

  // ---------------------------------------------------------------------------------------

  private async verifyLocked(id: string, actor: string): Promise<SnapshotInfo> {
    const snap = await this.get(id);
    let error: string | null = null;
    try {
      await this.checkSnapshot(snap);
    } catch (e) {
      error = (e as Error).message || String(e);
    }
    const r = await this.pool.query<SnapshotRow>(
      `UPDATE registry_snapshots
          SET verified_at = CASE WHEN $2::text IS NULL THEN ${NOW_MS} END, verify_error = $2
        WHERE id = $1 RETURNING *`,
      [id, error],
    );
    await this.audit(this.pool, actor, 'verify_snapshot', id, error === null ? { ok: true } : { ok: false, error });
    return toInfo(r.rows[0]!);
  }

  private async checkSnapshot(snap: SnapshotInfo): Promise<void> {
    const manifest = await this.readManifest(snap);
    await this.checkTableFiles(snap, manifest);
    for (const t of SNAPSHOT_TABLES) {
      if (manifest.tables[t].rows !== Number(snap.rowCounts[t] ?? -1)) {
        throw new ArtifactIntegrityError(`${t}: manifest has ${manifest.tables[t].rows} rows, the catalog recorded ${snap.rowCounts[t]}`);
      }
    }
    // Restore into a scratch database on the same server.
    const server = this.databaseUrl;
    const scratch = scratchName(new URL(server).pathname.replace(/^\//, ''));
    await ensureDatabase(server, scratch);
    let pool: Pool | undefined;
    try {
      const url = withDatabase(server, scratch);
      await migrateUp(url);
      pool = createPool(url, { max: 2 });
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        await loadTables(c, snap, manifest);
        await c.query('COMMIT');
        for (const t of SNAPSHOT_TABLES) {
          const n = await count(c, t);
          if (n !== manifest.tables[t].rows) throw new ArtifactIntegrityError(`${t}: restored ${n} rows, the manifest says ${manifest.tables[t].rows}`);
        }
        const refs = await c.query<{ sha256: string; size: string }>(
          'SELECT sha256, max(size_bytes)::text AS size FROM model_versions GROUP BY sha256 ORDER BY sha256',
        );
        const want = [...manifest.artifacts].sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1));
        const got = refs.rows.map((x) => ({ sha256: x.sha256, size: Number(x.size) }));
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          throw new ArtifactIntegrityError("the manifest's artifact list differs from the artifacts model_versions references");
        }
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        c.release();
      }
    } finally {
      await pool?.end().catch(() => undefined);
      await dropDatabase(server, scratch);
    }
    for (const a of manifest.artifacts) {
      if (!(await this.backupStore.has(a.sha256))) throw new ArtifactIntegrityError(`artifact ${a.sha256} is missing from the backup store`);
      const got = await fileDigest(this.backupStore.path(a.sha256));
      if (got.sha256 !== a.sha256 || got.size !== a.size) {
        throw new ArtifactIntegrityError(`backup artifact ${a.sha256} hashes to ${got.sha256} (${got.size} bytes, recorded ${a.size})`, {
          file: this.backupStore.path(a.sha256),
          expected: a.sha256,
          actual: got.sha256,
        });
      }
    }
  }

  private async readManifest(snap: SnapshotInfo): Promise<SnapshotManifest> {
    let m: SnapshotManifest;
    try {
      m = JSON.parse(await fsp.readFile(path.join(snap.path, 'manifest.json'), 'utf8')) as SnapshotManifest;
    } catch (e) {
      throw new ArtifactIntegrityError(`snapshot ${snap.id}: cannot read manifest.json (${(e as Error).message})`);
    }
    if (m?.format !== SNAPSHOT_FORMAT || m.id !== snap.id || !m.tables || !Array.isArray(m.artifacts)) {
      throw new ArtifactIntegrityError(`snapshot ${snap.id}: manifest.json is not a ${SNAPSHOT_FORMAT} manifest of this snapshot`);
    }
    for (const t of SNAPSHOT_TABLES) {
      const e = m.tables[t];
      if (!e || e.file !== `${t}.jsonl` || !Number.isSafeInteger(e.rows) || !Array.isArray(e.columns)) {
        throw new ArtifactIntegrityError(`snapshot ${snap.id}: manifest entry of ${t} is malformed`);
      }
    }
    for (const a of m.artifacts) {
      try {
        assertSha256(a?.sha256);
      } catch {
        throw new ArtifactIntegrityError(`snapshot ${snap.id}: manifest lists an invalid artifact sha256`);
      }
    }
    return m;
  }

  private async checkTableFiles(snap: SnapshotInfo, m: SnapshotManifest): Promise<void> {
    for (const t of SNAPSHOT_TABLES) {
      const got = await fileDigest(path.join(snap.path, m.tables[t].file)).catch((e: Error) => {
        throw new ArtifactIntegrityError(`snapshot ${snap.id}: cannot read ${m.tables[t].file} (${e.message})`);
      });
      if (got.sha256 !== m.tables[t].sha256) {
        throw new ArtifactIntegrityError(`snapshot ${snap.id}: ${m.tables[t].file} hashes to ${got.sha256}, the manifest says ${m.tables[t].sha256}`, {
          file: path.join(snap.path, m.tables[t].file),
          expected: m.tables[t].sha256,
          actual: got.sha256,
        });
      }
    }
  }

  /** Read all four tables in one REPEATABLE READ READ ONLY transaction into `dir`. */
  private async exportTables(dir: string): Promise<{
    createdAt: Date;
    migrations: string[];
    tables: SnapshotManifest['tables'];
    artifacts: SnapshotManifest['artifacts'];
  }> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // The first statement fixes the snapshot; now() is the transaction's start, i.e. the data's instant.
      const at = await c.query<{ at: Date }>("SELECT date_trunc('milliseconds', now()) AS at");
      const createdAt = at.rows[0]!.at;
      const mig = await c.query<{ name: string }>('SELECT name FROM pgmigrations ORDER BY id');
      const tables = {} as SnapshotManifest['tables'];
      for (const t of SNAPSHOT_TABLES) {
        const cols = await c.query<{ column_name: string }>(
          `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
          [t],
        );
        const file = `${t}.jsonl`;
        const fh = await fsp.open(path.join(dir, file), 'wx', 0o644);
        const hash = createHash('sha256');
        let rows = 0;
        let bytes = 0;
        try {
          await c.query(`DECLARE snap_${t} NO SCROLL CURSOR FOR SELECT row_to_json(x)::text AS j FROM ${t} x ORDER BY ${ORDER_BY[t]}`);
          for (;;) {
            const r = await c.query<{ j: string }>(`FETCH ${FETCH_ROWS} FROM snap_${t}`);
            if (!r.rows.length) break;
            const buf = Buffer.from(r.rows.map((x) => x.j + '\n').join(''), 'utf8');
            hash.update(buf);
            await writeAll(fh, buf);
            rows += r.rows.length;
            bytes += buf.length;
          }
          await c.query(`CLOSE snap_${t}`);
          await fh.sync();
        } finally {
          await fh.close();
        }
        tables[t] = { file, rows, bytes, sha256: hash.digest('hex'), columns: cols.rows.map((x) => x.column_name) };
      }
      const refs = await c.query<{ sha256: string; size: string }>(
        'SELECT sha256, max(size_bytes)::text AS size FROM model_versions GROUP BY sha256 ORDER BY sha256',
      );
      await c.query('COMMIT');
      return { createdAt, migrations: mig.rows.map((x) => x.name), tables, artifacts: refs.rows.map((x) => ({ sha256: x.sha256, size: Number(x.size) })) };
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }

  /**
   * Copy one artifact between stores unless the destination has it (a present copy is trusted
   * when its size matches: a full re-hash of everything is verification's job; one of the wrong
   * size is replaced). The destination's put() re-hashes the bytes, so a corrupt source fails.
   */
  private async copyArtifact(from: ArtifactStore, to: ArtifactStore, sha256: string, size: number, what: string): Promise<void> {
    assertSha256(sha256);
    if (await to.has(sha256)) {
      const p = to.path?.(sha256);
      if (!p || (await fsp.stat(p)).size === size) return;
      await fsp.rm(p, { force: true });
    }
    if (!(await from.has(sha256))) throw new ArtifactIntegrityError(`${what}: artifact ${sha256} is missing from its source store`);
    try {
      await to.put(from.open(sha256), { sha256, size, maxBytes: Number.MAX_SAFE_INTEGER });
    } catch (e) {
      if (e instanceof RegistryError) {
        throw new ArtifactIntegrityError(`${what}: artifact ${sha256} does not match its name in the source store (${e.message})`);
      }
      throw e;
    }
  }

  /**
   * Keep the newest `retention` snapshots and the newest verified one (so retention never makes
   * the RPO worse); delete the others' rows and dirs, then the backup artifacts that no kept
   * snapshot's manifest references (skipped when a kept manifest cannot be read).
   */
  private async applyRetention(): Promise<void> {
    const { snapshots } = await this.list();
    const keep = new Set(snapshots.slice(0, this.retention).map((s) => s.id));
    const newestVerified = snapshots.find((s) => snapshotStatus(s) === 'verified');
    if (newestVerified) keep.add(newestVerified.id);
    const drop = snapshots.filter((s) => !keep.has(s.id));
    for (const s of drop) {
      await this.pool.query('DELETE FROM registry_snapshots WHERE id = $1', [s.id]);
      await fsp.rm(s.path, { recursive: true, force: true });
    }
    const referenced = new Set<string>();
    for (const s of snapshots.filter((x) => keep.has(x.id))) {
      try {
        for (const a of (await this.readManifest(s)).artifacts) referenced.add(a.sha256);
      } catch {
        return; // cannot tell what it needs: collect nothing
      }
    }
    const unreferenced: string[] = [];
    for await (const sha of this.backupStore.list()) if (!referenced.has(sha)) unreferenced.push(sha);
    for (const sha of unreferenced) await fsp.rm(this.backupStore.path(sha), { force: true });
  }

  /** Remove snapshot dirs a crash left half-written. */
  private async sweepTemp(): Promise<void> {
    for (const f of await fsp.readdir(this.snapshotsDir)) {
      if (f.startsWith('.tmp-')) await fsp.rm(path.join(this.snapshotsDir, f), { recursive: true, force: true });
    }
  }

  private async audit(q: Pool | PoolClient, actor: string, action: string, id: string, detail: Record<string, unknown>): Promise<void> {
    await q.query(`INSERT INTO registry_audit (at, actor, action, subject, detail) VALUES (${NOW_MS}, $1, $2, $3, $4)`, [
      actor,
      action,
      `snapshot:${id}`,
      JSON.stringify(detail),
    ]);
  }

  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('SELECT pg_advisory_lock($1)', [SNAPSHOT_LOCK]);
      try {
        return await fn();
      } finally {
        await c.query('SELECT pg_advisory_unlock($1)', [SNAPSHOT_LOCK]).catch(() => undefined);
      }
    } finally {
      c.release();
    }
  }
}

/**
 * Insert the snapshot's rows (table files in load order, batches through
 * json_populate_recordset so Postgres parses every value: no precision lost in JS) and move the
 * bigserial sequences past the restored ids. Columns come from the manifest, restricted to the
 * target table's current columns (a column added by a later migration takes its default).
 */
async function loadTables(c: PoolClient, snap: SnapshotInfo, m: SnapshotManifest): Promise<void> {
  for (const t of SNAPSHOT_TABLES) {
    const live = await c.query<{ column_name: string }>(
      'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
      [t],
    );
    const liveCols = new Set(live.rows.map((x) => x.column_name));
    const cols = m.tables[t].columns.filter((x) => liveCols.has(x)).map((x) => `"${x.replace(/"/g, '""')}"`);
    if (!cols.length) throw new ArtifactIntegrityError(`snapshot ${snap.id}: no known column of ${t} in the manifest`);
    const sql = `INSERT INTO ${t} (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM json_populate_recordset(NULL::${t}, $1::json)`;
    const rl = readline.createInterface({ input: fs.createReadStream(path.join(snap.path, m.tables[t].file), 'utf8'), crlfDelay: Infinity });
    let batch: string[] = [];
    const flush = async () => {
      if (!batch.length) return;
      await c.query(sql, [`[${batch.join(',')}]`]);
      batch = [];
    };
    for await (const line of rl) {
      if (line === '') continue;
      batch.push(line);
      if (batch.length >= LOAD_BATCH) await flush();
    }
    await flush();
    const col = SERIAL[t];
    if (col) {
      await c.query(
        `WITH m AS (
           SELECT GREATEST(
             (SELECT max(${col}) FROM ${t}),
             (SELECT last_value FROM pg_sequences WHERE schemaname = current_schema() AND sequencename = $1)) AS v)
         SELECT CASE WHEN v IS NULL THEN setval(pg_get_serial_sequence($2, $3), 1, false)
                     ELSE setval(pg_get_serial_sequence($2, $3), v, true) END FROM m`,
        [`${t}_${col}_seq`, t, col],
      );
    }
  }
}

async function count(c: PoolClient, t: SnapshotTable): Promise<number> {
  const r = await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${t}`);
  return Number(r.rows[0]!.n);
}

function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !SNAPSHOT_ID_RE.test(id)) throw new InvalidArgumentError(`invalid snapshot id "${String(id).slice(0, 80)}"`);
}

/** `<db>_verify_<random>`, within Postgres' 63-character identifier limit and ensureDatabase's pattern. */
function scratchName(db: string): string {
  const base = (
    decodeURIComponent(db)
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_')
      .replace(/^[^a-z_]/, '_') || 'registry'
  ).slice(0, 40);
  return `${base}_verify_${randomBytes(4).toString('hex')}`;
}

/** 20240102T030405678Z */
function compactTime(d: Date): string {
  return d.toISOString().replace(/[-:.]/g, '');
}

async function writeAll(fh: fsp.FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
}
