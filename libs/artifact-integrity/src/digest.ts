import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

/** A file's sha256 (lowercase hex) and size in bytes. */
export interface FileDigest {
  sha256: string;
  size: number;
}

const BLOCK = 1 << 20;

/** sha256 and size of a file, read in 1 MiB blocks (never the whole file in memory), synchronously. */
export function fileDigestSync(file: string): FileDigest {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  let size = 0;
  try {
    const buf = Buffer.allocUnsafe(BLOCK);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) {
      h.update(buf.subarray(0, n));
      size += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return { sha256: h.digest('hex'), size };
}

/** sha256 (hex) of a file's bytes, read in 1 MiB blocks. */
export function sha256File(file: string): string {
  return fileDigestSync(file).sha256;
}

/** sha256 and size of a file, streamed (the event loop keeps running while large files hash). */
export async function fileDigest(file: string): Promise<FileDigest> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: BLOCK })) {
    size += (chunk as Buffer).length;
    h.update(chunk as Buffer);
  }
  return { sha256: h.digest('hex'), size };
}
