// THE typed client of ranksafe.v1.ModelRegistry: one promise method per RPC, the admin token and
// the `x-actor` metadata set in one place, a deadline on every call, errors that keep their gRPC
// status, a compare-and-set alias move whose conflict is a typed error, and the one verified
// download (sha256 checked while streaming, temp file + fsync + rename) that everything uses.
// No Temporal here: activities get an instance injected through createActivities(deps).
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  ModelRegistryClient,
  RegisterVersionRequest,
  type Alias,
  type ArtifactChunk,
  type AuditEntry,
  type ModelKind,
  type ModelVersion,
  type ModelVersionSpec,
  type Snapshot,
  type VerifyArtifactsResponse,
} from '@ranksafe/proto';
import { adminMetadata, type UnaryMethod } from '@ranksafe/serving-kit';
import { sha256File } from '@ranksafe/registry-core';

/** Trailer of an ABORTED SetAlias: the version the alias points at now ('' = unset). */
export const CURRENT_VERSION_TRAILER = 'x-current-version';

/** A registry call that failed: the gRPC status is kept in `code` (and `details`, `metadata`). */
export class RegistryRpcError extends Error implements grpc.ServiceError {
  readonly metadata: grpc.Metadata;
  constructor(
    /** The RPC, e.g. "SetAlias". */
    readonly method: string,
    readonly code: grpc.status,
    readonly details: string,
    metadata?: grpc.Metadata,
  ) {
    super(`${grpc.status[code] ?? code}: ${details}`);
    this.name = 'RegistryRpcError';
    this.metadata = metadata ?? new grpc.Metadata();
  }

  /** UNAVAILABLE or DEADLINE_EXCEEDED: the registry could not be reached in time. */
  get unreachable(): boolean {
    return this.code === grpc.status.UNAVAILABLE || this.code === grpc.status.DEADLINE_EXCEEDED;
  }
}

/** SetAlias lost its compare-and-set (ABORTED): someone else moved the alias first. */
export class AliasConflictError extends RegistryRpcError {
  constructor(
    details: string,
    readonly model: string,
    readonly alias: string,
    /** What the caller expected the alias to point at ('' = unset). */
    readonly expectedVersion: string,
    /** What it points at now ('' = unset). */
    readonly currentVersion: string,
    metadata?: grpc.Metadata,
  ) {
    super('SetAlias', grpc.status.ABORTED, details, metadata);
    this.name = 'AliasConflictError';
  }
}

/** True for a failed call with this gRPC status (a RegistryRpcError or any grpc ServiceError). */
export const hasCode = (e: unknown, code: grpc.status): boolean => (e as Partial<grpc.ServiceError> | undefined)?.code === code;

export interface RegistryClientOptions {
  /** Admin token: sent on every call (mutations need it; reads when REGISTRY_READS_REQUIRE_TOKEN). */
  token?: string;
  /** Who does it, for the registry's audit log (`x-actor`); the registry says "admin" without it. */
  actor?: string;
  /** Deadline of a unary call unless the call says otherwise (default 10 s). */
  deadlineMs?: number;
  /** Deadline of an upload or download (default 10 min). */
  streamDeadlineMs?: number;
  /** Deadline of a snapshot create / verify / restore (default 30 min). */
  snapshotDeadlineMs?: number;
  channelOptions?: grpc.ChannelOptions;
}

/** Per call: a deadline other than the default, an abort signal (cancels the call), another actor. */
export interface CallOptions {
  deadlineMs?: number;
  signal?: AbortSignal;
  actor?: string;
}

/** What a reference (alias or version) of a model resolves to. */
export interface Resolved {
  name: string;
  version: string;
  sha256: string;
  sizeBytes: number;
  kind: ModelKind;
  model: ModelVersion;
  /** Set when the reference was an alias. */
  alias?: Alias;
}

export interface RegisterSpec extends Omit<ModelVersionSpec, 'sizeBytes' | 'sha256' | 'signature' | 'metrics' | 'lineage' | 'framework'> {
  framework?: string;
  signature?: Record<string, string>;
  metrics?: Record<string, number>;
  lineage?: ModelVersionSpec['lineage'];
}

export interface Downloaded {
  path: string;
  sizeBytes: number;
  sha256: string;
}

export interface DownloadOptions extends CallOptions {
  /** Refuse the bytes unless they hash to this (e.g. the sha256 a resolve returned). */
  expectedSha256?: string;
  /** Called with (received, total) bytes as chunks arrive. */
  onProgress?: (received: number, total: number) => void;
}

const UPLOAD_CHUNK = 256 * 1024;

export class RegistryClient {
  private readonly client: ModelRegistryClient;

