// `ops model publish`: what it would register for a model bundle directory (no registry needed).
import * as path from 'node:path';
import { WORKSPACE_ROOT } from '@ranksafe/platform';
import { modelBundleVersion, readManifest } from '@ranksafe/ranking-core';
import { publishPlan } from './model';

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
