// The real all-MiniLM-L6-v2 ONNX models built by tools/model (npm test builds them first),
// checked against the independent numpy forward pass and the HF Rust tokenizer of reference.json.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WORKSPACE_ROOT } from '@ranksafe/platform';
import { ArtifactIntegrityError } from '@ranksafe/artifact-integrity';
import { BertEncoder, dot } from './encoder';

const MODEL_DIR = path.join(WORKSPACE_ROOT, 'models', 'minilm-l6-v2');
const reference = () =>
  JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'reference.json'), 'utf8')) as { sentences: string[]; token_ids: number[][]; embeddings: number[][] };

describe('BertEncoder (all-MiniLM-L6-v2)', () => {
  let fp32: BertEncoder;
  let int8: BertEncoder;
  beforeAll(async () => {
    fp32 = await BertEncoder.load(MODEL_DIR, { variant: 'fp32', intraOpThreads: 1 });
    int8 = await BertEncoder.load(MODEL_DIR, { variant: 'int8', intraOpThreads: 1 });
  });
  afterAll(async () => {
    await fp32?.dispose();
    await int8?.dispose();
  });

  it('tokenizes exactly like the HF tokenizers library', () => {
    const ref = reference();
    expect(fp32.tokenize(ref.sentences).ids).toEqual(ref.token_ids);
  });

  it('embeds like the numpy reference forward pass (fp32: cosine > 0.9999)', async () => {
    const ref = reference();
    const emb = await fp32.encode(ref.sentences);
    emb.forEach((e, i) => {
      expect(e).toHaveLength(384);
      expect(dot(e, e)).toBeCloseTo(1, 5);
      expect(dot(e, ref.embeddings[i]!)).toBeGreaterThan(0.9999);
    });
  });

  it('keeps int8 within cosine 0.98 of fp32 and preserves which texts are similar', async () => {
    const ref = reference();
    const a = await fp32.encode(ref.sentences);
    const b = await int8.encode(ref.sentences);
    a.forEach((e, i) => expect(dot(e, b[i]!)).toBeGreaterThan(0.98));
    // "eating food" is closer to "eating bread" than to "carrying a baby", in both variants.
    for (const e of [a, b]) expect(dot(e[0]!, e[1]!)).toBeGreaterThan(dot(e[0]!, e[2]!) + 0.3);
  });

  it('gives the same embedding alone and inside a padded batch', async () => {
    const texts = ['oak table', 'a much longer product description of a solid walnut dining table with extendable leaves'];
    const [alone] = await fp32.encode([texts[0]!]);
    const [batched] = await fp32.encode(texts);
    expect(dot(alone!, batched!)).toBeGreaterThan(0.99999);
  });

  it('runs large inputs in length-sorted chunks and returns vectors in input order', async () => {
    const texts = Array.from({ length: 21 }, (_, i) => `${'very '.repeat((i * 7) % 13)}comfortable chair number ${i}`);
    const together = await fp32.encode(texts);
    expect(together).toHaveLength(21);
    for (const i of [0, 5, 13, 20]) {
      const [alone] = await fp32.encode([texts[i]!]);
      expect(dot(alone!, together[i]!)).toBeGreaterThan(0.99999);
    }
  });

  it('truncates long texts to its token limit', () => {
    const long = 'table '.repeat(1000);
    const t = fp32.tokenize([long]);
    expect(t.seqLen).toBe(256);
    expect(t.ids[0]![255]).toBe(102); // [SEP] stays last
  });

  it('handles an empty batch and empty text', async () => {
    expect(await fp32.encode([])).toEqual([]);
    const [e] = await fp32.encode(['']);
    expect(dot(e!, e!)).toBeCloseTo(1, 5);
  });

  it('refuses a tampered artifact before loading it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-model-'));
    try {
      for (const f of fs.readdirSync(MODEL_DIR))
        if (!f.endsWith('.onnx') || f === 'model.int8.onnx') fs.copyFileSync(path.join(MODEL_DIR, f), path.join(dir, f));
      const bytes = fs.readFileSync(path.join(dir, 'model.int8.onnx'));
      bytes[bytes.length - 100] ^= 0xff;
      fs.writeFileSync(path.join(dir, 'model.int8.onnx'), bytes);
      await expect(BertEncoder.load(dir, { variant: 'int8' })).rejects.toThrow(ArtifactIntegrityError);
      await expect(BertEncoder.load(dir, { variant: 'int8' })).rejects.toThrow(/refusing to load a tampered or corrupt artifact/);
      await expect(BertEncoder.load(dir, { variant: 'fp16' })).rejects.toThrow(/has no variant "fp16"/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says clearly when CUDA is asked for where it is missing, or falls back when allowed', async () => {
    const warnings: string[] = [];
    let enc: BertEncoder | undefined;
    try {
      enc = await BertEncoder.load(MODEL_DIR, { variant: 'int8', executionProvider: 'cuda', cudaFallbackToCpu: true, onWarning: (w) => warnings.push(w) });
    } catch (e) {
      throw new Error(`fall-back failed: ${(e as Error).message}`);
    }
    if (enc.executionProvider === 'cpu') {
      expect(warnings[0]).toMatch(/CUDA execution provider unavailable .*falling back to cpu/);
      expect([enc.requestedExecutionProvider, enc.fallbackReason]).toEqual(['cuda', expect.stringMatching(/^CUDA execution provider unavailable/)]);
      await expect(BertEncoder.load(MODEL_DIR, { variant: 'int8', executionProvider: 'cuda' })).rejects.toThrow(
        /the CUDA execution provider is not available here/,
      );
    } else {
      expect(enc.executionProvider).toBe('cuda'); // a machine with CUDA: nothing to fall back from
      expect([enc.requestedExecutionProvider, enc.fallbackReason]).toEqual(['cuda', '']);
    }
    await enc.dispose();
  });
});
