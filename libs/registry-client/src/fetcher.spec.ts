import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { fetchForLoad, RegistryFetcher, RegistryUnavailableError } from './fetcher';

// Nothing listens on this port: the registry is down.
const DOWN = '127.0.0.1:1';

describe('RegistryFetcher with the registry down', () => {
  let cache: string;
  beforeEach(() => {
    cache = fs.mkdtempSync(path.join(os.tmpdir(), 'fetcher-'));
  });
  afterEach(() => fs.rmSync(cache, { recursive: true, force: true }));

  it('fails with RegistryUnavailableError when the reference was never fetched here', async () => {
    const f = new RegistryFetcher(DOWN, cache, { timeoutMs: 500 });
    await expect(f.fetch('minilm', 'production')).rejects.toBeInstanceOf(RegistryUnavailableError);
    f.close();
  });

  it('serves the last resolution of the same reference from the cache', async () => {
    const sha = 'a'.repeat(64);
    fs.mkdirSync(path.join(cache, sha));
    fs.writeFileSync(path.join(cache, 'refs.json'), JSON.stringify({ 'minilm@production': { version: 'v7', sha256: sha } }));
    const f = new RegistryFetcher(DOWN, cache, { timeoutMs: 500 });
    await expect(f.fetch('minilm', 'production')).resolves.toEqual({ dir: path.join(cache, sha), name: 'minilm', version: 'v7', sha256: sha, fromCache: true });
    await expect(f.fetch('minilm', 'canary')).rejects.toBeInstanceOf(RegistryUnavailableError);
    f.close();
  });

  it('maps failures for a Load RPC to UNAVAILABLE saying what keeps serving', async () => {
    const f = new RegistryFetcher(DOWN, cache, { timeoutMs: 500 });
    const err = await fetchForLoad(f, 'minilm', 'production', 'still serving minilm v1').catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
    expect((err as grpc.ServiceError).details).toMatch(/unreachable.*; still serving minilm v1$/);
    f.close();
  });
});