  constructor(
    readonly address: string,
    private readonly opts: RegistryClientOptions = {},
  ) {
    this.client = new ModelRegistryClient(address, grpc.credentials.createInsecure(), opts.channelOptions);
  }

  close(): void {
    this.client.close();
  }

  /** The same registry and token, another actor (shares nothing but the options). */
  as(actor: string): RegistryClient {
    return new RegistryClient(this.address, { ...this.opts, actor });
  }

  // -- plumbing: metadata, deadlines, errors ----------------------------------------------

  private metadata(o: CallOptions = {}): grpc.Metadata {
    const md = this.opts.token ? adminMetadata(new grpc.Metadata(), this.opts.token) : new grpc.Metadata();
    const actor = o.actor ?? this.opts.actor;
    if (actor) md.set('x-actor', actor);
    return md;
  }

  private callOptions(o: CallOptions, fallbackMs: number): Partial<grpc.CallOptions> {
    return { deadline: Date.now() + (o.deadlineMs ?? fallbackMs) };
  }

  private wrap(method: string, e: unknown): Error {
    if (e instanceof RegistryRpcError) return e;
    const se = e as Partial<grpc.ServiceError>;
    if (typeof se?.code === 'number') return new RegistryRpcError(method, se.code, se.details ?? se.message ?? '', se.metadata);
    return e as Error;
  }

  private unary<Req, Res>(method: string, fn: UnaryMethod<Req, Res>, req: Req, o: CallOptions = {}, fallbackMs = this.opts.deadlineMs ?? 10_000): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      if (o.signal?.aborted) return reject(new RegistryRpcError(method, grpc.status.CANCELLED, 'cancelled before it started'));
      const call = fn.call(this.client, req, this.metadata(o), this.callOptions(o, fallbackMs), (err, res) => {
        o.signal?.removeEventListener('abort', cancel);
        if (err) reject(this.wrap(method, err));
        else resolve(res);
      });
      const cancel = () => call.cancel();
      o.signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  private get snapshotMs(): number {
    return this.opts.snapshotDeadlineMs ?? 30 * 60_000;
  }

  private get streamMs(): number {
    return this.opts.streamDeadlineMs ?? 600_000;
  }

  // -- versions ---------------------------------------------------------------------------

  /**
   * Upload `file` as a new version (client-streaming RegisterVersion): its sha256 and size are
   * declared up front and the registry hashes the bytes again, refusing a mismatch
   * (INVALID_ARGUMENT) or a duplicate (ALREADY_EXISTS).
   */
  async register(spec: RegisterSpec, file: string, o: CallOptions & { onProgress?: (sent: number, total: number) => void } = {}): Promise<ModelVersion> {
    const size = (await fsp.stat(file)).size;
    const sha256 = sha256File(file);
    const full: ModelVersionSpec = { framework: '', signature: {}, metrics: {}, lineage: undefined, ...spec, sizeBytes: size, sha256 };
    return new Promise<ModelVersion>((resolve, reject) => {
      let done = false;
      const finish = (e: unknown, res?: ModelVersion) => {
        if (done) return;
        done = true;
        o.signal?.removeEventListener('abort', cancel);
        stream.destroy();
        if (e) reject(this.wrap('RegisterVersion', e));
        else resolve(res!);
      };
      const call = this.client.registerVersion(this.metadata(o), this.callOptions(o, this.streamMs), (err, res) => finish(err, res));
      call.on('error', () => undefined); // reported through the callback
      const cancel = () => call.cancel();
      o.signal?.addEventListener('abort', cancel, { once: true });
      call.write(RegisterVersionRequest.fromPartial({ part: { $case: 'spec', value: full } }));
      const stream = fs.createReadStream(file, { highWaterMark: UPLOAD_CHUNK });
      let sent = 0;
      stream.on('data', (chunk) => {
        const buf = chunk as Buffer;
        sent += buf.length;
        if (!call.write({ part: { $case: 'chunk', value: buf } })) {
          stream.pause();
          call.once('drain', () => stream.resume());
        }
        o.onProgress?.(sent, size);
      });
      stream.on('error', (e) => {
        call.cancel();
        finish(e);
      });
      stream.on('end', () => call.end());
    });
  }

  getVersion(name: string, version: string, o?: CallOptions): Promise<ModelVersion> {
    return this.unary('GetVersion', this.client.getVersion, { name, version }, o);
  }

  /** Whether `name`/`version` is registered (NOT_FOUND → false; any other failure throws). */
  async exists(name: string, version: string, o?: CallOptions): Promise<boolean> {
    try {
      await this.getVersion(name, version, o);
      return true;
    } catch (e) {
      if (hasCode(e, grpc.status.NOT_FOUND)) return false;
      throw e;
    }
  }

