import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { fsyncDir } from '@ranksafe/artifact-integrity';
import { ArtifactMismatchError, ArtifactTooLargeError, InvalidArgumentError } from './errors';

const SHA256_RE = /^[0-9a-f]{64}$/;

/** sha256 (hex) of a file's bytes: from the artifact-integrity lib, re-exported for the registry's callers. */
export { sha256File } from '@ranksafe/artifact-integrity';

/** Throw unless `sha256` is 64 lowercase hex digits (so it can never name a path outside the store). */
export function assertSha256(sha256: unknown): asserts sha256 is string {
  if (typeof sha256 !== 'string' || !SHA256_RE.test(sha256)) {
    throw new InvalidArgumentError(`invalid sha256 "${String(sha256).slice(0, 80)}": want 64 lowercase hex digits`);
  }
}

export interface PutExpectation {
  /** Declared sha256 of the bytes (64 lowercase hex). */
  sha256: string;
  /** Declared size in bytes. */
  size: number;
  /** Refuse (and stop reading) once more than this many bytes arrive. */
  maxBytes: number;
}

export interface PutResult {
  sha256: string;
  size: number;
  /** The artifact was already stored (same content); nothing new was written. */
  existed: boolean;
}

/** Content-addressed blob storage for model artifacts. */
export interface ArtifactStore {
  /**
   * Store the bytes of `stream` if (and only if) they match `expect`; refuses with
   * ArtifactMismatchError / ArtifactTooLargeError otherwise and leaves nothing visible behind.
   */
  put(stream: AsyncIterable<Buffer>, expect: PutExpectation): Promise<PutResult>;
  /** The raw bytes (not verified here; see Registry.openArtifact). */
  open(sha256: string): Readable;
  has(sha256: string): Promise<boolean>;
  /** Local file path, for stores that have one. */
  path?(sha256: string): string;
  /** Every stored sha256. */
  list(): AsyncIterable<string>;
}

/**
 * Artifacts as files under `root/sha256/ab/abcdef…`. An upload streams into `root/tmp/` while
 * it is hashed, is fsynced, then renamed into place atomically (and the directory fsynced), so a
 * crash never leaves a visible partial artifact; leftovers in `root/tmp/` are swept by init().
 * One process owns a root: init() deletes every temp file, including another writer's.
 */
export class LocalArtifactStore implements ArtifactStore {
  readonly root: string;
  private ready: Promise<void> | undefined;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** Open a store: create its directories and sweep temp files left by a crash. */
  static async open(root: string): Promise<LocalArtifactStore> {
    const s = new LocalArtifactStore(root);
    await s.init();
    return s;
  }

  /** Create the directories and sweep temp files; idempotent (runs once per instance). */
  init(): Promise<void> {
    this.ready ??= (async () => {
      await fsp.mkdir(this.tmpDir, { recursive: true });
      await fsp.mkdir(this.blobDir, { recursive: true });
      for (const f of await fsp.readdir(this.tmpDir)) {
        await fsp.rm(path.join(this.tmpDir, f), { force: true, recursive: true });
      }
    })();
    return this.ready;
  }

  private get tmpDir(): string {
    return path.join(this.root, 'tmp');
  }

  private get blobDir(): string {
    return path.join(this.root, 'sha256');
  }

  path(sha256: string): string {
    assertSha256(sha256);
    return path.join(this.blobDir, sha256.slice(0, 2), sha256);
  }

  async has(sha256: string): Promise<boolean> {
    const p = this.path(sha256);
    try {
      return (await fsp.stat(p)).isFile();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  open(sha256: string): Readable {
    return fs.createReadStream(this.path(sha256));
  }

  async *list(): AsyncIterable<string> {
    let shards: string[];
    try {
      shards = (await fsp.readdir(this.blobDir)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const shard of shards) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const f of (await fsp.readdir(path.join(this.blobDir, shard))).sort()) {
        if (SHA256_RE.test(f) && f.startsWith(shard)) yield f;
      }
    }
  }

  async put(stream: AsyncIterable<Buffer>, expect: PutExpectation): Promise<PutResult> {
    assertSha256(expect.sha256);
    if (!Number.isSafeInteger(expect.size) || expect.size < 0) throw new InvalidArgumentError(`invalid declared size ${expect.size}`);
    if (!Number.isSafeInteger(expect.maxBytes) || expect.maxBytes < 0) throw new InvalidArgumentError(`invalid maxBytes ${expect.maxBytes}`);
    if (expect.size > expect.maxBytes) {
      throw new ArtifactTooLargeError(`declared size ${expect.size} exceeds the limit of ${expect.maxBytes} bytes`);
    }
    await this.init();
    const tmp = path.join(this.tmpDir, `${randomUUID()}.part`);
    const fh = await fsp.open(tmp, 'wx', 0o644);
    let closed = false;
    let renamed = false;
    try {
      const hash = createHash('sha256');
      let size = 0;
      for await (const raw of stream) {
        const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as Uint8Array);
        size += chunk.length;
        if (size > expect.maxBytes) {
          throw new ArtifactTooLargeError(`artifact exceeds the limit of ${expect.maxBytes} bytes`);
        }
        if (size > expect.size) {
          throw new ArtifactMismatchError(`artifact is larger than its declared size of ${expect.size} bytes`);
        }
        hash.update(chunk);
        let off = 0;
        while (off < chunk.length) {
          const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
          off += bytesWritten;
        }
      }
      if (size !== expect.size) {
        throw new ArtifactMismatchError(`artifact has ${size} bytes, declared ${expect.size}`);
      }
      const sha256 = hash.digest('hex');
      if (sha256 !== expect.sha256) {
        throw new ArtifactMismatchError(`artifact sha256 is ${sha256}, declared ${expect.sha256}`);
      }
      await fh.sync();
      await fh.close();
      closed = true;

      const dest = this.path(sha256);
      if (await this.has(sha256)) return { sha256, size, existed: true };
      const shardDir = path.dirname(dest);
      let newShard = false;
      try {
        await fsp.mkdir(shardDir);
        newShard = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      if (newShard) await fsyncDir(this.blobDir);
      // Same name, same content: a concurrent put of the same bytes replacing ours is harmless.
      await fsp.rename(tmp, dest);
      renamed = true;
      await fsyncDir(shardDir);
      return { sha256, size, existed: false };
    } finally {
      if (!closed) await fh.close().catch(() => undefined);
      if (!renamed) await fsp.rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}
