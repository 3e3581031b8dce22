import { sha256File } from '@ranksafe/registry-core';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** manifest.json written by tools/model next to the artifacts it describes. */
export interface ModelManifest {
  name: string;
  kind: 'bi-encoder' | 'cross-encoder' | 'sequential-recommender';
  framework: 'onnx';
  dims: number;
  max_length: number;
  pooling: 'mean+l2';
  inputs: string[];
  output: string;
  variants: Record<string, string>;
  license: string;
  artifacts: Record<string, { sha256: string; bytes: number }>;
}

export { sha256File };

/** An artifact whose bytes are not what its manifest says: never load it. */
export class ArtifactIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArtifactIntegrityError';
  }
}

export function readManifest(dir: string): ModelManifest {
  const file = path.join(dir, 'manifest.json');
  if (!fs.existsSync(file)) {
    throw new Error(`no model at ${dir} (manifest.json missing); build it with 'npm run setup' (tools/model/build_minilm.py)`);
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as ModelManifest;
}

/** Read `name` from `dir` after checking its sha256 against the manifest. */
export function verifiedArtifact(dir: string, manifest: { artifacts: Record<string, { sha256: string }> }, name: string): string {
  const want = manifest.artifacts[name];
  if (!want) throw new ArtifactIntegrityError(`${name} is not listed in ${path.join(dir, 'manifest.json')}`);
  const file = path.join(dir, name);
  const got = sha256File(file);
  if (got !== want.sha256) {
    throw new ArtifactIntegrityError(`${file} has sha256 ${got}, but its manifest says ${want.sha256}: refusing to load a tampered or corrupt artifact`);
  }
  return file;
}

/** The files that make up one variant of a model directory: manifest.json and every artifact except the other variants. */
export function modelBundleFiles(dir: string, variant: string): string[] {
  const m = readManifest(dir);
  if (!m.variants[variant]) throw new Error(`model ${m.name} has no variant "${variant}" (has: ${Object.keys(m.variants).join(', ')})`);
  const others = new Set(Object.entries(m.variants).filter(([v]) => v !== variant).map(([, f]) => f));
  return ['manifest.json', ...Object.keys(m.artifacts).filter((f) => !others.has(f))];
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
