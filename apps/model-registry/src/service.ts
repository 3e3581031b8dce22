import { type ArtifactChunk, type ModelRegistryServer, type ModelVersionSpec, type RegisterVersionRequest } from '@ranksafe/proto';
import { status } from '@grpc/grpc-js';
import { isConnectionError } from '@ranksafe/db';
import {
  AlreadyExistsError,
  ArtifactIntegrityError,
  ArtifactMismatchError,
  ArtifactTooLargeError,
  CasConflictError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  RegistryError,
  snapshotToProto,
  type Registry,
  type RegistrySnapshots,
} from '@ranksafe/registry-core';
import { CURRENT_VERSION_TRAILER } from '@ranksafe/registry-client';
import { actorOf, clientStream, GrpcError, invalidArgument, serverStream, unary, unimplemented } from '@ranksafe/serving-kit';

/** Bytes per DownloadArtifact message. */
const CHUNK = 1 << 20;

/** The status a caller sees for each typed registry error and for ArtifactIntegrityError (anything else is INTERNAL). */
const STATUS_OF: Array<[new (...args: never[]) => Error, status]> = [
  [InvalidArgumentError, status.INVALID_ARGUMENT],
  [ArtifactMismatchError, status.INVALID_ARGUMENT],
  [NotFoundError, status.NOT_FOUND],
  [AlreadyExistsError, status.ALREADY_EXISTS],
  [FailedPreconditionError, status.FAILED_PRECONDITION],
  [CasConflictError, status.ABORTED],
  [ArtifactTooLargeError, status.RESOURCE_EXHAUSTED],
  [ArtifactIntegrityError, status.DATA_LOSS],
];

function asGrpc(e: unknown): never {
  // Postgres unreachable or the connection lost: the caller may retry later; nothing was done (a
  // mutation's transaction did not commit).
  if (isConnectionError(e))
    throw new GrpcError(status.UNAVAILABLE, `the registry's database is unavailable (${(e as Error).message.split('\n')[0]}); retry later`);
  if (e instanceof RegistryError || e instanceof ArtifactIntegrityError) {
    const code = STATUS_OF.find(([cls]) => e instanceof cls)?.[1] ?? status.INTERNAL;
    // A lost compare-and-set says where the alias points now, so the caller need not ask again.
    throw new GrpcError(code, e.message, e instanceof CasConflictError ? { [CURRENT_VERSION_TRAILER]: e.currentVersion } : {});
  }
  throw e;
}

/** Split a RegisterVersion stream into its spec (first message) and the artifact's chunks. */
async function specAndChunks(messages: AsyncIterable<RegisterVersionRequest>): Promise<{ spec: ModelVersionSpec; chunks: AsyncIterable<Buffer> }> {
  const it = messages[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done || first.value.part?.$case !== 'spec') throw invalidArgument('spec', 'the first message must carry the version spec');
  const spec = first.value.part.value;
  async function* chunks(): AsyncIterable<Buffer> {
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      const part = n.value.part;
      if (part?.$case !== 'chunk') throw invalidArgument('chunk', 'every message after the first must carry artifact bytes');
      yield Buffer.from(part.value);
    }
  }
  return { spec, chunks: chunks() };
}

/**
 * The ModelRegistry gRPC service over a Registry (Postgres metadata + artifact store) and, when
 * given, its snapshots (backups); without them the snapshot methods answer UNIMPLEMENTED.
 */
export function registryService(registry: Registry, snapshots?: RegistrySnapshots): ModelRegistryServer {
  const snaps = (): RegistrySnapshots => {
    if (!snapshots) throw unimplemented('snapshots are not configured for this registry');
    return snapshots;
  };
  return {
    registerVersion: clientStream(async (messages: AsyncIterable<RegisterVersionRequest>, ctx) => {
      const { spec, chunks } = await specAndChunks(messages);
      return registry.registerVersion(spec, chunks, actorOf(ctx)).catch(asGrpc);
    }),
    getVersion: unary(async (req) => registry.getVersion(req.name, req.version).catch(asGrpc)),
    listVersions: unary(async (req) => registry.listVersions(req.name, req.pageSize || 50, req.pageToken).catch(asGrpc)),
    downloadArtifact: serverStream(async (req, write: (m: ArtifactChunk) => Promise<void>) => {
      const dl = await registry.openArtifact(req.name, req.version).catch(asGrpc);
      let first = true;
      try {
        for await (const buf of dl.stream as AsyncIterable<Buffer>) {
          for (let off = 0; off < buf.length; off += CHUNK) {
            await write({ data: buf.subarray(off, off + CHUNK), totalSize: first ? dl.size : 0, sha256: first ? dl.sha256 : '' });
            first = false;
          }
        }
        if (first) await write({ data: Buffer.alloc(0), totalSize: dl.size, sha256: dl.sha256 });
      } catch (e) {
        dl.stream.destroy();
        asGrpc(e);
      }
    }),
    deleteVersion: unary(async (req, ctx) => {
      await registry.deleteVersion(req.name, req.version, actorOf(ctx)).catch(asGrpc);
      return {};
    }),
    setAlias: unary(async (req, ctx) => registry.setAlias(req.name, req.alias, req.version, req.expectedVersion, actorOf(ctx), req.reason).catch(asGrpc)),
    resolveAlias: unary(async (req) => registry.resolveAlias(req.name, req.alias, req.asOfUnixMs ? new Date(req.asOfUnixMs) : undefined).catch(asGrpc)),
    aliasHistory: unary(async (req) => ({ entries: await registry.aliasHistory(req.name, req.alias).catch(asGrpc) })),
    listAudit: unary(async (req) => {
      const entries = await registry
        .listAudit({
          name: req.name || undefined,
          since: req.sinceUnixMs ? new Date(req.sinceUnixMs) : undefined,
          until: req.untilUnixMs ? new Date(req.untilUnixMs) : undefined,
          limit: req.limit || undefined,
        })
        .catch(asGrpc);
      return { entries };
    }),
    createSnapshot: unary(async (req, ctx) => snapshotToProto(await snaps().create(req.label, actorOf(ctx)).catch(asGrpc))),
    verifySnapshot: unary(async (req, ctx) => snapshotToProto(await snaps().verify(req.snapshotId, actorOf(ctx)).catch(asGrpc))),
    restoreSnapshot: unary(async (req, ctx) => snapshotToProto(await snaps().restore(req.snapshotId, actorOf(ctx)).catch(asGrpc))),
    verifyArtifacts: unary(async (req, ctx) => registry.verifyArtifacts(req.name || undefined, actorOf(ctx)).catch(asGrpc)),
    listSnapshots: unary(async () => {
      const { snapshots: list, rpoMs } = await snaps().list().catch(asGrpc);
      return { snapshots: list.map(snapshotToProto), rpoMs };
    }),
  };
}

/** Methods that change state: they always need the admin token. */
export const REGISTRY_MUTATIONS = ['registerVersion', 'deleteVersion', 'setAlias', 'createSnapshot', 'verifySnapshot', 'restoreSnapshot', 'verifyArtifacts'];
/** Read methods: token-protected only when REGISTRY_READS_REQUIRE_TOKEN is set. */
export const REGISTRY_READS = ['getVersion', 'listVersions', 'downloadArtifact', 'resolveAlias', 'aliasHistory', 'listAudit', 'listSnapshots'];
