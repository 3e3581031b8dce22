import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import {
  ArtifactIntegrityError,
  atomicWriteFile,
  atomicWriteFileSync,
  describeFiles,
  fileDigest,
  fileDigestSync,
  readVerifiedManifest,
  sha256File,
  verifiedArtifact,
  verifyManifest,
  type ArtifactManifest,
} from './index';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'artifact-integrity-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A directory with two artifacts and the manifest.json that describes them. */
function artifactDir(): ArtifactManifest {
  // Larger than one 1 MiB read block, so the streaming paths hash more than one chunk.
  fs.writeFileSync(path.join(dir, 'model.onnx'), Buffer.alloc(3 * (1 << 20) + 17, 7));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{"vocab":{}}');
  const manifest = { name: 'm', artifacts: describeFiles(dir, ['model.onnx', 'tokenizer.json']) };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  return manifest;
}

function caught(f: () => unknown): ArtifactIntegrityError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ArtifactIntegrityError);
    return e as ArtifactIntegrityError;
  }
  throw new Error('expected an ArtifactIntegrityError');
}

describe('digests', () => {
  it('sync and streaming digests agree with a one-shot hash, across read blocks', async () => {
    const bytes = Buffer.alloc(2 * (1 << 20) + 3);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
    const f = path.join(dir, 'blob');
    fs.writeFileSync(f, bytes);
    expect(sha256File(f)).toBe(sha(bytes));
    expect(fileDigestSync(f)).toEqual({ sha256: sha(bytes), size: bytes.length });
    expect(await fileDigest(f)).toEqual({ sha256: sha(bytes), size: bytes.length });
  });
});

describe('verified manifest', () => {
  it('passes untouched files and returns their path', () => {
    const m = artifactDir();
    expect(verifiedArtifact(dir, m, 'model.onnx')).toBe(path.join(dir, 'model.onnx'));
    expect(() => verifyManifest(dir, m)).not.toThrow();
    expect(Object.keys(readVerifiedManifest(dir).artifacts)).toEqual(['model.onnx', 'tokenizer.json']);
  });

  it('a tampered file fails with an error naming the file, the expected and the actual sha256', () => {
    const m = artifactDir();
    const f = path.join(dir, 'model.onnx');
    const fd = fs.openSync(f, 'r+');
    fs.writeSync(fd, Buffer.from([8]), 0, 1, 1 << 20); // one byte flipped, size unchanged
    fs.closeSync(fd);
    const e = caught(() => verifyManifest(dir, m));
    expect(e.file).toBe(f);
    expect(e.expected).toBe(m.artifacts['model.onnx']!.sha256);
    expect(e.actual).toBe(sha256File(f));
    expect(e.actual).not.toBe(e.expected);
    expect(e.message).toBe(`${f} has sha256 ${e.actual}, but its manifest says ${e.expected}: refusing to load a tampered or corrupt artifact`);
    expect(e.name).toBe('ArtifactIntegrityError');
    expect(() => readVerifiedManifest(dir)).toThrow(ArtifactIntegrityError);
    // The other file is still fine on its own.
    expect(verifiedArtifact(dir, m, 'tokenizer.json')).toBe(path.join(dir, 'tokenizer.json'));
  });

  it('a file the manifest does not list is refused', () => {
    const m = artifactDir();
    fs.writeFileSync(path.join(dir, 'extra.bin'), 'x');
    const e = caught(() => verifiedArtifact(dir, m, 'extra.bin'));
    expect(e.message).toBe(`extra.bin is not listed in ${path.join(dir, 'manifest.json')}`);
  });

  it('a recorded size that differs is refused even when the hash matches', () => {
    const m = artifactDir();
    const wrong: ArtifactManifest = { artifacts: { ...m.artifacts, 'tokenizer.json': { ...m.artifacts['tokenizer.json']!, bytes: 999 } } };
    const e = caught(() => verifiedArtifact(dir, wrong, 'tokenizer.json'));
    expect(e).toMatchObject({ file: path.join(dir, 'tokenizer.json'), expected: '999', actual: String('{"vocab":{}}'.length) });
  });

  it('an unreadable manifest.json is an integrity error', () => {
    fs.writeFileSync(path.join(dir, 'manifest.json'), '{not json');
    expect(() => readVerifiedManifest(dir)).toThrow(ArtifactIntegrityError);
  });
});

describe('atomic write', () => {
  it('replaces the content and leaves no temp file behind', async () => {
    const f = path.join(dir, 'CURRENT');
    await atomicWriteFile(f, 'v1\n');
    atomicWriteFileSync(f, 'v2\n');
    await atomicWriteFile(f, Buffer.from('v3\n'));
    expect(fs.readFileSync(f, 'utf8')).toBe('v3\n');
    expect(fs.readdirSync(dir)).toEqual(['CURRENT']);
  });

  it('a failed write keeps the old content and leaves no temp file behind', async () => {
    const f = path.join(dir, 'manifest.json');
    await atomicWriteFile(f, 'old');
    // The target is replaced by a non-empty directory: the rename over it fails after the temp file was written.
    fs.renameSync(f, path.join(dir, 'saved'));
    fs.mkdirSync(f);
    fs.writeFileSync(path.join(f, 'inside'), 'x');
    await expect(atomicWriteFile(f, 'new')).rejects.toThrow();
    expect(() => atomicWriteFileSync(f, 'new')).toThrow();
    expect(fs.readdirSync(dir).sort()).toEqual(['manifest.json', 'saved']);
    expect(fs.readFileSync(path.join(dir, 'saved'), 'utf8')).toBe('old');
  });
});
