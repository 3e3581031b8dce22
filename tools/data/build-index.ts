// Build a versioned catalog index (products, user histories, embeddings, HNSW graph, manifest).
//   node --import tsx tools/data/build-index.ts --out <index root> (--catalog <catalog.jsonl|csv> [--users users.jsonl]
//        | --synthetic <products> [--synthetic-users 2000] [--synthetic-sessions 0] [--seed 42] [--judged-queries 200])
//        [--qrels qrels.json] [--model-dir models/minilm-l6-v2] [--variant int8] [--description-words N] [--if-missing] [--no-publish]
// The index lands in <out>/<version>/ and <out>/CURRENT points at it (unless --no-publish). A
// synthetic shop's index also carries judged-queries.json (graded queries for the quality gate);
// --qrels gives a real catalog's graded judgements instead (e.g. ../shared/data/wands/qrels-slice.json:
// {"<query id>": {"query": "…", "grades": {"<product id>": 0|1|2}}}), kept to the products indexed.
// --synthetic-sessions N adds N shopping sessions (users s00001 …: generateSessions, an order a sequential
// recommender learns) to the synthetic shop's histories.
// --if-missing: do nothing when <out> already holds a servable index (what `npm start` uses).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { WORKSPACE_ROOT } from '@ranksafe/platform';
import { buildCatalogIndex, generateCatalog, generateSessions, judgedQuerySet, readCatalog, readUsers, resolveIndexDir } from '@ranksafe/retrieval-core';
import { JUDGED_QUERIES_FORMAT, judgedQueriesFromQrels, parseJudgedQuerySet, type JudgedQuerySet } from '@ranksafe/ranking-core';

async function main() {
  const { values } = parseArgs({
    options: {
      catalog: { type: 'string' },
      users: { type: 'string' },
      synthetic: { type: 'string' },
      'synthetic-users': { type: 'string', default: '2000' },
      'synthetic-sessions': { type: 'string', default: '0' },
      seed: { type: 'string', default: '42' },
      'judged-queries': { type: 'string', default: '200' },
      qrels: { type: 'string' },
      out: { type: 'string' },
      'model-dir': { type: 'string', default: path.join(WORKSPACE_ROOT, 'models', 'minilm-l6-v2') },
      variant: { type: 'string', default: 'int8' },
      'description-words': { type: 'string' },
      'if-missing': { type: 'boolean', default: false },
      'no-publish': { type: 'boolean', default: false },
    },
  });
  if (!values.out || !!values.catalog === !!values.synthetic) {
    throw new Error(
      'usage: build-index.ts --out DIR (--catalog FILE [--users FILE] | --synthetic N [--synthetic-users M] [--synthetic-sessions K] [--seed S]) [--model-dir DIR] [--variant int8|fp32] [--description-words N] [--if-missing] [--no-publish]',
    );
  }
  if (values['if-missing']) {
    try {
      console.log(`catalog index ready: ${resolveIndexDir(values.out)}`);
      return;
    } catch {
      // build it
    }
  }
  const t0 = Date.now();
  let products;
  let users;
  let source: string;
  let judgedQueries: JudgedQuerySet | undefined;
  if (values.catalog) {
    products = readCatalog(values.catalog);
    const usersFile = values.users ?? path.join(path.dirname(values.catalog), 'users.jsonl');
    users = fs.existsSync(usersFile) ? readUsers(usersFile) : [];
    source = path.resolve(values.catalog);
    // generate-catalog.ts writes judged queries beside its catalog: carry them into the index.
    const judgedFile = path.join(path.dirname(values.catalog), 'judged-queries.json');
    if (fs.existsSync(judgedFile)) judgedQueries = parseJudgedQuerySet(JSON.parse(fs.readFileSync(judgedFile, 'utf8')), judgedFile);
  } else {
    const seed = Number(values.seed);
    ({ products, users } = generateCatalog({ products: Number(values.synthetic), users: Number(values['synthetic-users']), seed }));
    const sessions = Number(values['synthetic-sessions']);
    users = [...users, ...generateSessions(products, { sessions, seed })];
    source = `synthetic demo shop (seed ${seed}${sessions ? `, ${sessions} sessions` : ''})`;
    const n = Number(values['judged-queries']);
    if (n > 0) judgedQueries = judgedQuerySet(products, { seed, queries: n, source: `${source}, ${products.length} products` });
  }
  if (values.qrels) {
    const ids = new Set(products.map((p) => p.id));
    const qrels = JSON.parse(fs.readFileSync(values.qrels, 'utf8')) as Record<string, { query: string; grades: Record<string, number> }>;
    const kept = Object.fromEntries(
      Object.entries(qrels).map(([q, r]) => [q, { query: r.query, grades: Object.fromEntries(Object.entries(r.grades).filter(([id]) => ids.has(id))) }]),
    );
    judgedQueries = parseJudgedQuerySet(
      {
        format: JUDGED_QUERIES_FORMAT,
        source: `graded judgements ${path.resolve(values.qrels)}`,
        grading: { '2': 'exact', '1': 'partial', '0': 'irrelevant' },
        queries: judgedQueriesFromQrels(kept),
      },
      values.qrels,
    );
  }
  console.log(
    `building a catalog index of ${products.length} products and ${users.length} users from ${source}: embedding each product text once (a few minutes for 100k on 2 cores; texts the current index already holds are reused) …`,
  );
  let last = 0;
  const { dir, manifest } = await buildCatalogIndex({
    products,
    users,
    out: values.out,
    modelDir: values['model-dir'],
    variant: values.variant,
    descriptionWords: values['description-words'] === undefined ? undefined : Number(values['description-words']),
    source,
    publish: !values['no-publish'],
    judgedQueries,
    onProgress: (done, total) => {
      if (Date.now() - last > 10_000 || done === total) {
        last = Date.now();
        console.log(`  embedded ${done}/${total} products (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      }
    },
  });
  console.log(
    `catalog index ${manifest.version}: ${manifest.products} products, ${manifest.users} users, ${manifest.dims}-dim ${manifest.embedding_model.name}/${manifest.embedding_model.variant}${manifest.artifacts['judged-queries.json'] ? ', judged queries' : ''} → ${dir} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );
}

main().catch((e) => {
  console.error(`build-index: ${(e as Error).message}`);
  process.exit(1);
});
