import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArtifactIntegrityError } from '@ranksafe/artifact-integrity';

/** manifest.json written by tools/model next to the artifacts it describes. */
export interface ModelManifest {
  name: string;
  kind: 'bi-encoder' | 'cross-encoder' | 'sequential-recommender';
  framework: 'onnx';
  dims: number;
  max_length: number;
  /** Encoders only. */
  pooling?: 'mean+l2';
  inputs: string[];
  output: string;
  variants: Record<string, string>;
  license: string;
  artifacts: Record<string, { sha256: string; bytes: number }>;
  /** Sequential recommenders (tools/seqrec): the item vocabulary, test metrics and lineage of the run that trained it. */
  seqrec?: SeqrecManifest;
}

export interface SeqrecManifest {
  variant: 'sasrec' | 'bert4rec';
  items: number;
  /** A JSON array of item ids: column j of the scores is vocab[j]; input id i (1-based) is vocab[i - 1]. */
  vocab: string;
  metrics: { test: { full: Record<string, number>; sampled?: Record<string, number> }; valid: Record<string, number> };
  lineage: { dataset_sha256: string; attributes_sha256: string | null; seed: number; hyperparameters: Record<string, unknown>; run: string };
}

/**
 * What the registry records for one variant of a model directory, from its manifest alone: name,
 * version (modelBundleVersion), kind (the manifest's word), signature, metrics (a sequential
 * recommender's test metrics, `test_full_ndcg@10` …) and the dataset hash of its lineage.
 */
export function modelBundleSpec(dir: string, variant: string) {
  const m = readManifest(dir);
  const signature: Record<string, string> = { inputs: m.inputs.join(','), output: m.output, dims: String(m.dims), max_length: String(m.max_length) };
  if (m.pooling) signature['pooling'] = m.pooling;
  const metrics: Record<string, number> = {};
  if (m.seqrec) {
    signature['items'] = String(m.seqrec.items);
    signature['variant'] = m.seqrec.variant;
    for (const [split, r] of Object.entries(m.seqrec.metrics.test)) for (const [k, v] of Object.entries(r ?? {})) metrics[`test_${split}_${k}`] = v;
  }
  return {
    name: m.name,
    version: modelBundleVersion(dir, variant),
    kind: m.kind,
    framework: m.framework,
    signature,
    metrics,
    datasetSha256: m.seqrec?.lineage.dataset_sha256 ?? '',
    license: m.license,
  };
}

// Integrity lives in one lib; re-exported so the engines' callers keep one import.
export { ArtifactIntegrityError };
export { sha256File, verifiedArtifact } from '@ranksafe/artifact-integrity';

export function readManifest(dir: string): ModelManifest {
  const file = path.join(dir, 'manifest.json');
  if (!fs.existsSync(file)) {
    throw new Error(`no model at ${dir} (manifest.json missing); build it with 'npm run setup' (tools/model/build_minilm.py)`);
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as ModelManifest;
}

/** The artifact file of one variant of a manifest, or an error naming the variants it has. */
export function variantFile(m: ModelManifest, variant: string): string {
  const file = m.variants[variant];
  if (!file) throw new Error(`model ${m.name} has no variant "${variant}" (has: ${Object.keys(m.variants).join(', ')})`);
  return file;
}

/** The files that make up one variant of a model directory: manifest.json and every artifact except the other variants. */
export function modelBundleFiles(dir: string, variant: string): string[] {
  const m = readManifest(dir);
  variantFile(m, variant);
  const others = new Set(
    Object.entries(m.variants)
      .filter(([v]) => v !== variant)
      .map(([, f]) => f),
  );
  return ['manifest.json', ...Object.keys(m.artifacts).filter((f) => !others.has(f))];
}

/**
 * The registry version of one variant of a model directory: `<variant>-<first 12 hex of its onnx
 * file's sha256>` as the manifest declares it (what `npm start` seeds and `ops model publish` registers).
 */
export function modelBundleVersion(dir: string, variant: string): string {
  const m = readManifest(dir);
  const file = variantFile(m, variant);
  const sha = m.artifacts[file]?.sha256;
  if (!sha) throw new ArtifactIntegrityError(`${file} is not listed in ${path.join(dir, 'manifest.json')}`);
  return `${variant}-${sha.slice(0, 12)}`;
}

/**
 * The variant to load from `dir`: `wanted` when its artifact is there; otherwise, for a bundle
 * that carries a single variant (as the registry holds them), that one. Also returns the artifact's
 * sha256 as the manifest declares it (verified again when the encoder loads).
 */
export function pickVariant(dir: string, wanted: string, explicit = false): { variant: string; sha256: string; manifest: ModelManifest } {
  const m = readManifest(dir);
  const present = Object.entries(m.variants).filter(([, f]) => fs.existsSync(path.join(dir, f)));
  const hit = present.find(([v]) => v === wanted);
  const chosen = hit ?? (!explicit && present.length === 1 ? present[0] : undefined);
  if (!chosen) {
    throw new Error(`model ${m.name} at ${dir} has no "${wanted}" artifact (present: ${present.map(([v]) => v).join(', ') || 'none'})`);
  }
  const sha = m.artifacts[chosen[1]]?.sha256;
  if (!sha) throw new ArtifactIntegrityError(`${chosen[1]} is not listed in ${path.join(dir, 'manifest.json')}`);
  return { variant: chosen[0], sha256: sha, manifest: m };
}
