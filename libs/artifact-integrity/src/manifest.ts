import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileDigestSync } from './digest';
import { ArtifactIntegrityError } from './errors';

/** One file of a manifest: its sha256 and, when recorded, its size in bytes. */
export interface ManifestEntry {
  sha256: string;
  bytes?: number;
}

/** The part of a manifest.json (model directory, catalog index …) that integrity checks read: file name → digest. */
export interface ArtifactManifest {
  artifacts: Record<string, ManifestEntry>;
}

/** Digest the named files of `dir` into manifest entries (sha256 + bytes), in the order given. */
export function describeFiles(dir: string, names: string[]): Record<string, Required<ManifestEntry>> {
  const out: Record<string, Required<ManifestEntry>> = {};
  for (const name of names) {
    const d = fileDigestSync(path.join(dir, name));
    out[name] = { sha256: d.sha256, bytes: d.size };
  }
  return out;
}

/**
 * The path of `name` in `dir` once its bytes are checked against `manifest` (sha256, then size when
 * recorded); ArtifactIntegrityError naming the file, the expected and the actual value when they differ.
 */
export function verifiedArtifact(dir: string, manifest: ArtifactManifest, name: string): string {
  const want = manifest.artifacts[name];
  if (!want) throw new ArtifactIntegrityError(`${name} is not listed in ${path.join(dir, 'manifest.json')}`, { file: path.join(dir, name) });
  const file = path.join(dir, name);
  // A listed file that cannot be read fails with its own fs error (ENOENT …), as the loaders always did.
  const got = fileDigestSync(file);
  if (got.sha256 !== want.sha256) {
    throw new ArtifactIntegrityError(
      `${file} has sha256 ${got.sha256}, but its manifest says ${want.sha256}: refusing to load a tampered or corrupt artifact`,
      {
        file,
        expected: want.sha256,
        actual: got.sha256,
      },
    );
  }
  if (want.bytes !== undefined && got.size !== want.bytes) {
    throw new ArtifactIntegrityError(`${file} has ${got.size} bytes, but its manifest says ${want.bytes}: refusing to load a tampered or corrupt artifact`, {
      file,
      expected: String(want.bytes),
      actual: String(got.size),
    });
  }
  return file;
}

/** Check every file `manifest` lists in `dir`; the first that fails throws ArtifactIntegrityError. */
export function verifyManifest(dir: string, manifest: ArtifactManifest): void {
  for (const name of Object.keys(manifest.artifacts).sort()) verifiedArtifact(dir, manifest, name);
}

/** `dir/manifest.json`, parsed and shaped like a manifest (it lists artifacts), or ArtifactIntegrityError. */
function readManifest<M extends ArtifactManifest>(dir: string): M {
  const file = path.join(dir, 'manifest.json');
  let m: M;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as M;
  } catch (e) {
    throw new ArtifactIntegrityError(`cannot read ${file} (${(e as Error).message})`, { file });
  }
  if (!m || typeof m !== 'object' || !m.artifacts || typeof m.artifacts !== 'object') throw new ArtifactIntegrityError(`${file} lists no artifacts`, { file });
  return m;
}

/** Read `dir/manifest.json` and verify every file it lists; returns the manifest. */
export function readVerifiedManifest<M extends ArtifactManifest>(dir: string): M {
  const m = readManifest<M>(dir);
  verifyManifest(dir, m);
  return m;
}

/**
 * Check an unpacked copy (a consumer's cache entry of a registry bundle, which carries one variant
 * of a manifest that may list more): `dir/manifest.json` must be readable, and every file it lists
 * that is present must match it. ArtifactIntegrityError naming the first that does not.
 */
export function verifyUnpackedCopy(dir: string): void {
  const m = readManifest(dir);
  for (const name of Object.keys(m.artifacts).sort()) if (fs.existsSync(path.join(dir, name))) verifiedArtifact(dir, m, name);
}