  /** One page of ListVersions (keyset: pass the previous page's nextPageToken). */
  listVersionsPage(name: string, pageSize = 200, pageToken = '', o?: CallOptions): Promise<{ versions: ModelVersion[]; nextPageToken: string }> {
    return this.unary('ListVersions', this.client.listVersions, { name, pageSize, pageToken }, o);
  }

  /** Every version of `name`, in the registry's order (newest first), fetched page by page. */
  async *listVersions(name: string, o: CallOptions & { pageSize?: number } = {}): AsyncIterableIterator<ModelVersion> {
    let token = '';
    do {
      const page = await this.listVersionsPage(name, o.pageSize ?? 200, token, o);
      yield* page.versions;
      token = page.nextPageToken;
    } while (token);
  }

  /** Delete a version (FAILED_PRECONDITION while an alias points at it). */
  async deleteVersion(name: string, version: string, o?: CallOptions): Promise<void> {
    await this.unary('DeleteVersion', this.client.deleteVersion, { name, version }, o);
  }

  // -- aliases ----------------------------------------------------------------------------

  /** ResolveAlias: the alias now, or as it was at `asOf`. NOT_FOUND when it is (was) unset. */
  resolveAlias(name: string, alias: string, o: CallOptions & { asOf?: Date | number } = {}): Promise<Alias> {
    return this.unary('ResolveAlias', this.client.resolveAlias, { name, alias, asOfUnixMs: o.asOf === undefined ? 0 : +o.asOf }, o);
  }

  /** The version `alias` points at now, '' when it is unset. */
  async aliasVersion(name: string, alias: string, o?: CallOptions): Promise<string> {
    try {
      return (await this.resolveAlias(name, alias, o)).version;
    } catch (e) {
      if (hasCode(e, grpc.status.NOT_FOUND)) return '';
      throw e;
    }
  }

  /**
   * `ref` is an alias (production, canary …) or a version of `name`; an alias is looked up first
   * (as it was at `asOf` when given), else `ref` is taken as a version. NOT_FOUND when neither.
   */
  async resolve(name: string, ref: string, o: CallOptions & { asOf?: Date | number } = {}): Promise<Resolved> {
    let alias: Alias | undefined;
    try {
      alias = await this.resolveAlias(name, ref, o);
    } catch (e) {
      // not an alias (or not a valid alias name): try it as a version
      if (!hasCode(e, grpc.status.NOT_FOUND) && !hasCode(e, grpc.status.INVALID_ARGUMENT)) throw e;
    }
    let model: ModelVersion;
    try {
      model = await this.getVersion(name, alias?.version ?? ref, o);
    } catch (e) {
      if (!alias && hasCode(e, grpc.status.NOT_FOUND)) {
        const when = o.asOf === undefined ? '' : ` as of ${new Date(+o.asOf).toISOString()}`;
        throw new RegistryRpcError('GetVersion', grpc.status.NOT_FOUND, `${name} has no alias or version "${ref}"${when}`);
      }
      throw e;
    }
    const s = model.spec!;
    return { name: s.name, version: s.version, sha256: s.sha256, sizeBytes: s.sizeBytes, kind: s.kind, model, alias };
  }

  /**
   * Point `alias` at `version` with compare-and-set: it moves only if it points at
   * `expectedVersion` now ('' = must be unset). Otherwise AliasConflictError, carrying the
   * version it points at now; nothing is overwritten.
   */
  async setAlias(a: { name: string; alias: string; version: string; expectedVersion: string; reason?: string }, o?: CallOptions): Promise<Alias> {
    const req = { name: a.name, alias: a.alias, version: a.version, expectedVersion: a.expectedVersion, reason: a.reason ?? '' };
    try {
      return await this.unary('SetAlias', this.client.setAlias, req, o);
    } catch (e) {
      if (!(e instanceof RegistryRpcError) || e.code !== grpc.status.ABORTED) throw e;
      const trailer = e.metadata.get(CURRENT_VERSION_TRAILER);
      // An older registry sends no trailer: ask (best effort; the conflict stands either way).
      const current = trailer.length ? trailer[0]!.toString() : await this.aliasVersion(a.name, a.alias, o).catch(() => '');
      throw new AliasConflictError(e.details, a.name, a.alias, a.expectedVersion, current, e.metadata);
    }
  }

  /** Every move of an alias, newest first. */
  async aliasHistory(name: string, alias: string, o?: CallOptions): Promise<Alias[]> {
    return (await this.unary('AliasHistory', this.client.aliasHistory, { name, alias }, o)).entries;
  }

  /** The audit log (every mutation), filtered by model and time, newest first. */
  async listAudit(f: { name?: string; since?: Date | number; until?: Date | number; limit?: number } = {}, o?: CallOptions): Promise<AuditEntry[]> {
    const req = {
      name: f.name ?? '',
      sinceUnixMs: f.since === undefined ? 0 : +f.since,
      untilUnixMs: f.until === undefined ? 0 : +f.until,
      limit: f.limit ?? 0,
    };
    return (await this.unary('ListAudit', this.client.listAudit, req, o)).entries;
  }

