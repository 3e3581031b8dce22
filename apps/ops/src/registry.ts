// `ops model …`: the model registry from the command line (register by streamed upload, list,
// show, compare-and-set aliases, alias history, verified download); `ops snapshot …`: its
// backups (create, verify, restore, list with the RPO).
import { createHash, randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { type Command, InvalidArgumentError } from 'commander';
import { adminToken, expectedTopology, type StackEnv } from '@ranksafe/platform';
import {
  type ArtifactChunk,
  ModelKind,
  modelKindToJSON,
  ModelRegistryClient,
  type ModelVersion,
  type Snapshot,
} from '@ranksafe/proto';
import { adminMetadata, unaryCall } from '@ranksafe/serving-kit';
import { uploadVersion } from '@ranksafe/registry-client';
import { table } from './commands';


export const KINDS: Record<string, ModelKind> = {
  'bi-encoder': ModelKind.MODEL_KIND_BI_ENCODER,
  'cross-encoder': ModelKind.MODEL_KIND_CROSS_ENCODER,
  'sequential-recommender': ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER,
  'catalog-index': ModelKind.MODEL_KIND_CATALOG_INDEX,
};

const kindName = (k: ModelKind) => Object.entries(KINDS).find(([, v]) => v === k)?.[0] ?? modelKindToJSON(k);

/** The registry's address and the admin token of the stack (running, else configured). */
export function registryTarget(cfg: StackEnv): { address: string; token: string } {
  const reg = expectedTopology(cfg).components.find((c) => c.app === 'model-registry' && c.grpcAddress);
  if (!reg) throw new Error('the stack has no model-registry component');
  return { address: reg.grpcAddress!, token: adminToken(cfg) };
}

interface Session {
  client: ModelRegistryClient;
  md: () => grpc.Metadata;
}

async function withRegistry<T>(cfg: StackEnv, fn: (s: Session) => Promise<T>): Promise<T> {
  const { address, token } = registryTarget(cfg);
  const client = new ModelRegistryClient(address, grpc.credentials.createInsecure());
  const actor = `ops:${process.env.USER || os.userInfo().username}`;
  const md = () => {
    const m = adminMetadata(new grpc.Metadata(), token);
    m.set('x-actor', actor);
    return m;
  };
  try {
    return await fn({ client, md });
  } catch (e) {
    const err = e as grpc.ServiceError;
    if (typeof err.code === 'number' && err.details !== undefined) {
      const what = err.code === grpc.status.UNAVAILABLE ? `the model registry at ${address} is unreachable (${err.details})` : err.details;
      throw new Error(`${grpc.status[err.code]}: ${what}`);
    }
    throw e;
  } finally {
    client.close();
  }
}

export const fmtBytes = (n: number) =>
  n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(2)} GiB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
const fmtTime = (ms: number) => (ms ? new Date(ms).toISOString() : '-');
const fmtMetrics = (m: Record<string, number>) =>
  Object.entries(m)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

/**
 * Progress on stderr: redrawn in place (a few times a second) on a TTY, else one line at every
 * ~10% step.
 */
export function progressReporter(label: string, total: number, out: NodeJS.WriteStream = process.stderr) {
  const t0 = Date.now();
  let lastDraw = 0;
  let lastStep = -1;
  const line = (done: number) => {
    const pct = total ? (done / total) * 100 : 100;
    const secs = Math.max((Date.now() - t0) / 1000, 1e-3);
    return `${label}: ${pct.toFixed(1).padStart(5)}%  ${fmtBytes(done)} / ${fmtBytes(total)}  ${(done / 1e6 / secs).toFixed(1)} MB/s`;
  };
  return {
    update(done: number) {
      if (out.isTTY) {
        const now = Date.now();
        if (now - lastDraw < 100 && done < total) return;
        lastDraw = now;
        out.write(`\r${line(done)}\x1b[K`);
      } else {
        const step = total ? Math.floor((done / total) * 10) : 10;
        if (step > lastStep) {
          lastStep = step;
          out.write(`${line(done)}\n`);
        }
      }
    },
    finish(done: number) {
      if (out.isTTY) out.write(`\r${line(done)}\x1b[K\n`);
      else if (lastStep < 10) out.write(`${line(done)}\n`);
    },
  };
}

