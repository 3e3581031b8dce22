// Build a versioned catalog index (products, user histories, embeddings, HNSW graph, manifest).
//   node --import tsx tools/data/build-index.ts --catalog <catalog.jsonl|csv> [--users users.jsonl]
//        --out <index root> [--model-dir models/minilm-l6-v2] [--variant int8] [--no-publish]
// The index lands in <out>/<version>/ and <out>/CURRENT points at it (unless --no-publish).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { WORKSPACE_ROOT } from '@ranksafe/platform';
import { buildCatalogIndex, readCatalog, readUsers } from '@ranksafe/retrieval-core';

async function main() {
  const { values } = parseArgs({
    options: {
      catalog: { type: 'string' },
      users: { type: 'string' },
      out: { type: 'string' },
      'model-dir': { type: 'string', default: path.join(WORKSPACE_ROOT, 'models', 'minilm-l6-v2') },
      variant: { type: 'string', default: 'int8' },
      'no-publish': { type: 'boolean', default: false },
      'description-words': { type: 'string' },
    },
  });
  if (!values.catalog || !values.out) throw new Error('usage: build-index.ts --catalog FILE [--users FILE] --out DIR [--model-dir DIR] [--variant int8|fp32] [--no-publish]');
  const t0 = Date.now();
  const products = readCatalog(values.catalog);
  const usersFile = values.users ?? path.join(path.dirname(values.catalog), 'users.jsonl');
  const users = fs.existsSync(usersFile) ? readUsers(usersFile) : [];
  let lastPct = -1;
  const { dir, manifest } = await buildCatalogIndex({
    products,
    users,
    out: values.out,
    modelDir: values['model-dir'],
    variant: values.variant,
    descriptionWords: values['description-words'] === undefined ? undefined : Number(values['description-words']),
    source: path.resolve(values.catalog),
    publish: !values['no-publish'],
    onProgress: (done, total) => {
      const pct = Math.floor((100 * done) / total);
      if (pct >= lastPct + 10 || done === total) {
        lastPct = pct;
        process.stdout.write(`embedding products: ${done}/${total} (${pct}%, ${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
      }
    },
  });
  console.log(`catalog index ${manifest.version}: ${manifest.products} products, ${manifest.users} users, ${manifest.dims}-dim ${manifest.embedding_model.name}/${manifest.embedding_model.variant} → ${dir} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

main().catch((e) => {
  console.error(`build-index: ${(e as Error).message}`);
  process.exit(1);
});
