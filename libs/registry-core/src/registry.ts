import { createHash } from 'node:crypto';
import { pipeline, Transform, type Readable } from 'node:stream';
import type { Pool, PoolClient } from 'pg';
import {
  type Alias,
  type AuditEntry,
  type Lineage,
  ModelKind,
  modelKindFromJSON,
  modelKindToJSON,
  type ModelVersion,
  type ModelVersionSpec,
} from '@ranksafe/proto';
import { AlreadyExistsError, ArtifactIntegrityError, CasConflictError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from './errors';
import { assertSha256, type ArtifactStore } from './store';

/** Names of models, versions and aliases (the same pattern as the CHECKs of 0002_model_registry). */
export const REGISTRY_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const DEFAULT_MAX_ARTIFACT_BYTES = 4 * 1024 ** 3;

export interface RegistryOptions {
  /** Largest artifact accepted (default 4 GiB). */
  maxArtifactBytes?: number;
}

/** One entry of an alias's history; version '' means the alias was removed. */
export interface AliasHistoryEntry extends Alias {
  previousVersion: string;
  reason: string;
}

export interface ListAuditQuery {
  /** Only entries about this model (its versions and aliases). */
  name?: string;
  since?: Date;
  until?: Date;
  /** Default 100, at most 1000. */
  limit?: number;
}

export interface ArtifactDownload {
  version: ModelVersion;
  sha256: string;
  size: number;
  /** The artifact's bytes; errors with ArtifactIntegrityError at the end if they do not match. */
  stream: Readable;
}

/** One artifact of a scrub: ok, corrupt or missing. */
export interface ArtifactCheck {
  sha256: string;
  sizeBytes: number;
  /** name/version of every version recording it. */
  versions: string[];
  status: 'ok' | 'corrupt' | 'missing';
  detail: string;
}

export interface ArtifactVerification {
  artifacts: ArtifactCheck[];
  /** How many are not ok. */
  flagged: number;
  verifiedAtUnixMs: number;
}

/** SQL timestamp of "now" at millisecond precision, so times round-trip through unix ms exactly. */
const NOW_MS = "date_trunc('milliseconds', clock_timestamp())";

interface VersionRow {
  name: string;
  version: string;
  kind: string;
  framework: string;
  size_bytes: string;
  sha256: string;
  signature: Record<string, string>;
  metrics: Record<string, number>;
  lineage: Partial<Lineage>;
  created_by: string;
  created_at: Date;
  cursor_us?: string;
}

const VERSION_COLUMNS = 'name, version, kind, framework, size_bytes, sha256, signature, metrics, lineage, created_by, created_at';

/**
 * The model registry's storage: versions (metadata in Postgres, bytes in an ArtifactStore),
 * aliases with compare-and-set, alias history and the audit log. Every SQL statement is
 * parameterised; every mutation writes its audit row in the same transaction.
 */
export class Registry {
  readonly maxArtifactBytes: number;

  constructor(
    private readonly pool: Pool,
    readonly store: ArtifactStore,
    opts: RegistryOptions = {},
  ) {
    this.maxArtifactBytes = opts.maxArtifactBytes ?? DEFAULT_MAX_ARTIFACT_BYTES;
  }

  /**
   * Store the artifact (verifying its declared size and sha256), then record the version and
   * its audit row in one transaction. Refuses a duplicate name+version with AlreadyExistsError
   * (before reading the chunks when it can tell). The artifact of a refused duplicate stays in
   * the store unreferenced (content-addressed; another version may share it).
   */
  async registerVersion(spec: ModelVersionSpec, chunks: AsyncIterable<Buffer>, actor: string): Promise<ModelVersion> {
    const s = normaliseSpec(spec);
    checkActor(actor);
    const pre = await this.pool.query('SELECT 1 FROM model_versions WHERE name = $1 AND version = $2', [s.name, s.version]);
    if (pre.rowCount) throw new AlreadyExistsError(`model version ${s.name}/${s.version} already exists`);

    const put = await this.store.put(chunks, { sha256: s.sha256, size: s.sizeBytes, maxBytes: this.maxArtifactBytes });

    return this.tx(async (c) => {
      const r = await c.query<VersionRow>(
        `INSERT INTO model_versions (${VERSION_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, ${NOW_MS})
         ON CONFLICT (name, version) DO NOTHING
         RETURNING ${VERSION_COLUMNS}`,
        [
          s.name,
          s.version,
          modelKindToJSON(s.kind),
          s.framework,
          String(s.sizeBytes),
          s.sha256,
          JSON.stringify(s.signature),
          JSON.stringify(s.metrics),
          JSON.stringify(s.lineage ?? {}),
          actor,
        ],
      );
      const row = r.rows[0];
      if (!row) throw new AlreadyExistsError(`model version ${s.name}/${s.version} already exists`);
      await audit(c, row.created_at, actor, 'register_version', `${s.name}/${s.version}`, {
        sha256: s.sha256,
        size: s.sizeBytes,
        kind: row.kind,
        artifactExisted: put.existed,
      });
      return toModelVersion(row);
    });
  }

  async getVersion(name: string, version: string): Promise<ModelVersion> {
    checkName('name', name);
    checkName('version', version);
    const r = await this.pool.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM model_versions WHERE name = $1 AND version = $2`, [name, version]);
    const row = r.rows[0];
    if (!row) throw new NotFoundError(`model version ${name}/${version} not found`);
    return toModelVersion(row);
  }

  /** Versions of one model, newest first; keyset pagination (stable under concurrent inserts). */
  async listVersions(name: string, pageSize = 50, pageToken = ''): Promise<{ versions: ModelVersion[]; nextPageToken: string }> {
    checkName('name', name);
    const size = Math.min(Math.max(Math.trunc(pageSize) || 50, 1), 1000);
    const cursor = pageToken ? decodePageToken(pageToken) : undefined;
    const r = await this.pool.query<VersionRow>(
      `SELECT ${VERSION_COLUMNS}, (extract(epoch FROM created_at) * 1000000)::bigint::text AS cursor_us
         FROM model_versions
        WHERE name = $1
          AND ($2::text IS NULL OR (created_at, version) < ('epoch'::timestamptz + ($2::text || ' microseconds')::interval, $3::text))
        ORDER BY created_at DESC, version DESC
        LIMIT $4`,
      [name, cursor?.us ?? null, cursor?.version ?? null, size + 1],
    );
    const rows = r.rows.slice(0, size);
    const last = rows[rows.length - 1];
    const nextPageToken = r.rows.length > size && last ? encodePageToken(last.cursor_us!, last.version) : '';
    return { versions: rows.map(toModelVersion), nextPageToken };
  }

  /**
   * Delete a version's record. Refused with FailedPreconditionError (naming the aliases) while
   * an alias points at it. The artifact stays in the store (other versions may share it).
   */
  async deleteVersion(name: string, version: string, actor: string): Promise<void> {
    checkName('name', name);
    checkName('version', version);
    checkActor(actor);
    await this.tx(async (c) => {
      // Locking the row blocks concurrent alias writes to it (their FK check) until we finish.
      const v = await c.query<{ sha256: string }>('SELECT sha256 FROM model_versions WHERE name = $1 AND version = $2 FOR UPDATE', [name, version]);
      const row = v.rows[0];
      if (!row) throw new NotFoundError(`model version ${name}/${version} not found`);
      const a = await c.query<{ alias: string }>('SELECT alias FROM model_aliases WHERE name = $1 AND version = $2 ORDER BY alias', [name, version]);
      const aliases = a.rows.map((x) => x.alias);
      if (aliases.length) throw aliasesBlock(name, version, aliases);
      try {
        await c.query('DELETE FROM model_versions WHERE name = $1 AND version = $2', [name, version]);
      } catch (e) {
        if ((e as { code?: string }).code === '23503') throw aliasesBlock(name, version, []);
        throw e;
      }
      const at = await nowMs(c);
      await audit(c, at, actor, 'delete_version', `${name}/${version}`, { sha256: row.sha256 });
    });
  }

  /**
   * Point `alias` at `version`, compare-and-set: `expectedVersion` '' means the alias must not
   * exist yet, otherwise it must be the alias's current version. Enforced by the write itself
   * (INSERT … ON CONFLICT DO NOTHING / UPDATE … WHERE version = expected), so of concurrent
   * writers with the same expectation exactly one wins; the others get CasConflictError with the
   * current version. History and audit rows are written in the same transaction.
   */
  async setAlias(name: string, alias: string, version: string, expectedVersion: string, actor: string, reason = ''): Promise<Alias> {
    checkName('name', name);
    checkName('alias', alias);
    checkName('version', version);
    if (expectedVersion !== '') checkName('expected version', expectedVersion);
    checkActor(actor);
    return this.tx(async (c) => {
      const v = await c.query('SELECT 1 FROM model_versions WHERE name = $1 AND version = $2 FOR KEY SHARE', [name, version]);
      if (!v.rowCount) throw new NotFoundError(`model version ${name}/${version} not found`);
      const r =
        expectedVersion === ''
          ? await c.query<{ updated_at: Date }>(
              `INSERT INTO model_aliases (name, alias, version, updated_at, updated_by)
               VALUES ($1, $2, $3, ${NOW_MS}, $4)
               ON CONFLICT (name, alias) DO NOTHING
               RETURNING updated_at`,
              [name, alias, version, actor],
            )
          : await c.query<{ updated_at: Date }>(
              `UPDATE model_aliases SET version = $3, updated_at = ${NOW_MS}, updated_by = $4
                WHERE name = $1 AND alias = $2 AND version = $5
                RETURNING updated_at`,
              [name, alias, version, actor, expectedVersion],
            );
      const row = r.rows[0];
      if (!row) throw await casConflict(c, name, alias, expectedVersion);
      await c.query(
        `INSERT INTO model_alias_history (name, alias, version, previous_version, at, actor, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [name, alias, version, expectedVersion || null, row.updated_at, actor, reason],
      );
      await audit(c, row.updated_at, actor, 'set_alias', `${name}@${alias}`, { version, previousVersion: expectedVersion, reason });
      return { name, alias, version, updatedAtUnixMs: row.updated_at.getTime(), updatedBy: actor };
    });
  }

  /** Remove an alias, compare-and-set on its current version (which must be given). */
  async removeAlias(name: string, alias: string, expectedVersion: string, actor: string, reason = ''): Promise<void> {
    checkName('name', name);
    checkName('alias', alias);
    checkName('expected version', expectedVersion);
    checkActor(actor);
    await this.tx(async (c) => {
      const r = await c.query('DELETE FROM model_aliases WHERE name = $1 AND alias = $2 AND version = $3', [name, alias, expectedVersion]);
      if (!r.rowCount) throw await casConflict(c, name, alias, expectedVersion);
      const at = await nowMs(c);
      await c.query(
        `INSERT INTO model_alias_history (name, alias, version, previous_version, at, actor, reason)
         VALUES ($1, $2, NULL, $3, $4, $5, $6)`,
        [name, alias, expectedVersion, at, actor, reason],
      );
      await audit(c, at, actor, 'remove_alias', `${name}@${alias}`, { previousVersion: expectedVersion, reason });
    });
  }

  /**
   * Where an alias points now, or (with `asOf`) where it pointed at that time, from the
   * history: the newest change at or before `asOf`. NotFoundError when it did not exist.
   */
  async resolveAlias(name: string, alias: string, asOf?: Date): Promise<Alias> {
    checkName('name', name);
    checkName('alias', alias);
    if (asOf === undefined) {
      const r = await this.pool.query<{ version: string; updated_at: Date; updated_by: string }>(
        'SELECT version, updated_at, updated_by FROM model_aliases WHERE name = $1 AND alias = $2',
        [name, alias],
      );
      const row = r.rows[0];
      if (!row) throw new NotFoundError(`alias ${name}@${alias} not found`);
      return { name, alias, version: row.version, updatedAtUnixMs: row.updated_at.getTime(), updatedBy: row.updated_by };
    }
    if (!(asOf instanceof Date) || Number.isNaN(asOf.getTime())) throw new InvalidArgumentError('invalid as-of time');
    const r = await this.pool.query<{ version: string | null; at: Date; actor: string }>(
      `SELECT version, at, actor FROM model_alias_history
        WHERE name = $1 AND alias = $2 AND at <= $3
        ORDER BY at DESC, id DESC LIMIT 1`,
      [name, alias, asOf],
    );
    const row = r.rows[0];
    if (!row || row.version === null) throw new NotFoundError(`alias ${name}@${alias} did not exist at ${asOf.toISOString()}`);
    return { name, alias, version: row.version, updatedAtUnixMs: row.at.getTime(), updatedBy: row.actor };
  }

  /** Every change of an alias, newest first. */
  async aliasHistory(name: string, alias: string, limit = 1000): Promise<AliasHistoryEntry[]> {
    checkName('name', name);
    checkName('alias', alias);
    const r = await this.pool.query<{ version: string | null; previous_version: string | null; at: Date; actor: string; reason: string }>(
      `SELECT version, previous_version, at, actor, reason FROM model_alias_history
        WHERE name = $1 AND alias = $2 ORDER BY at DESC, id DESC LIMIT $3`,
      [name, alias, Math.min(Math.max(Math.trunc(limit) || 1000, 1), 10_000)],
    );
    return r.rows.map((x) => ({
      name,
      alias,
      version: x.version ?? '',
      previousVersion: x.previous_version ?? '',
      updatedAtUnixMs: x.at.getTime(),
      updatedBy: x.actor,
      reason: x.reason,
    }));
  }

  /** Audit entries, newest first, optionally for one model and a time window (inclusive). */
  async listAudit(q: ListAuditQuery = {}): Promise<AuditEntry[]> {
    if (q.name !== undefined && q.name !== '') checkName('name', q.name);
    const limit = Math.min(Math.max(Math.trunc(q.limit ?? 100) || 100, 1), 1000);
    const r = await this.pool.query<{ id: string; at: Date; actor: string; action: string; subject: string; detail: unknown }>(
      `SELECT id, at, actor, action, subject, detail FROM registry_audit
        WHERE ($1::text IS NULL OR subject = $1 OR left(subject, length($1) + 1) IN ($1 || '/', $1 || '@'))
          AND ($2::timestamptz IS NULL OR at >= $2)
          AND ($3::timestamptz IS NULL OR at <= $3)
        ORDER BY at DESC, id DESC LIMIT $4`,
      [q.name || null, q.since ?? null, q.until ?? null, limit],
    );
    return r.rows.map((x) => ({
      id: Number(x.id),
      atUnixMs: x.at.getTime(),
      actor: x.actor,
      action: x.action,
      subject: x.subject,
      detailJson: JSON.stringify(x.detail),
    }));
  }

  /**
   * The artifact of a version as a stream that hashes the bytes as they pass and fails with
   * ArtifactIntegrityError at the end (or as soon as there are too many bytes) when they do not
   * match the recorded sha256 and size, so a tampered or truncated file is detected on download.
   */
  async openArtifact(name: string, version: string): Promise<ArtifactDownload> {
    const v = await this.getVersion(name, version);
    const { sha256, sizeBytes: size } = v.spec!;
    if (!(await this.store.has(sha256))) {
      throw new ArtifactIntegrityError(`artifact ${sha256} of ${name}/${version} is missing from the store`);
    }
    const hash = createHash('sha256');
    let n = 0;
    const verify = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        n += chunk.length;
        if (n > size) {
          cb(new ArtifactIntegrityError(`artifact of ${name}/${version} has more than its recorded ${size} bytes`));
          return;
        }
        hash.update(chunk);
        cb(null, chunk);
      },
      flush(cb) {
        const got = hash.digest('hex');
        if (n !== size) cb(new ArtifactIntegrityError(`artifact of ${name}/${version} has ${n} bytes, recorded ${size}`));
        else if (got !== sha256) cb(new ArtifactIntegrityError(`artifact of ${name}/${version} hashes to ${got}, recorded ${sha256}`));
        else cb();
      },
    });
    const raw = this.store.open(sha256);
    // pipeline destroys both on failure; errors surface on `verify` for the consumer.
    pipeline(raw, verify, () => undefined);
    return { version: v, sha256, size, stream: verify };
  }

  /**
   * Scrub: re-hash every stored artifact (of model `name`, or of every model) against the sha256 and
   * size its versions record, streaming from the store. Flags what is missing or corrupt; a scrub
   * that flags something writes one audit row (`verify_artifacts`) naming them.
   */
  async verifyArtifacts(name: string | undefined, actor: string): Promise<ArtifactVerification> {
    if (name) checkName('name', name);
    checkActor(actor);
    const r = await this.pool.query<{ sha256: string; size_bytes: string; versions: string[] }>(
      `SELECT sha256, max(size_bytes)::text AS size_bytes, array_agg(name || '/' || version ORDER BY name, version) AS versions
         FROM model_versions WHERE ($1::text IS NULL OR name = $1)
        GROUP BY sha256 ORDER BY sha256`,
      [name || null],
    );
    const artifacts: ArtifactCheck[] = [];
    for (const row of r.rows) {
      const size = Number(row.size_bytes);
      const base = { sha256: row.sha256, sizeBytes: size, versions: row.versions };
      if (!(await this.store.has(row.sha256))) {
        artifacts.push({ ...base, status: 'missing', detail: `artifact ${row.sha256} is missing from the store` });
        continue;
      }
      const hash = createHash('sha256');
      let n = 0;
      try {
        for await (const chunk of this.store.open(row.sha256) as AsyncIterable<Buffer>) {
          n += chunk.length;
          hash.update(chunk);
        }
      } catch (e) {
        artifacts.push({ ...base, status: 'missing', detail: `artifact ${row.sha256} cannot be read (${(e as Error).message})` });
        continue;
      }
      const got = hash.digest('hex');
      if (n !== size) artifacts.push({ ...base, status: 'corrupt', detail: `artifact ${row.sha256} has ${n} bytes, recorded ${size}` });
      else if (got !== row.sha256) artifacts.push({ ...base, status: 'corrupt', detail: `artifact ${row.sha256} hashes to ${got}` });
      else artifacts.push({ ...base, status: 'ok', detail: '' });
    }
    const flagged = artifacts.filter((a) => a.status !== 'ok');
    const at = new Date();
    if (flagged.length) {
      await audit(this.pool, at, actor, 'verify_artifacts', name || '*', {
        checked: artifacts.length,
        flagged: flagged.map((a) => ({ sha256: a.sha256, status: a.status, versions: a.versions, detail: a.detail })),
      });
    }
    return { artifacts, flagged: flagged.length, verifiedAtUnixMs: at.getTime() };
  }

  private async tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }
}

