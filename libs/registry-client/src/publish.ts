import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelKind } from '@ranksafe/proto';
import { packBundle } from '@ranksafe/registry-core';
import { AliasConflictError, type RegistryClient, type RegisterSpec } from './client';

/** The registry's model kinds by the word a model manifest (and ops) uses for them. */
export const MODEL_KINDS: Record<string, ModelKind> = {
  'bi-encoder': ModelKind.MODEL_KIND_BI_ENCODER,
  'cross-encoder': ModelKind.MODEL_KIND_CROSS_ENCODER,
  'sequential-recommender': ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER,
  'catalog-index': ModelKind.MODEL_KIND_CATALOG_INDEX,
};

/** The kind a manifest names, or an error listing the known ones. */
export function modelKindOf(word: string, where: string): ModelKind {
  const kind = MODEL_KINDS[word];
  if (kind === undefined) throw new Error(`${where}: manifest kind "${word}" is not one of ${Object.keys(MODEL_KINDS).join(', ')}`);
  return kind;
}

/**
 * Make sure `name`/`version` exists in the registry, bundling `files` of `dir` and uploading them
 * when it does not; then point `alias` at it unless the alias already exists (it is never moved
 * here: moving production is a rollout). Returns whether anything was uploaded. The client's
 * actor is what the audit log records.
 */
export async function publishDirectory(
  client: RegistryClient,
  o: { spec: RegisterSpec; dir: string; files: string[]; alias?: string; reason?: string },
): Promise<{ uploaded: boolean; aliasSet: boolean }> {
  let uploaded = false;
  if (!(await client.exists(o.spec.name, o.spec.version))) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ranksafe-bundle-'));
    try {
      const bundle = path.join(tmp, 'artifact.bundle');
      packBundle(o.dir, o.files, bundle);
      await client.register(o.spec, bundle);
      uploaded = true;
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  let aliasSet = false;
  if (o.alias) {
    try {
      await client.setAlias({ name: o.spec.name, alias: o.alias, version: o.spec.version, expectedVersion: '', reason: o.reason ?? 'seeded by npm start' });
      aliasSet = true;
    } catch (e) {
      if (!(e instanceof AliasConflictError)) throw e; // already set: leave it
    }
  }
  return { uploaded, aliasSet };
}
