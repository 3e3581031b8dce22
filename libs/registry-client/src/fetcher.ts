import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { dataLoss, failedPrecondition, notFound, unavailable } from '@ranksafe/serving-kit';
import { verifyUnpackedCopy } from '@ranksafe/artifact-integrity';
import { ArtifactIntegrityError, unpackBundle } from '@ranksafe/registry-core';
import { hasCode, RegistryClient, type Resolved } from './client';

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

const unreachable = (e: unknown) => hasCode(e, grpc.status.UNAVAILABLE) || hasCode(e, grpc.status.DEADLINE_EXCEEDED);

/**
 * What a consumer (ranking-service, retrieval-service) uses to load an artifact through the
 * registry: resolve an alias or version, download the bundle verifying its sha256 as it streams
 * (RegistryClient.download), unpack it (each file verified again) into a local cache keyed by
 * sha256. When the registry is down, the last resolution of the same reference is served from
 * the cache.
 */
export class RegistryFetcher {
  private readonly client: RegistryClient;
  private readonly ownsClient: boolean;

  /** `registry`: an address (the fetcher opens and closes its own client) or a RegistryClient to share. */
  constructor(
    registry: string | RegistryClient,
    private readonly cacheDir: string,
    private readonly opts: { token?: string; timeoutMs?: number } = {},
  ) {
    this.ownsClient = typeof registry === 'string';
    this.client = typeof registry === 'string' ? new RegistryClient(registry, { token: opts.token, deadlineMs: opts.timeoutMs ?? 5000 }) : registry;
    fs.mkdirSync(cacheDir, { recursive: true });
  }

  close(): void {
    if (this.ownsClient) this.client.close();
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
    let r: Resolved;
    try {
      r = await this.client.resolve(name, ref, { deadlineMs: this.opts.timeoutMs ?? 5000 });
    } catch (e) {
      if (!unreachable(e)) throw e;
      const known = this.readRefs()[key];
      const dir = known && path.join(this.cacheDir, known.sha256);
      if (known && fs.existsSync(dir!)) {
        verifyUnpackedCopy(dir!); // a corrupt copy is refused (DATA_LOSS), never served; it stays for a fresh download to replace
        return { dir: dir!, name, version: known.version, sha256: known.sha256, fromCache: true };
      }
      throw new RegistryUnavailableError(`the model registry is unreachable (${(e as grpc.ServiceError).details}) and ${key} was never fetched here`);
    }
    const { version, sha256 } = r;
    const dir = path.join(this.cacheDir, sha256);
    // A cached copy is re-verified before it is trusted (bit rot, a bad disk, a hand edit): a corrupt
    // one is evicted and downloaded again.
    let evicted = '';
    if (fs.existsSync(dir)) {
      try {
        verifyUnpackedCopy(dir);
      } catch (e) {
        if (!(e instanceof ArtifactIntegrityError)) throw e;
        evicted = e.message;
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    if (!fs.existsSync(dir)) {
      const bundle = path.join(this.cacheDir, `${sha256}.bundle-${process.pid}`);
      try {
        await this.client.download(name, version, bundle, { expectedSha256: sha256 });
        unpackBundle(bundle, dir);
      } catch (e) {
        if (evicted && hasCode(e, grpc.status.DATA_LOSS))
          throw new ArtifactIntegrityError(
            `the cached copy of ${name} ${version} failed verification (${evicted}) and was evicted; a fresh download was refused too: ${(e as grpc.ServiceError).details}`,
          );
        throw e;
      } finally {
        fs.rmSync(bundle, { force: true });
      }
    }
    this.remember(key, { version, sha256 });
    return { dir, name, version, sha256, fromCache: false };
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
    if (se.code === grpc.status.DATA_LOSS) throw dataLoss(`cannot load ${name}@${ref}: ${se.details}${still}`);
    if (se.code === grpc.status.NOT_FOUND) throw notFound(`${name} has no alias or version "${ref}" in the registry${still}`);
    if (typeof se.code === 'number') throw unavailable(`model registry error (${se.details})${still}`);
    throw failedPrecondition(`cannot fetch ${name}@${ref}: ${(e as Error).message}${still}`);
  }
}