function checkName(what: string, v: unknown): asserts v is string {
  if (typeof v !== 'string' || !REGISTRY_NAME_RE.test(v)) {
    throw new InvalidArgumentError(`invalid ${what} "${String(v).slice(0, 140)}": want ${REGISTRY_NAME_RE.source}`);
  }
}

function checkActor(actor: unknown): void {
  if (typeof actor !== 'string' || actor.trim() === '' || actor.length > 200) throw new InvalidArgumentError('an actor is required');
}

function normaliseSpec(spec: ModelVersionSpec): ModelVersionSpec {
  if (!spec) throw new InvalidArgumentError('a model version spec is required');
  checkName('name', spec.name);
  checkName('version', spec.version);
  if (spec.kind === ModelKind.MODEL_KIND_UNSPECIFIED || spec.kind === ModelKind.UNRECOGNIZED || modelKindFromJSON(spec.kind) !== spec.kind) {
    throw new InvalidArgumentError(`invalid model kind ${String(spec.kind)}`);
  }
  if (!Number.isSafeInteger(spec.sizeBytes) || spec.sizeBytes < 0) throw new InvalidArgumentError(`invalid size_bytes ${spec.sizeBytes}`);
  const sha256 = typeof spec.sha256 === 'string' ? spec.sha256.toLowerCase() : spec.sha256;
  assertSha256(sha256);
  const signature = spec.signature ?? {};
  for (const [k, v] of Object.entries(signature)) {
    if (typeof v !== 'string') throw new InvalidArgumentError(`signature "${k}" must be a string`);
  }
  const metrics = spec.metrics ?? {};
  for (const [k, v] of Object.entries(metrics)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidArgumentError(`metric "${k}" must be a finite number`);
  }
  return { ...spec, framework: spec.framework ?? '', sha256, signature, metrics };
}