export interface RegisterOptions {
  kind: string;
  framework: string;
  metric?: Record<string, number>;
  source?: string;
  parent?: string;
}

/** commander parser of --kind. */
export function parseKind(v: string): string {
  if (KINDS[v] === undefined) throw new InvalidArgumentError(`want one of ${Object.keys(KINDS).join(', ')}`);
  return v;
}

/** commander parser of --metric k=v (repeatable, variadic): accumulates into one record. */
export function parseMetric(kv: string, previous: Record<string, number> = {}): Record<string, number> {
  const m = /^([^=]+)=(.+)$/.exec(kv);
  const v = m ? Number(m[2]) : NaN;
  if (!m || !Number.isFinite(v)) throw new InvalidArgumentError(`want key=number, got "${kv}"`);
  return { ...previous, [m[1]!.trim()]: v };
}

function describe(mv: ModelVersion): string {
  const s = mv.spec!;
  const lines: Array<[string, string]> = [
    ['name', s.name],
    ['version', s.version],
    ['kind', kindName(s.kind)],
    ['framework', s.framework || '-'],
    ['size', `${s.sizeBytes} bytes (${fmtBytes(s.sizeBytes)})`],
    ['sha256', s.sha256],
    ['metrics', fmtMetrics(s.metrics) || '-'],
    ['signature', Object.entries(s.signature).map(([k, v]) => `${k}=${v}`).join(' ') || '-'],
    ['source', s.lineage?.source || '-'],
    ['dataset sha256', s.lineage?.datasetSha256 || '-'],
    ['parent', s.lineage?.parentVersion || '-'],
    ['created', `${fmtTime(mv.createdAtUnixMs)} by ${mv.createdBy}`],
  ];
  const w = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

/** Hash the file, then stream it to RegisterVersion in 256 KiB chunks. */
export async function registerCommand(cfg: StackEnv, name: string, version: string, file: string, o: RegisterOptions): Promise<string> {
  const kind = KINDS[parseKind(o.kind)]!;
  const metrics = o.metric ?? {};
  const st = await fsp.stat(file).catch(() => undefined);
  if (!st?.isFile()) throw new Error(`${file} is not a file`);
  // refuse a duplicate before hashing and uploading what may be gigabytes (the server checks again)
  await withRegistry(cfg, async ({ client, md }) => {
    const exists = await unaryCall(client.getVersion.bind(client), { name, version }, { metadata: md(), deadlineMs: 10_000 }).then(
      () => true,
      (e: grpc.ServiceError) => {
        if (e.code === grpc.status.NOT_FOUND) return false;
        throw e;
      },
    );
    if (exists) throw new Error(`ALREADY_EXISTS: model version ${name}/${version} already exists`);
  });
  // sha256 and size are computed first and declared; the registry hashes the bytes again and
  // refuses a file that changed meanwhile.
  process.stderr.write(`hashing and uploading ${file} (${fmtBytes(st.size)}) ...\n`);
  const progress = progressReporter(`uploading ${name}/${version}`, st.size);
  let sent = 0;
  const spec = { name, version, kind, framework: o.framework, signature: {}, metrics, lineage: { source: o.source ?? '', datasetSha256: '', parentVersion: o.parent ?? '' } };
  const mv = await withRegistry(cfg, ({ client, md }) =>
    uploadVersion(client, md(), spec, file, {
      onProgress: (s) => {
        sent = s;
        progress.update(s);
      },
    }),
  ).catch((e: Error) => {
    if (process.stderr.isTTY) process.stderr.write('\n');
    throw e;
  });
  progress.finish(sent);
  return `registered\n${describe(mv)}`;
}

export async function listCommand(cfg: StackEnv, name: string): Promise<string> {
  return withRegistry(cfg, async ({ client, md }) => {
    const versions: ModelVersion[] = [];
    let pageToken = '';
    do {
      const page = await unaryCall(client.listVersions.bind(client), { name, pageSize: 200, pageToken }, { metadata: md(), deadlineMs: 10_000 });
      versions.push(...page.versions);
      pageToken = page.nextPageToken;
    } while (pageToken);
    if (!versions.length) return `no versions of ${name}`;
    return table(
      ['VERSION', 'KIND', 'FRAMEWORK', 'SIZE', 'SHA256', 'CREATED', 'BY', 'METRICS'],
      versions.map((v) => {
        const s = v.spec!;
        return [s.version, kindName(s.kind), s.framework, fmtBytes(s.sizeBytes), s.sha256.slice(0, 12), fmtTime(v.createdAtUnixMs), v.createdBy, fmtMetrics(s.metrics)];
      }),
    );
  });
}

export async function showCommand(cfg: StackEnv, name: string, version: string): Promise<string> {
  return withRegistry(cfg, async ({ client, md }) => describe(await unaryCall(client.getVersion.bind(client), { name, version }, { metadata: md(), deadlineMs: 10_000 })));
}

/**
 * Point `alias` at `version` with compare-and-set. Without `expect`, the alias's current version
 * (or '' when it does not exist) is read first and used as the expectation, so a concurrent move
 * between the read and the write still fails rather than being overwritten.
 */
export async function aliasCommand(cfg: StackEnv, name: string, alias: string, version: string, o: { expect?: string; reason?: string }): Promise<string> {
  return withRegistry(cfg, async ({ client, md }) => {
    let expected = o.expect;
    if (expected === undefined) {
      expected = await unaryCall(client.resolveAlias.bind(client), { name, alias, asOfUnixMs: 0 }, { metadata: md(), deadlineMs: 10_000 }).then(
        (a) => a.version,
        (e: grpc.ServiceError) => {
          if (e.code === grpc.status.NOT_FOUND) return '';
          throw e;
        },
      );
    }
    const a = await unaryCall(
      client.setAlias.bind(client),
      { name, alias, version, expectedVersion: expected, reason: o.reason ?? '' },
      { metadata: md(), deadlineMs: 10_000 },
    );
    return `${a.name}@${a.alias}: ${expected || '(none)'} -> ${a.version} at ${fmtTime(a.updatedAtUnixMs)} by ${a.updatedBy}`;
  });
}

export async function historyCommand(cfg: StackEnv, name: string, alias: string): Promise<string> {
  return withRegistry(cfg, async ({ client, md }) => {
    const h = await unaryCall(client.aliasHistory.bind(client), { name, alias }, { metadata: md(), deadlineMs: 10_000 });
    if (!h.entries.length) return `no history for ${name}@${alias}`;
    return table(
      ['AT', 'VERSION', 'BY'],
      h.entries.map((e) => [fmtTime(e.updatedAtUnixMs), e.version || '(removed)', e.updatedBy]),
    );
  });
}

/** Download into a temp file beside `out`, verify size and sha256, fsync, then rename into place. */
export async function downloadCommand(cfg: StackEnv, name: string, version: string, out: string): Promise<string> {
  const dest = path.resolve(out);
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.${randomBytes(6).toString('hex')}.part`);
  return withRegistry(cfg, async ({ client, md }) => {
    const fh = await fsp.open(tmp, 'wx', 0o644);
    let closed = false;
    try {
      const h = createHash('sha256');
      let size = 0;
      let total = -1;
      let declared = '';
      let progress: ReturnType<typeof progressReporter> | undefined;
      const stream = client.downloadArtifact({ name, version }, md());
      for await (const c of stream as AsyncIterable<ArtifactChunk>) {
        if (total < 0) {
          total = c.totalSize;
          declared = c.sha256;
          progress = progressReporter(`downloading ${name}/${version}`, total);
        }
        const data = Buffer.from(c.data);
        h.update(data);
        size += data.length;
        let off = 0;
        while (off < data.length) off += (await fh.write(data, off, data.length - off)).bytesWritten;
        progress!.update(size);
      }
      if (total < 0) throw new Error('the registry sent no data');
      const sha256 = h.digest('hex');
      if (size !== total) throw new Error(`received ${size} bytes, the registry declared ${total}; nothing written to ${dest}`);
      if (sha256 !== declared) throw new Error(`received bytes hash to ${sha256}, the registry declared ${declared}; nothing written to ${dest}`);
      progress!.finish(size);
      await fh.sync();
      await fh.close();
      closed = true;
      await fsp.rename(tmp, dest);
      return `${dest}: ${size} bytes, sha256 ${sha256} (verified)`;
    } finally {
      if (!closed) {
        await fh.close().catch(() => undefined);
      }
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
    }
  });
}

const say = (text: string) => process.stdout.write(`${text}\n`);

/** Run a command; expected failures (registry errors, bad input) as one line on stderr and exit code 1. */
const run =
  <A extends unknown[]>(fn: (...args: A) => Promise<string>) =>
  async (...args: A) => {
    try {
      say(await fn(...args));
    } catch (e) {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      process.exitCode = 1;
    }
  };

/** Register `ops model …` on the program. */
export function addModelCommands(program: Command, loadEnv: () => StackEnv): void {
  const model = program.command('model').description('the model registry: versions, aliases, artifacts');
  model
    .command('register <name> <version> <file>')
    .description('hash a file and upload it as a new model version (streamed in 256 KiB chunks)')
    .option('--kind <kind>', `one of ${Object.keys(KINDS).join(', ')}`, parseKind, 'bi-encoder')
    .option('--framework <name>', 'framework of the artifact', 'onnx')
    .option('--metric <k=v...>', 'offline metrics, e.g. --metric ndcg10=0.68 mrr=0.5', parseMetric)
    .option('--source <text>', 'lineage: where the artifact came from')
    .option('--parent <version>', 'lineage: the version it was derived from')
    .action(run((name: string, version: string, file: string, o: RegisterOptions) => registerCommand(loadEnv(), name, version, file, o)));
  model
    .command('list <name>')
    .description('versions of a model, newest first')
    .action(run((name: string) => listCommand(loadEnv(), name)));
  model
    .command('show <name> <version>')
    .description('one version in full')
    .action(run((name: string, version: string) => showCommand(loadEnv(), name, version)));
  model
    .command('alias <name> <alias> <version>')
    .description('point an alias at a version (compare-and-set against --expect, else against its current version)')
    .option('--expect <current>', "the version the alias must point at now ('' = must not exist)")
    .option('--reason <text>', 'why, for the alias history')
    .action(run((name: string, alias: string, version: string, o: { expect?: string; reason?: string }) => aliasCommand(loadEnv(), name, alias, version, o)));
  model
    .command('history <name> <alias>')
    .description('every move of an alias, newest first')
    .action(run((name: string, alias: string) => historyCommand(loadEnv(), name, alias)));
  model
    .command('download <name> <version> <out-file>')
    .description('download an artifact, verify its size and sha256, then move it into place')
    .action(run((name: string, version: string, out: string) => downloadCommand(loadEnv(), name, version, out)));
}

// ---------------------------------------------------------------------------------------
// `ops snapshot …`: consistent backups of the registry (tables + referenced artifacts),
// verification by a real restore into a scratch database, restore, and the RPO.

/** 3d 4h, 2h 5m, 3m 12s, 42s. */
export function fmtAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

const TABLE_SHORT: Record<string, string> = { model_versions: 'versions', model_aliases: 'aliases', model_alias_history: 'history', registry_audit: 'audit' };

/** The RPO line of `ops snapshot list` (rpoMs as ListSnapshots answers it: -1 = none verified). */
export function rpoLine(snapshots: ReadonlyArray<Pick<Snapshot, 'id' | 'status' | 'createdAtUnixMs'>>, rpoMs: number): string {
  const newest = snapshots
    .filter((s) => s.status === 'verified')
    .reduce<(typeof snapshots)[number] | undefined>((a, s) => (!a || s.createdAtUnixMs > a.createdAtUnixMs ? s : a), undefined);
  if (!newest || rpoMs < 0) return 'RPO: no verified snapshot';
  return `RPO: ${fmtAge(rpoMs)} (newest verified ${newest.id})`;
}

function describeSnapshot(s: Snapshot, rowCounts?: Record<string, number>): string {
  const lines: Array<[string, string]> = [
    ['id', s.id],
    ['label', s.label || '-'],
    ['created', fmtTime(s.createdAtUnixMs)],
    ['status', s.status],
    ['verified', fmtTime(s.verifiedAtUnixMs)],
    ['rows', rowsSummary(s.rows, rowCounts)],
    ['artifacts', String(s.artifacts)],
    ['bytes', `${s.bytes} (${fmtBytes(s.bytes)})`],
  ];
  const w = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

function rowsSummary(total: number, counts?: Record<string, number>): string {
  if (!counts) return String(total);
  const order = Object.keys(TABLE_SHORT);
  const rank = (t: string) => (order.includes(t) ? order.indexOf(t) : order.length);
  return `${total} (${Object.entries(counts)
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([t, n]) => `${TABLE_SHORT[t] ?? t} ${n}`)
    .join(', ')})`;
}

/**
 * Rows per table of each snapshot, from the create_snapshot audit entries (Snapshot carries
 * only the total). Best effort: entries a restore rolled back, or beyond the newest 1000 audit
 * rows since the oldest snapshot, are missing and the total is shown instead.
 */
async function rowCountsFromAudit(s: Session, snapshots: Snapshot[]): Promise<Map<string, Record<string, number>>> {
  const out = new Map<string, Record<string, number>>();
  if (!snapshots.length) return out;
  const since = Math.min(...snapshots.map((x) => x.createdAtUnixMs));
  const audit = await unaryCall(s.client.listAudit.bind(s.client), { name: '', sinceUnixMs: since, untilUnixMs: 0, limit: 1000 }, { metadata: s.md(), deadlineMs: 10_000 }).catch(
    () => ({ entries: [] }),
  );
  for (const e of audit.entries) {
    if (e.action !== 'create_snapshot' || !e.subject.startsWith('snapshot:')) continue;
    try {
      const rows = (JSON.parse(e.detailJson) as { rows?: Record<string, number> }).rows;
      if (rows && typeof rows === 'object') out.set(e.subject.slice('snapshot:'.length), rows);
    } catch {
      /* not ours to judge: fall back to the total */
    }
  }
  return out;
}

const SNAPSHOT_DEADLINE_MS = 30 * 60_000;

export async function snapshotCreateCommand(cfg: StackEnv, o: { label?: string }): Promise<string> {
  return withRegistry(cfg, async (s) => {
    process.stderr.write('taking a snapshot (tables + referenced artifacts) ...\n');
    const snap = await unaryCall(s.client.createSnapshot.bind(s.client), { label: o.label ?? '' }, { metadata: s.md(), deadlineMs: SNAPSHOT_DEADLINE_MS });
    const counts = (await rowCountsFromAudit(s, [snap])).get(snap.id);
    return `created (not verified yet: ops snapshot verify ${snap.id})\n${describeSnapshot(snap, counts)}`;
  });
}

export async function snapshotVerifyCommand(cfg: StackEnv, id: string): Promise<string> {
  return withRegistry(cfg, async (s) => {
    process.stderr.write(`verifying ${id} (restore into a scratch database, re-hash the artifacts) ...\n`);
    const snap = await unaryCall(s.client.verifySnapshot.bind(s.client), { snapshotId: id }, { metadata: s.md(), deadlineMs: SNAPSHOT_DEADLINE_MS });
    if (snap.status !== 'verified') throw new Error(`snapshot ${id} ${snap.status.startsWith('failed') ? snap.status.replace(/^failed: /, 'failed verification: ') : `is ${snap.status}`}`);
    return `verified\n${describeSnapshot(snap, (await rowCountsFromAudit(s, [snap])).get(snap.id))}`;
  });
}

export async function snapshotRestoreCommand(cfg: StackEnv, id: string, o: { yes?: boolean }): Promise<string> {
  return withRegistry(cfg, async (s) => {
    if (!o.yes) {
      // Say what would be replaced, by what (best effort: the refusal does not depend on it).
      const found = await unaryCall(s.client.listSnapshots.bind(s.client), {}, { metadata: s.md(), deadlineMs: 10_000 }).then(
        (r) => r.snapshots.find((x) => x.id === id),
        () => undefined,
      );
      const what = found ? `snapshot ${id}${found.label ? ` "${found.label}"` : ''} taken ${fmtTime(found.createdAtUnixMs)} (${found.status})` : `snapshot ${id}`;
      throw new Error(
        `refusing to restore without --yes: restore replaces every model version, alias, alias history entry and audit entry of the live registry ` +
          `with those of ${what}; everything registered, moved or deleted since is lost (artifacts missing from the live store are copied back; ` +
          `an unverified snapshot is verified first, a failed one is refused). Take a snapshot first (ops snapshot create) to be able to undo it.`,
      );
    }
    process.stderr.write(`restoring ${id} ...\n`);
    const snap = await unaryCall(s.client.restoreSnapshot.bind(s.client), { snapshotId: id }, { metadata: s.md(), deadlineMs: SNAPSHOT_DEADLINE_MS });
    return `restored the registry to ${snap.id}${snap.label ? ` "${snap.label}"` : ''} as of ${fmtTime(snap.createdAtUnixMs)}\n${describeSnapshot(snap, (await rowCountsFromAudit(s, [snap])).get(snap.id))}`;
  });
}

export async function snapshotListCommand(cfg: StackEnv): Promise<string> {
  return withRegistry(cfg, async (s) => {
    const r = await unaryCall(s.client.listSnapshots.bind(s.client), {}, { metadata: s.md(), deadlineMs: 10_000 });
    const snaps = [...r.snapshots].sort((a, b) => b.createdAtUnixMs - a.createdAtUnixMs || (a.id < b.id ? 1 : -1));
    if (!snaps.length) return `no snapshots\n${rpoLine(snaps, r.rpoMs)}`;
    const counts = await rowCountsFromAudit(s, snaps);
    const status = (st: string) => (st.length > 60 ? `${st.slice(0, 59)}…` : st);
    return [
      table(
        ['ID', 'LABEL', 'CREATED', 'STATUS', 'ROWS', 'ARTIFACTS', 'BYTES'],
        snaps.map((x) => [x.id, x.label || '-', fmtTime(x.createdAtUnixMs), status(x.status), rowsSummary(x.rows, counts.get(x.id)), String(x.artifacts), fmtBytes(x.bytes)]),
      ),
      rpoLine(snaps, r.rpoMs),
    ].join('\n');
  });
}

/** Register `ops snapshot …` on the program. */
export function addSnapshotCommands(program: Command, loadEnv: () => StackEnv): void {
  const snapshot = program.command('snapshot').description('registry snapshots (backups): create, verify, restore, list with the RPO');
  snapshot
    .command('create')
    .description('take a consistent snapshot of the registry tables and copy the artifacts they reference')
    .option('--label <text>', 'a note to find it by')
    .action(run((o: { label?: string }) => snapshotCreateCommand(loadEnv(), o)));
  snapshot
    .command('verify <id>')
    .description('prove a snapshot restores: load it into a scratch database and re-hash its artifacts (exit 1 when it fails)')
    .action(run((id: string) => snapshotVerifyCommand(loadEnv(), id)));
  snapshot
    .command('restore <id>')
    .description('replace the live registry (versions, aliases, history, audit) with a snapshot; needs --yes')
    .option('--yes', 'really replace the live registry')
    .action(run((id: string, o: { yes?: boolean }) => snapshotRestoreCommand(loadEnv(), id, o)));
  snapshot
    .command('list')
    .description('snapshots, newest first, and the RPO (age of the newest verified snapshot)')
    .action(run(() => snapshotListCommand(loadEnv())));
}