  // -- snapshots (backups) ----------------------------------------------------------------

  createSnapshot(label = '', o?: CallOptions): Promise<Snapshot> {
    return this.unary('CreateSnapshot', this.client.createSnapshot, { label }, o, this.snapshotMs);
  }

  /** Restore into a scratch database and re-hash the artifacts; the answer's status says how it went. */
  verifySnapshot(snapshotId: string, o?: CallOptions): Promise<Snapshot> {
    return this.unary('VerifySnapshot', this.client.verifySnapshot, { snapshotId }, o, this.snapshotMs);
  }

  restoreSnapshot(snapshotId: string, o?: CallOptions): Promise<Snapshot> {
    return this.unary('RestoreSnapshot', this.client.restoreSnapshot, { snapshotId }, o, this.snapshotMs);
  }

  /** The snapshots and the RPO: age of the newest verified one in ms (-1 when none is). */
  listSnapshots(o?: CallOptions): Promise<{ snapshots: Snapshot[]; rpoMs: number }> {
    return this.unary('ListSnapshots', this.client.listSnapshots, {}, o);
  }

  /** Scrub the registry's live store: every artifact (of model `name`, else all) re-hashed against its record; `flagged` = not ok. */
  verifyArtifacts(name = '', o?: CallOptions): Promise<VerifyArtifactsResponse> {
    return this.unary('VerifyArtifacts', this.client.verifyArtifacts, { name }, o, this.snapshotMs);
  }

  // -- verified download ------------------------------------------------------------------

  /**
   * Download the artifact of `name`/`version` to `dest`: streamed into a temp file beside it,
   * hashed as it arrives, checked against the size and sha256 the registry declares (and
   * `expectedSha256` when given), fsynced, then renamed into place. Any failure leaves no file
   * behind: DATA_LOSS (a RegistryRpcError) when the bytes do not verify, whether the registry
   * noticed (it re-hashes while streaming) or this end did.
   */
  async download(name: string, version: string, dest: string, o: DownloadOptions = {}): Promise<Downloaded> {
    const target = path.resolve(dest);
    const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.part`);
    const fh = await fsp.open(tmp, 'wx', 0o644);
    let closed = false;
    const integrity = (what: string) => new RegistryRpcError('DownloadArtifact', grpc.status.DATA_LOSS, `download of ${name}/${version} ${what}: refusing it`);
    const stream = this.client.downloadArtifact({ name, version }, this.metadata(o), this.callOptions(o, this.streamMs));
    const cancel = () => stream.cancel();
    o.signal?.addEventListener('abort', cancel, { once: true });
    try {
      const h = createHash('sha256');
      let size = 0;
      let total = -1;
      let declared = '';
      try {
        for await (const c of stream as AsyncIterable<ArtifactChunk>) {
          if (total < 0) {
            total = c.totalSize;
            declared = c.sha256;
          }
          const data = Buffer.from(c.data);
          h.update(data);
          size += data.length;
          for (let off = 0; off < data.length;) off += (await fh.write(data, off, data.length - off)).bytesWritten;
          o.onProgress?.(size, total);
        }
      } catch (e) {
        throw this.wrap('DownloadArtifact', e);
      }
      // An abort that came after the last chunk still wins: nothing is moved into place.
      if (o.signal?.aborted) throw new RegistryRpcError('DownloadArtifact', grpc.status.CANCELLED, `download of ${name}/${version} cancelled`);
      if (total < 0) throw integrity('carried no data');
      const sha256 = h.digest('hex');
      if (size !== total) throw integrity(`received ${size} bytes, the registry declared ${total}`);
      if (sha256 !== declared) throw integrity(`hashes to ${sha256}, the registry declared ${declared}`);
      if (o.expectedSha256 && sha256 !== o.expectedSha256) throw integrity(`hashes to ${sha256}, the registry records ${o.expectedSha256}`);
      await fh.sync();
      await fh.close();
      closed = true;
      await fsp.rename(tmp, target);
      await fsyncDir(path.dirname(target));
      return { path: target, sizeBytes: size, sha256 };
    } finally {
      o.signal?.removeEventListener('abort', cancel);
      stream.cancel(); // no-op once it ended
      if (!closed) await fh.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}

/** fsync a directory so a rename in it survives a crash (best effort where unsupported). */
async function fsyncDir(dir: string): Promise<void> {
  const d = await fsp.open(dir, 'r').catch(() => undefined);
  if (!d) return;
  try {
    await d.sync().catch(() => undefined);
  } finally {
    await d.close();
  }
}
