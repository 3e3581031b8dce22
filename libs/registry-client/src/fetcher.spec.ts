import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ArtifactIntegrityError, describeFiles } from '@ranksafe/artifact-integrity';
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
    cachedCopy(cache, sha);
    fs.writeFileSync(path.join(cache, 'refs.json'), JSON.stringify({ 'minilm@production': { version: 'v7', sha256: sha } }));
    const f = new RegistryFetcher(DOWN, cache, { timeoutMs: 500 });
    await expect(f.fetch('minilm', 'production')).resolves.toEqual({ dir: path.join(cache, sha), name: 'minilm', version: 'v7', sha256: sha, fromCache: true });
    await expect(f.fetch('minilm', 'canary')).rejects.toBeInstanceOf(RegistryUnavailableError);
    f.close();
  });

  it('refuses a cached copy whose bytes no longer match its manifest (DATA_LOSS for a Load RPC), never serving it', async () => {
    const sha = 'b'.repeat(64);
    const dir = cachedCopy(cache, sha);
    fs.writeFileSync(path.join(cache, 'refs.json'), JSON.stringify({ 'minilm@production': { version: 'v7', sha256: sha } }));
    const fd = fs.openSync(path.join(dir, 'model.onnx'), 'r+');
    fs.writeSync(fd, Buffer.from([0xff, 0xfe]), 0, 2, 3);
    fs.closeSync(fd);
    const f = new RegistryFetcher(DOWN, cache, { timeoutMs: 500 });
    await expect(f.fetch('minilm', 'production')).rejects.toBeInstanceOf(ArtifactIntegrityError);
    const err = await fetchForLoad(f, 'minilm', 'production', 'still serving minilm v6').catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).code).toBe(grpc.status.DATA_LOSS);
    expect((err as grpc.ServiceError).details).toMatch(/model\.onnx has sha256 .*; still serving minilm v6$/);
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

/** An unpacked registry bundle in the cache: manifest.json listing model.onnx (and a variant not present). */
function cachedCopy(cache: string, sha: string): string {
  const dir = path.join(cache, sha);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'model.onnx'), Buffer.from('pretend onnx bytes, long enough to corrupt'));
  const artifacts = { ...describeFiles(dir, ['model.onnx']), 'model.fp32.onnx': { sha256: 'c'.repeat(64), bytes: 9 } };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ artifacts }));
  return dir;
}