function toModelVersion(r: VersionRow): ModelVersion {
  const lin = r.lineage ?? {};
  return {
    spec: {
      name: r.name,
      version: r.version,
      kind: modelKindFromJSON(r.kind),
      framework: r.framework,
      sizeBytes: Number(r.size_bytes),
      sha256: r.sha256,
      signature: r.signature ?? {},
      metrics: r.metrics ?? {},
      lineage: Object.keys(lin).length
        ? { source: lin.source ?? '', datasetSha256: lin.datasetSha256 ?? '', parentVersion: lin.parentVersion ?? '' }
        : undefined,
    },
    createdBy: r.created_by,
    createdAtUnixMs: r.created_at.getTime(),
  };
}

function encodePageToken(us: string, version: string): string {
  return Buffer.from(`${us}|${version}`, 'utf8').toString('base64url');
}

function decodePageToken(token: string): { us: string; version: string } {
  const [us, version, ...rest] = Buffer.from(token, 'base64url').toString('utf8').split('|');
  if (rest.length || !us || !/^-?\d{1,19}$/.test(us) || !version || !REGISTRY_NAME_RE.test(version)) {
    throw new InvalidArgumentError('invalid page token');
  }
  return { us, version };
}

function aliasesBlock(name: string, version: string, aliases: string[]): FailedPreconditionError {
  const which = aliases.length ? `: ${aliases.join(', ')}` : '';
  return new FailedPreconditionError(`model version ${name}/${version} is still the target of aliases${which}`, aliases);
}

async function casConflict(c: PoolClient, name: string, alias: string, expected: string): Promise<CasConflictError> {
  const cur = await c.query<{ version: string }>('SELECT version FROM model_aliases WHERE name = $1 AND alias = $2', [name, alias]);
  const current = cur.rows[0]?.version ?? '';
  return new CasConflictError(
    `alias ${name}@${alias} points at ${current === '' ? '(nothing)' : `"${current}"`}, expected ${expected === '' ? '(nothing)' : `"${expected}"`}`,
    current,
  );
}

async function nowMs(c: PoolClient): Promise<Date> {
  const r = await c.query<{ at: Date }>(`SELECT ${NOW_MS} AS at`);
  return r.rows[0]!.at;
}

async function audit(c: Pool | PoolClient, at: Date, actor: string, action: string, subject: string, detail: Record<string, unknown>): Promise<void> {
  await c.query('INSERT INTO registry_audit (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)', [
    at,
    actor,
    action,
    subject,
    JSON.stringify(detail),
  ]);
}
