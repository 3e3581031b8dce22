// Benchmark 4: retrieval on the demo catalog (100k products by default).
//   node --import tsx tools/bench/retrieval.ts [--index .data/indexes/demo] [--queries 1000] [--ef 32,64,128,256]
// Builds the demo index first if it is missing (same command `npm start` runs). Prints, side by
// side in one run: BM25 latency (ours) versus MiniSearch on the same catalog and queries, and
// HNSW recall@10 against exact (brute-force) search with the speed-up, for several ef values.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import MiniSearch from 'minisearch';
import { WORKSPACE_ROOT } from '@ranksafe/platform';
import { BertEncoder, percentile } from '@ranksafe/ranking-core';
import { CatalogIndex, resolveIndexDir, VectorIndex } from '@ranksafe/retrieval-core';
import { printTable, queryWorkload, writeReport } from './lib';

const { values } = parseArgs({
  options: {
    index: { type: 'string', default: path.join(WORKSPACE_ROOT, '.data', 'indexes', 'demo') },
    queries: { type: 'string', default: '1000' },
    ef: { type: 'string', default: '32,64,128,256' },
  },
});

function ensureIndex(root: string): string {
  try {
    return resolveIndexDir(root);
  } catch {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(WORKSPACE_ROOT, 'tools/data/build-index.ts'), '--out', root, '--synthetic', '100000', '--if-missing'],
      { stdio: 'inherit' },
    );
    if (r.status !== 0) throw new Error('building the demo index failed');
    return resolveIndexDir(root);
  }
}

function timeEach<T>(items: T[], f: (x: T) => unknown): { ms: number[]; qps: number } {
  for (const x of items.slice(0, 50)) f(x); // warm up
  const ms: number[] = [];
  const t0 = performance.now();
  for (const x of items) {
    const s = performance.now();
    f(x);
    ms.push(performance.now() - s);
  }
  return { ms, qps: items.length / ((performance.now() - t0) / 1000) };
}

