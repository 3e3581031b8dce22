// `ops model publish`: what it would register for a model bundle directory (no registry needed).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WORKSPACE_ROOT } from '@ranksafe/platform';
import { ModelKind } from '@ranksafe/proto';
import { modelBundleVersion, readManifest } from '@ranksafe/ranking-core';
import { publishPlan, seqrecTrainArgs } from './model';

const MODELS = path.join(WORKSPACE_ROOT, 'models');

describe('ops model publish: what it registers', () => {
  it('versions a variant as <variant>-<sha12 of its onnx file> and bundles only that variant', () => {
    const good = publishPlan(path.join(MODELS, 'minilm-l6-v2'), { variant: 'fp32' });
    expect(good.spec).toMatchObject({ name: 'minilm-l6-v2', version: expect.stringMatching(/^fp32-[0-9a-f]{12}$/), framework: 'onnx' });
    const m = readManifest(path.join(MODELS, 'minilm-l6-v2'));
    expect(good.spec.version).toBe(`fp32-${m.artifacts['model.fp32.onnx']!.sha256.slice(0, 12)}`);
    expect(modelBundleVersion(path.join(MODELS, 'minilm-l6-v2'), 'fp32')).toBe(good.spec.version); // what npm start seeds
    expect(good.files).toContain('model.fp32.onnx');
    expect(good.files).not.toContain('model.int8.onnx');
    expect(good.files).toEqual(expect.arrayContaining(['manifest.json', 'tokenizer.json', 'vocab.txt']));
    // the deliberately broken copy has the same name and another version: a rollout candidate
    const bad = publishPlan(path.join(MODELS, 'minilm-l6-v2-bad'), { variant: 'fp32' });
    expect(bad.spec.name).toBe('minilm-l6-v2');
    expect(bad.spec.version).toMatch(/^fp32-[0-9a-f]{12}$/);
    expect(bad.spec.version).not.toBe(good.spec.version);
    expect(publishPlan(path.join(MODELS, 'minilm-l6-v2'), { variant: 'int8', name: 'x', version: 'v1' }).spec).toMatchObject({ name: 'x', version: 'v1' });
    expect(() => publishPlan(path.join(MODELS, 'minilm-l6-v2'), { variant: 'fp16' })).toThrow(/no variant "fp16" \(has: fp32, int8\)/);
    expect(() => publishPlan(MODELS, { variant: 'int8' })).toThrow(/manifest\.json missing/);
  });
});

describe('ops model: a sequential recommender bundle (tools/seqrec)', () => {
  /** A bundle as tools/seqrec writes it (its manifest, vocab and run record; stand-in onnx bytes). */
  function seqrecBundle(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqrec-bundle-'));
    const files: Record<string, string> = { 'model.onnx': 'onnx-bytes', 'vocab.json': '["a","b","c"]', 'run.json': '{"seed":7}' };
    const artifacts: Record<string, { sha256: string; bytes: number }> = {};
    for (const [f, body] of Object.entries(files)) {
      fs.writeFileSync(path.join(dir, f), body);
      artifacts[f] = { sha256: crypto.createHash('sha256').update(body).digest('hex'), bytes: body.length };
    }
    const manifest = {
      name: 'beauty-sasrec',
      kind: 'sequential-recommender',
      framework: 'onnx',
      license: 'Apache-2.0',
      dims: 64,
      max_length: 50,
      inputs: ['item_ids'],
      output: 'scores',
      variants: { fp32: 'model.onnx' },
      artifacts,
      seqrec: {
        variant: 'sasrec',
        items: 3,
        vocab: 'vocab.json',
        metrics: { test: { full: { 'ndcg@10': 0.06, 'hr@10': 0.1 }, sampled: { 'ndcg@10': 0.4 } }, valid: { 'ndcg@10': 0.07 } },
        lineage: { dataset_sha256: 'ab'.repeat(32), attributes_sha256: null, seed: 7, hyperparameters: { dim: 64 }, run: 'run.json' },
      },
    };
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    return dir;
  }

  it('registers it as the sequential-recommender kind with its test metrics, signature and dataset hash; vocab and run record travel in the bundle', () => {
    const dir = seqrecBundle();
    const plan = publishPlan(dir, { variant: 'fp32' });
    expect(plan.spec).toMatchObject({
      name: 'beauty-sasrec',
      version: expect.stringMatching(/^fp32-[0-9a-f]{12}$/),
      kind: ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER,
      signature: { inputs: 'item_ids', output: 'scores', max_length: '50', items: '3', variant: 'sasrec' },
      metrics: { 'test_full_ndcg@10': 0.06, 'test_full_hr@10': 0.1, 'test_sampled_ndcg@10': 0.4 },
      lineage: { datasetSha256: 'ab'.repeat(32) },
    });
    expect(plan.spec.signature).not.toHaveProperty('pooling');
    expect(plan.files.sort()).toEqual(['manifest.json', 'model.onnx', 'run.json', 'vocab.json']);
    fs.rmSync(path.join(dir, 'vocab.json'));
    expect(() => publishPlan(dir, { variant: 'fp32' })).toThrow(/lacks vocab\.json/);
  });

  it('train-seqrec hands the tool absolute paths and passes --train options through', () => {
    const args = seqrecTrainArgs({ data: 'd.txt', out: 'out', name: 'n', register: true, train: ['--epochs', '3'] });
    expect(args).toEqual(['-m', 'seqrec', 'train', '--data', path.resolve('d.txt'), '--out', path.resolve('out'), '--name', 'n', '--epochs', '3']);
  });
});
