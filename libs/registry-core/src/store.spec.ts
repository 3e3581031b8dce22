import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArtifactMismatchError, ArtifactTooLargeError, InvalidArgumentError } from './errors';
import { LocalArtifactStore } from './store';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function* chunks(b: Buffer, size = 7, pulled?: { n: number }): AsyncIterable<Buffer> {
  for (let i = 0; i < b.length; i += size) {
    if (pulled) pulled.n++;
    yield b.subarray(i, i + size);
  }
}

async function readAll(r: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('LocalArtifactStore', () => {
  let root: string;
  let store: LocalArtifactStore;
  const data = Buffer.from('the weights of a small model, more or less '.repeat(20));
  const digest = sha(data);

  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-artifacts-'));
    store = await LocalArtifactStore.open(root);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const tmpFiles = () => fs.readdirSync(path.join(root, 'tmp'));

  it('stores content-addressed, reads back, lists, and knows a second put of the same bytes', async () => {
    const r = await store.put(chunks(data), { sha256: digest, size: data.length, maxBytes: 1 << 20 });
    expect(r).toEqual({ sha256: digest, size: data.length, existed: false });
    expect(store.path(digest)).toBe(path.join(root, 'sha256', digest.slice(0, 2), digest));
    expect(fs.readFileSync(store.path(digest))).toEqual(data);
    expect(await store.has(digest)).toBe(true);
    expect(await readAll(store.open(digest))).toEqual(data);
    const again = await store.put(chunks(data, 100), { sha256: digest, size: data.length, maxBytes: 1 << 20 });
    expect(again.existed).toBe(true);
    const empty = Buffer.alloc(0);
    await store.put(chunks(empty), { sha256: sha(empty), size: 0, maxBytes: 10 });
    const listed: string[] = [];
    for await (const s of store.list()) listed.push(s);
    expect(listed.sort()).toEqual([digest, sha(empty)].sort());
    expect(tmpFiles()).toEqual([]);
  });

  it('refuses a wrong sha256 or size and leaves nothing behind', async () => {
    const wrong = sha(Buffer.from('something else'));
    await expect(store.put(chunks(data), { sha256: wrong, size: data.length, maxBytes: 1 << 20 })).rejects.toBeInstanceOf(ArtifactMismatchError);
    await expect(store.put(chunks(data), { sha256: digest, size: data.length + 1, maxBytes: 1 << 20 })).rejects.toBeInstanceOf(ArtifactMismatchError);
    await expect(store.put(chunks(data), { sha256: digest, size: data.length - 1, maxBytes: 1 << 20 })).rejects.toBeInstanceOf(ArtifactMismatchError);
    expect(await store.has(digest)).toBe(false);
    expect(await store.has(wrong)).toBe(false);
    expect(tmpFiles()).toEqual([]);
    expect(fs.readdirSync(path.join(root, 'sha256'))).toEqual([]);
  });

  it('refuses too large uploads early: by declaration without reading, by bytes as soon as they exceed', async () => {
    const pulled = { n: 0 };
    await expect(store.put(chunks(data, 10, pulled), { sha256: digest, size: data.length, maxBytes: 100 })).rejects.toBeInstanceOf(ArtifactTooLargeError);
    expect(pulled.n).toBe(0);
    // A liar declaring a small size: stopped at the first chunk past the limit.
    const big = Buffer.alloc(10_000, 1);
    const p2 = { n: 0 };
    await expect(store.put(chunks(big, 10, p2), { sha256: sha(big), size: 50, maxBytes: 50 })).rejects.toBeInstanceOf(ArtifactTooLargeError);
    expect(p2.n).toBe(6);
    expect(tmpFiles()).toEqual([]);
    expect(await store.has(sha(big))).toBe(false);
  });

  it('validates sha256 arguments (no path traversal)', async () => {
    for (const bad of ['../../etc/passwd', digest.toUpperCase(), digest.slice(1), `${digest.slice(0, 63)}/`, '']) {
      expect(() => store.path(bad)).toThrow(InvalidArgumentError);
      expect(() => store.open(bad)).toThrow(InvalidArgumentError);
      await expect(store.has(bad)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(store.put(chunks(data), { sha256: bad, size: data.length, maxBytes: 1 << 20 })).rejects.toBeInstanceOf(InvalidArgumentError);
    }
  });

  it('sweeps temp files left by a crash on start, and ignores them in list()', async () => {
    fs.writeFileSync(path.join(root, 'tmp', 'dead.part'), 'partial');
    let listed = 0;
    for await (const _ of store.list()) listed++;
    expect(listed).toBe(0);
    await LocalArtifactStore.open(root);
    expect(tmpFiles()).toEqual([]);
  });

  it('cleans up when the upload stream itself fails', async () => {
    async function* broken(): AsyncIterable<Buffer> {
      yield Buffer.from('abc');
      throw new Error('client went away');
    }
    await expect(store.put(broken(), { sha256: digest, size: data.length, maxBytes: 1 << 20 })).rejects.toThrow('client went away');
    expect(tmpFiles()).toEqual([]);
  });
});