async function main() {
  const dir = ensureIndex(values.index);
  const t0 = performance.now();
  const index = CatalogIndex.load(dir);
  const loadMs = performance.now() - t0;
  const queries = queryWorkload(
    index.products.map((p) => p.title),
    Number(values.queries),
  );
  console.log(`index ${index.version}: ${index.size} products, loaded and verified in ${(loadMs / 1000).toFixed(1)} s; ${queries.length} queries`);

  // --- Lexical: our BM25 versus MiniSearch (BM25+ with the same fields and boosts) ---
  const t1 = performance.now();
  const mini = new MiniSearch({
    fields: ['title', 'brand', 'category', 'description', 'attributes'],
    storeFields: [],
    searchOptions: { boost: { title: 3, brand: 2, category: 2 } },
  });
  mini.addAll(
    index.products.map((p, i) => ({
      id: i,
      title: p.title,
      brand: p.brand,
      category: p.category,
      description: p.description,
      attributes: Object.values(p.attributes).join(' '),
    })),
  );
  const miniBuildMs = performance.now() - t1;
  const ours = timeEach(queries, (q) => index.bm25.search(q, 100));
  const theirs = timeEach(queries, (q) => mini.search(q).slice(0, 100));
  const lexRows = [
    ['ranksafe BM25 (top 100)', ours.qps, percentile(ours.ms, 50), percentile(ours.ms, 95), percentile(ours.ms, 99)],
    ['MiniSearch 7.2 (top 100)', theirs.qps, percentile(theirs.ms, 50), percentile(theirs.ms, 95), percentile(theirs.ms, 99)],
  ];
  printTable(
    `Lexical retrieval, ${index.size} products, ${queries.length} queries, one core (MiniSearch index built in ${(miniBuildMs / 1000).toFixed(1)} s)`,
    ['engine', 'QPS', 'p50 ms', 'p95 ms', 'p99 ms'],
    lexRows as never,
  );
  console.log(
    `ratio: ranksafe BM25 QPS / MiniSearch QPS = ${(ours.qps / theirs.qps).toFixed(2)}x (target >= 2x); BM25 p50 ${percentile(ours.ms, 50).toFixed(3)} ms (target <= 2 ms)`,
  );

  // --- Dense: HNSW versus exact search over the same vectors ---
  const encoder = await BertEncoder.load(path.join(WORKSPACE_ROOT, 'models', 'minilm-l6-v2'), { variant: index.manifest.embedding_model.variant });
  const qv: Float32Array[] = [];
  for (let i = 0; i < queries.length; i += 64) qv.push(...(await encoder.encode(queries.slice(i, i + 64))));
  await encoder.dispose();
  const vectors = index.vectors;
  const exact = timeEach(qv.slice(0, Math.min(200, qv.length)), (v) => vectors.searchExact(v, 10));
  const exactTop = qv.map((v) => vectors.searchExact(v, 10));
  const truth = exactTop.map((hits) => new Set(hits.map((h) => h.doc)));
  // Products with the same model text have the same vector: a neighbour as close as the true
  // 10th one is a correct answer even when exact search's tie-break picked another doc.
  const kth = exactTop.map((hits) => hits[hits.length - 1]!.score - 1e-5);
  const denseRows: Array<Array<string | number>> = [['exact (brute force)', exact.qps, percentile(exact.ms, 50), percentile(exact.ms, 95), 1, 1, '1.00x']];
  const report: Record<string, unknown>[] = [];
  for (const ef of values.ef.split(',').map(Number)) {
    const graph = VectorIndex.open(vectors.vectors, vectors.dims, path.join(dir, 'hnsw.usearch'), { ...index.manifest.hnsw, expansionSearch: ef });
    let found = 0;
    let foundTieAware = 0;
    qv.forEach((v, i) => {
      for (const h of graph.searchApprox(v, 10)) {
        if (truth[i]!.has(h.doc)) found++;
        if (truth[i]!.has(h.doc) || vectors.score(v, h.doc) >= kth[i]!) foundTieAware++;
      }
    });
    const recall = found / (qv.length * 10);
    const recallTies = foundTieAware / (qv.length * 10);
    const t = timeEach(qv, (v) => graph.searchApprox(v, 10));
    denseRows.push([`HNSW ef=${ef}`, t.qps, percentile(t.ms, 50), percentile(t.ms, 95), recall, recallTies, `${(t.qps / exact.qps).toFixed(0)}x`]);
    report.push({ ef, recallAt10: recall, recallAt10TieAware: recallTies, qps: t.qps, p50: percentile(t.ms, 50), speedup: t.qps / exact.qps });
  }
  printTable(
    `Dense retrieval (${index.manifest.dims}-dim ${index.manifest.embedding_model.name}/${index.manifest.embedding_model.variant}), top 10, ${qv.length} queries`,
    ['method', 'QPS', 'p50 ms', 'p95 ms', 'recall@10', 'recall@10 (ties)', 'speed-up'],
    denseRows,
  );
  console.log(
    'target: recall@10 >= 0.95 at >= 50x the brute-force speed. "ties": a result exactly as similar as the true 10th neighbour (same model text, same vector) counts as found',
  );

  const file = writeReport('retrieval', {
    index: { version: index.version, products: index.size, loadMs },
    queries: queries.length,
    lexical: {
      ours: { qps: ours.qps, p50: percentile(ours.ms, 50), p95: percentile(ours.ms, 95) },
      minisearch: { qps: theirs.qps, p50: percentile(theirs.ms, 50), p95: percentile(theirs.ms, 95) },
      ratio: ours.qps / theirs.qps,
    },
    dense: { exact: { qps: exact.qps, p50: percentile(exact.ms, 50) }, hnsw: report },
  });
  console.log(`\nreport: ${path.relative(process.cwd(), file)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
