// `npm start` step: make sure the model registry holds the served model and the catalog index,
// and that their production aliases exist (set only when missing: moving production is a rollout).
//   node --import tsx infra/stack/seed-registry.ts --registry HOST:PORT --index <index root or dir>
//        [--model-dir models/minilm-l6-v2] [--variant int8] [--index-name demo-catalog] [--known-bad-dir models/minilm-l6-v2-bad]
//        [--recommender-dir <a sequential-recommender bundle>] [--known-bad-recommender-dir <its untrained twin>]
// It also publishes the deliberately broken builds (when built) under the alias known-bad: the bad-model-rollout
// and bad-recommender-rollout drills roll them out.
// The admin token comes from ADMIN_TOKEN.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ModelKind } from '@ranksafe/proto';
import { WORKSPACE_ROOT } from '@ranksafe/platform';
import { modelBundleFiles, modelBundleSpec, readManifest } from '@ranksafe/ranking-core';
import { modelKindOf, publishDirectory, RegistryClient } from '@ranksafe/registry-client';
import { readIndexManifest } from '@ranksafe/retrieval-core';

/** A model directory's variant as the registry takes it: the spec from its manifest, the bundle's files. */
function modelBundle(dir: string, variant: string, lineage: { source: string; datasetSha256: string; parentVersion: string }) {
  const { name, version, kind, framework, signature, metrics } = modelBundleSpec(dir, variant);
  return {
    spec: { name, version, kind: modelKindOf(kind, dir), framework, signature, metrics, lineage },
    dir,
    files: modelBundleFiles(dir, variant),
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      registry: { type: 'string' },
      index: { type: 'string' },
      'model-dir': { type: 'string', default: path.join(WORKSPACE_ROOT, 'models', 'minilm-l6-v2') },
      'known-bad-dir': { type: 'string', default: path.join(WORKSPACE_ROOT, 'models', 'minilm-l6-v2-bad') },
      variant: { type: 'string', default: 'int8' },
      'index-name': { type: 'string', default: 'demo-catalog' },
      'recommender-dir': { type: 'string' },
      'known-bad-recommender-dir': { type: 'string' },
    },
  });
  const token = process.env.ADMIN_TOKEN;
  if (!values.registry || !values.index || !token) throw new Error('usage: ADMIN_TOKEN=… seed-registry.ts --registry HOST:PORT --index DIR');
  const t0 = Date.now();
  const registry = new RegistryClient(values.registry, { token, actor: 'npm-start' });
  try {
    const modelDir = values['model-dir'];
    const m = readManifest(modelDir);
    const served = modelBundle(modelDir, values.variant, { source: `tools/model/build_minilm.py (${m.license})`, datasetSha256: '', parentVersion: '' });
    const modelVersion = served.spec.version;
    const model = await publishDirectory(registry, { ...served, alias: 'production' });

    // The known-bad candidate the bad-model-rollout drill rolls out (alias known-bad): the deliberately
    // broken build (tools/model/make_bad_variant.py, npm run setup), when it was built.
    let knownBad = '';
    const badDir = values['known-bad-dir'];
    if (badDir && fs.existsSync(path.join(badDir, 'manifest.json'))) {
      const candidate = modelBundle(badDir, 'int8', {
        source: 'tools/model/make_bad_variant.py (deliberately broken: for drills and gate tests, never serve it)',
        datasetSha256: '',
        parentVersion: modelVersion,
      });
      const bad = await publishDirectory(registry, { ...candidate, alias: 'known-bad' });
      knownBad = `; known-bad ${candidate.spec.name}/${candidate.spec.version} ${bad.uploaded ? 'uploaded' : 'already registered'}`;
    }

    // The demo's sequential recommender (trained at start on the served catalog's histories), with production.
    let recommender = '';
    const recDir = values['recommender-dir'];
    if (recDir) {
      const rm = readManifest(recDir);
      const rec = modelBundle(recDir, 'fp32', {
        source: `tools/seqrec light on the served catalog's histories (${rm.license})`,
        datasetSha256: rm.seqrec?.lineage.dataset_sha256 ?? '',
        parentVersion: '',
      });
      const r = await publishDirectory(registry, { ...rec, alias: 'production' });
      recommender = `; ${rec.spec.name}/${rec.spec.version} ${r.uploaded ? 'uploaded' : 'already registered'}${r.aliasSet ? ', production alias set' : ''}`;
      const badRecDir = values['known-bad-recommender-dir'];
      if (badRecDir && fs.existsSync(path.join(badRecDir, 'manifest.json'))) {
        const bad = modelBundle(badRecDir, 'fp32', {
          source: 'tools/seqrec light, untrained (random weights): deliberately broken, for drills and gate tests; never serve it',
          datasetSha256: '',
          parentVersion: rec.spec.version,
        });
        const b = await publishDirectory(registry, { ...bad, alias: 'known-bad' });
        recommender += `; known-bad ${bad.spec.name}/${bad.spec.version} ${b.uploaded ? 'uploaded' : 'already registered'}`;
      }
    }

    const { dir: indexDir, manifest: im } = readIndexManifest(path.resolve(values.index));
    const index = await publishDirectory(registry, {
      spec: {
        name: values['index-name'],
        version: im.version,
        kind: ModelKind.MODEL_KIND_CATALOG_INDEX,
        framework: 'ranksafe-catalog-index-1',
        signature: {
          products: String(im.products),
          users: String(im.users),
          dims: String(im.dims),
          embedding_model: `${im.embedding_model.name}/${im.embedding_model.variant}`,
        },
        metrics: {},
        lineage: { source: im.source, datasetSha256: im.artifacts['catalog.jsonl']?.sha256 ?? '', parentVersion: '' },
      },
      dir: indexDir,
      files: ['manifest.json', ...Object.keys(im.artifacts)],
      alias: 'production',
    });
    const what = (u: boolean, a: boolean) => `${u ? 'uploaded' : 'already registered'}${a ? ', production alias set' : ''}`;
    console.log(
      `  registry: ${m.name}/${modelVersion} ${what(model.uploaded, model.aliasSet)}; ${values['index-name']}/${im.version} ${what(index.uploaded, index.aliasSet)}${knownBad}${recommender} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
  } finally {
    registry.close();
  }
}

main().catch((e) => {
  console.error(`seed-registry: ${(e as Error).message}`);
  process.exit(1);
});
