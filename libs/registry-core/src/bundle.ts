import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * A directory artifact (a model: manifest + ONNX + tokenizer; a catalog index) as one file the
 * registry can store and hash: "RSB1", a u32 header length, a JSON header listing every file
 * (name, size, sha256), then the files' bytes in that order.
 */
const MAGIC = Buffer.from('RSB1');
const NAME = /^[A-Za-z0-9][\w.-]{0,199}$/;

export interface BundleEntry {
  name: string;
  size: number;
  sha256: string;
}

/** Pack `files` (names inside `dir`) into `out`; returns the entries written. */
export function packBundle(dir: string, files: string[], out: string): BundleEntry[] {
  const entries = files.map((name) => {
    if (!NAME.test(name)) throw new Error(`cannot bundle "${name}": only plain file names are allowed`);
    const buf = fs.readFileSync(path.join(dir, name));
    return { name, size: buf.length, sha256: createHash('sha256').update(buf).digest('hex') };
  });
  const header = Buffer.from(JSON.stringify({ files: entries }));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(header.length);
  const tmp = `${out}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, MAGIC);
    fs.writeSync(fd, len);
    fs.writeSync(fd, header);
    for (const e of entries) fs.writeSync(fd, fs.readFileSync(path.join(dir, e.name)));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, out);
  return entries;
}

/**
 * Unpack a bundle into `outDir` (which must not exist yet): every file is checked against its
 * header's size and sha256, written under a temporary directory, which is renamed into place.
 */
export function unpackBundle(file: string, outDir: string): BundleEntry[] {
  const buf = fs.readFileSync(file);
  if (buf.length < 8 || !buf.subarray(0, 4).equals(MAGIC)) throw new Error(`${file} is not a ranksafe bundle`);
  const hlen = buf.readUInt32BE(4);
  const { files } = JSON.parse(buf.subarray(8, 8 + hlen).toString('utf8')) as { files: BundleEntry[] };
  const tmp = `${outDir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    let off = 8 + hlen;
    for (const e of files) {
      if (!NAME.test(e.name)) throw new Error(`bundle ${file} holds an unsafe file name "${e.name}"`);
      const bytes = buf.subarray(off, off + e.size);
      off += e.size;
      if (bytes.length !== e.size) throw new Error(`bundle ${file} is truncated at ${e.name}`);
      const got = createHash('sha256').update(bytes).digest('hex');
      if (got !== e.sha256) throw new Error(`bundle ${file}: ${e.name} hashes to ${got}, its header says ${e.sha256}`);
      fs.writeFileSync(path.join(tmp, e.name), bytes);
    }
    if (off !== buf.length) throw new Error(`bundle ${file} has ${buf.length - off} trailing bytes`);
    try {
      fs.renameSync(tmp, outDir);
    } catch (e) {
      // Another process unpacked the same content first: theirs is as good as ours.
      if (!fs.existsSync(path.join(outDir, files[0]?.name ?? ''))) throw e;
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    return files;
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
