// Benchmark 6: relevance on the WANDS slice (../shared/data/wands: 617 products, graded judgments).
//   node --import tsx tools/bench/relevance.ts [--depth 100] [--retrieval-weight 0.2] [--fusion rrf|weighted]
// NDCG@10 (gains 2/1/0) for BM25, dense (HNSW), hybrid (fusion) and hybrid + BERT ranking (the
// full serving path: hybrid top-N, rescored by the ranking engine with its retrieval blend), with
// the same index and model the services use. Skips cleanly when ../shared/data is absent.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { WORKSPACE_ROOT } from '@ranksafe/platform';
import { BertEncoder, ndcgAt, RankingEngine } from '@ranksafe/ranking-core';
import { buildCatalogIndex, CatalogIndex, type FusionMethod, type RetrievalMode } from '@ranksafe/retrieval-core';
import { importWands } from '../data/import-catalog';
import { printTable, sharedData, writeReport } from './lib';

const { values } = parseArgs({
  options: {
    depth: { type: 'string', default: '100' },
    'retrieval-weight': { type: 'string', default: '0.4' },
    fusion: { type: 'string', default: 'rrf' },
    variant: { type: 'string', default: 'int8' },
    'description-words': { type: 'string' },
  },
});

async function main() {
  const shared = sharedData();
  if (!shared) {
    console.log('relevance bench skipped: ../shared/data (WANDS slice) is not present on this machine');
    return;
  }
  const qrels: Record<string, { query: string; grades: Record<string, number> }> = (await import(path.join(shared, 'wands', 'qrels-slice.json'))).default;
  const { products } = importWands(path.join(shared, 'wands', 'products-slice.jsonl'));
  const modelDir = path.join(WORKSPACE_ROOT, 'models', 'minilm-l6-v2');
  const { dir } = await buildCatalogIndex({
    products,
    users: [],
    out: path.join(WORKSPACE_ROOT, '.data', 'bench', 'wands-index'),
    modelDir,
    variant: values.variant,
    source: 'WANDS slice',
    descriptionWords: values['description-words'] === undefined ? undefined : Number(values['description-words']),
  });
  const index = CatalogIndex.load(dir);
  const encoder = await BertEncoder.load(modelDir, { variant: values.variant });
  const engine = new RankingEngine(encoder, {
    batcher: { maxBatchSize: 32, maxQueueDelayMs: 0, maxQueueSize: 4096 },
    cacheSize: 10_000,
    retrievalWeight: Number(values['retrieval-weight']),
  });
  const depth = Number(values.depth);
  const fusion = { method: values.fusion as FusionMethod, rrfK: 60, denseWeight: 0.5 };

  const methods = ['BM25', 'dense (HNSW)', 'hybrid', 'hybrid + BERT ranking'] as const;
  const perQuery: Array<Record<string, string | number>> = [];
  const sums: Record<string, number> = Object.fromEntries(methods.map((m) => [m, 0]));
  for (const [qid, { query, grades }] of Object.entries(qrels)) {
    const [qv] = await encoder.encode([query]);
    const ids = (mode: RetrievalMode, n: number) => index.retrieve({ query, queryVector: qv, mode, topN: n, fusion }).map((h) => h);
    const lists: Record<string, string[]> = {
      BM25: ids('bm25', 10).map((h) => index.products[h.doc]!.id),
      'dense (HNSW)': ids('dense', 10).map((h) => index.products[h.doc]!.id),
      hybrid: ids('hybrid', 10).map((h) => index.products[h.doc]!.id),
    };
    const pool = ids('hybrid', depth);
    const ranked = await engine.rankByQuery(
      query,
      pool.map((h) => ({ id: index.products[h.doc]!.id, text: index.rankText(h.doc), retrievalScore: h.fused })),
    );
    lists['hybrid + BERT ranking'] = ranked.slice(0, 10).map((r) => r.id);
    const row: Record<string, string | number> = { query: `${qid}: ${query}` };
    for (const m of methods) {
      const v = ndcgAt(10, lists[m]!, grades);
      row[m] = v;
      sums[m]! += v;
    }
    perQuery.push(row);
  }
  const n = perQuery.length;
  printTable(
    `NDCG@10 on the WANDS slice (${index.size} products, ${n} judged queries; ${values.variant} model, fusion ${values.fusion}, rerank depth ${depth}, retrieval weight ${values['retrieval-weight']}, description words ${index.manifest.text_description_words})`,
    ['query', ...methods],
    [...perQuery.map((r) => [r.query as string, ...methods.map((m) => r[m] as number)]), ['mean', ...methods.map((m) => sums[m]! / n)]],
  );
  const mean = (m: string) => sums[m]! / n;
  console.log(
    `full path - BM25 = ${(mean('hybrid + BERT ranking') - mean('BM25')).toFixed(4)} (target >= +0.05); published full-WANDS reference: BM25 0.5408, all-MiniLM-L6 0.5060`,
  );
  const file = writeReport('relevance', {
    products: index.size,
    queries: n,
    depth,
    variant: values.variant,
    fusion: values.fusion,
    mean: Object.fromEntries(methods.map((m) => [m, mean(m)])),
    perQuery,
  });
  console.log(`report: ${path.relative(process.cwd(), file)}`);
  await engine.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
