import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ModelRegistryClient, type ArtifactChunk, type ModelVersion } from '@ranksafe/proto';
import { adminMetadata, dataLoss, failedPrecondition, notFound, unavailable, unaryCall } from '@ranksafe/serving-kit';
import { ArtifactIntegrityError, unpackBundle } from '@ranksafe/registry-core';

/** The registry could not be reached and nothing usable was cached for the reference. */
export class RegistryUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryUnavailableError';
  }
}

export interface Fetched {
  /** Unpacked, verified artifact directory. */
  dir: string;
  name: string;
  version: string;
  sha256: string;
  /** True when the registry was unreachable and the last known resolution was used. */
  fromCache: boolean;
}

const unreachable = (e: unknown) => {
  const code = (e as grpc.ServiceError).code;
  return code === grpc.status.UNAVAILABLE || code === grpc.status.DEADLINE_EXCEEDED;
};

/**
 * What a consumer (ranking-service, retrieval-service) uses to load an artifact through the
 * registry: resolve an alias or version, download the bundle verifying its sha256 as it streams,
 * unpack it (each file verified again) into a local cache keyed by sha256. When the registry is
 * down, the last resolution of the same reference is served from the cache.
 */
export class RegistryFetcher {
  private readonly client: ModelRegistryClient;

  constructor(
    address: string,
    private readonly cacheDir: string,
    private readonly opts: { token?: string; timeoutMs?: number } = {},
  ) {
    this.client = new ModelRegistryClient(address, grpc.credentials.createInsecure());
    fs.mkdirSync(cacheDir, { recursive: true });
  }

  close(): void {
    this.client.close();
  }

  private md(): grpc.Metadata {
    return this.opts.token ? adminMetadata(new grpc.Metadata(), this.opts.token) : new grpc.Metadata();
  }

  private get refsFile(): string {
    return path.join(this.cacheDir, 'refs.json');
  }

  private readRefs(): Record<string, { version: string; sha256: string }> {
    try {
      return JSON.parse(fs.readFileSync(this.refsFile, 'utf8'));
    } catch {
      return {};
    }
  }

  private remember(key: string, v: { version: string; sha256: string }): void {
    const refs = { ...this.readRefs(), [key]: v };
    const tmp = `${this.refsFile}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(refs, null, 2));
    fs.renameSync(tmp, this.refsFile);
  }

  /** `ref`: an alias (production, canary …) or a version of model `name`. */
  async fetch(name: string, ref: string): Promise<Fetched> {
    const key = `${name}@${ref}`;
    const timeout = this.opts.timeoutMs ?? 5000;
    let mv: ModelVersion;
    try {
      mv = await this.resolve(name, ref, timeout);
    } catch (e) {
      if (!unreachable(e)) throw e;
      const known = this.readRefs()[key];
      const dir = known && path.join(this.cacheDir, known.sha256);
      if (known && fs.existsSync(dir!)) return { dir: dir!, name, version: known.version, sha256: known.sha256, fromCache: true };
      throw new RegistryUnavailableError(`the model registry is unreachable (${(e as grpc.ServiceError).details}) and ${key} was never fetched here`);
    }
    const { version, sha256 } = mv.spec!;
    const dir = path.join(this.cacheDir, sha256);
    if (!fs.existsSync(dir)) await this.download(name, version, sha256, dir);
    this.remember(key, { version, sha256 });
    return { dir, name, version, sha256, fromCache: false };
  }

  private async resolve(name: string, ref: string, timeout: number): Promise<ModelVersion> {
    try {
      const alias = await unaryCall(this.client.resolveAlias.bind(this.client), { name, alias: ref, asOfUnixMs: 0 }, { deadlineMs: timeout, metadata: this.md() });
      ref = alias.version;
    } catch (e) {
      if ((e as grpc.ServiceError).code !== grpc.status.NOT_FOUND && (e as grpc.ServiceError).code !== grpc.status.INVALID_ARGUMENT) throw e;
    }
    return unaryCall(this.client.getVersion.bind(this.client), { name, version: ref }, { deadlineMs: timeout, metadata: this.md() });
  }

  private async download(name: string, version: string, sha256: string, dir: string): Promise<void> {
    const tmp = path.join(this.cacheDir, `${sha256}.bundle.tmp-${process.pid}`);
    const out = fs.createWriteStream(tmp);
    const h = createHash('sha256');
    try {
      await new Promise<void>((resolve, reject) => {
        out.on('error', reject);
        const s = this.client.downloadArtifact({ name, version }, this.md(), { deadline: Date.now() + 600_000 });
        s.on('data', (c: ArtifactChunk) => {
          if (out.destroyed) return;
          h.update(c.data);
          if (!out.write(c.data)) {
            s.pause();
            out.once('drain', () => s.resume());
          }
        });
        s.on('error', (e: grpc.ServiceError) => {
          s.removeAllListeners('data');
          reject(e.code === grpc.status.DATA_LOSS ? new ArtifactIntegrityError(`registry refused ${name}/${version}: ${e.details}`) : e);
        });
        s.on('end', () => out.end(() => resolve()));
      });
      const got = h.digest('hex');
      if (got !== sha256) throw new ArtifactIntegrityError(`download of ${name}/${version} hashes to ${got}, the registry records ${sha256}: refusing it`);
      unpackBundle(tmp, dir);
    } finally {
      // A write still in flight after a failed download reports to this no-op, not to the process.
      out.on('error', () => undefined);
      out.destroy();
      fs.rmSync(tmp, { force: true });
    }
  }
}

/**
 * Fetch for a Load* RPC: the same as fetcher.fetch, with failures as gRPC errors that say what
 * keeps serving (`serving`, e.g. "still serving minilm-l6-v2 int8-…"): registry down and nothing
 * cached → UNAVAILABLE, unknown reference → NOT_FOUND, integrity failure → DATA_LOSS.
 */
export async function fetchForLoad(fetcher: RegistryFetcher, name: string, ref: string, serving: string, onCached?: (f: Fetched) => void): Promise<Fetched> {
  const still = serving ? `; ${serving}` : '';
  try {
    const f = await fetcher.fetch(name, ref);
    if (f.fromCache) onCached?.(f);
    return f;
  } catch (e) {
    if (e instanceof RegistryUnavailableError) throw unavailable(`${e.message}${still}`);
    if (e instanceof ArtifactIntegrityError) throw dataLoss(`${e.message}${still}`);
    const se = e as Partial<grpc.ServiceError>;
    if (se.code === grpc.status.NOT_FOUND) throw notFound(`${name} has no alias or version "${ref}" in the registry${still}`);
    if (typeof se.code === 'number') throw unavailable(`model registry error (${se.details})${still}`);
    throw failedPrecondition(`cannot fetch ${name}@${ref}: ${(e as Error).message}${still}`);
  }
}
