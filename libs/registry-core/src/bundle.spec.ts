import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packBundle, unpackBundle } from './bundle';

describe('artifact bundles', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-'));
    fs.mkdirSync(path.join(dir, 'src'));
    fs.writeFileSync(path.join(dir, 'src', 'manifest.json'), '{"name":"m"}');
    fs.writeFileSync(path.join(dir, 'src', 'model.onnx'), Buffer.from([1, 2, 3, 4, 5]));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('round-trips a directory, every file verified', () => {
    const entries = packBundle(path.join(dir, 'src'), ['manifest.json', 'model.onnx'], path.join(dir, 'b'));
    expect(entries.map((e) => e.name)).toEqual(['manifest.json', 'model.onnx']);
    unpackBundle(path.join(dir, 'b'), path.join(dir, 'out'));
    expect(fs.readFileSync(path.join(dir, 'out', 'model.onnx'))).toEqual(Buffer.from([1, 2, 3, 4, 5]));
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('refuses changed bytes and leaves nothing behind', () => {
    packBundle(path.join(dir, 'src'), ['manifest.json', 'model.onnx'], path.join(dir, 'b'));
    const b = fs.readFileSync(path.join(dir, 'b'));
    b[b.length - 1] = 99;
    fs.writeFileSync(path.join(dir, 'b'), b);
    expect(() => unpackBundle(path.join(dir, 'b'), path.join(dir, 'out'))).toThrow(/model\.onnx hashes to/);
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
  });

  it('refuses names that could leave the directory', () => {
    expect(() => packBundle(path.join(dir, 'src'), ['../etc/passwd'], path.join(dir, 'b'))).toThrow(/plain file names/);
  });
});
