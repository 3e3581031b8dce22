import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/** fsync a directory, so a rename or a new entry in it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const h = await fsp.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

export function fsyncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** A temp name beside `file` (same directory, so the rename stays on one filesystem), hidden and unique. */
function tempPath(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0o644). */
  mode?: number;
}

/**
 * Write `data` to `file` so that a reader (or a crash) sees the old content or the new, never a part:
 * a temp file beside it, written and fsynced, renamed over `file`, then the directory fsynced.
 * The temp file is removed if anything fails.
 */
export async function atomicWriteFile(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const tmp = tempPath(file);
  let renamed = false;
  try {
    const fh = await fsp.open(tmp, 'wx', opts.mode ?? 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
    renamed = true;
    await fsyncDir(path.dirname(file));
  } finally {
    if (!renamed) await fsp.rm(tmp, { force: true }).catch(() => undefined);
  }
}

/** atomicWriteFile, synchronously. */
export function atomicWriteFileSync(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const tmp = tempPath(file);
  let renamed = false;
  try {
    const fd = fs.openSync(tmp, 'wx', opts.mode ?? 0o644);
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    renamed = true;
    fsyncDirSync(path.dirname(file));
  } finally {
    if (!renamed) fs.rmSync(tmp, { force: true });
  }
}
