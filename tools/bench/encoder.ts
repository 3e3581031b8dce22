// Benchmark: the BERT encoder in onnxruntime-node, fp32 versus int8 (dynamic quantisation).
//   node --import tsx tools/bench/encoder.ts [--seconds 4]
// Prints texts/s and per-batch latency at batch 1, 8, 32, 64 for both variants side by side,
// their ratio, and NDCG@10 of dense ranking on the WANDS slice (../shared/data) for both.
import * as path from 'node:path';
import { BertEncoder, dot, ndcgAt, percentile } from '@ranksafe/ranking-core';
import { WORKSPACE_ROOT } from '@ranksafe/platform';
import { loadWandsSlice, printTable, writeReport } from './lib';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] || 4);
const MODEL_DIR = path.join(WORKSPACE_ROOT, 'models', 'minilm-l6-v2');
const productText = (p: { title: string; category: string }) => `${p.title} | ${p.category}`;

async function throughput(enc: BertEncoder, texts: string[], batch: number) {
  const lat: number[] = [];
  let done = 0;
  let i = 0;
  await enc.encode(texts.slice(0, batch)); // warm-up
  const until = performance.now() + seconds * 1000;
  const t0 = performance.now();
  while (performance.now() < until) {
    const slice = Array.from({ length: batch }, () => texts[i++ % texts.length]!);
    const s = performance.now();
    await enc.encode(slice);
    lat.push(performance.now() - s);
    done += batch;
  }
  const elapsed = (performance.now() - t0) / 1000;
  return { batch, textsPerSec: done / elapsed, p50: percentile(lat, 50), p95: percentile(lat, 95), p99: percentile(lat, 99) };
}

async function main() {
  const wands = loadWandsSlice();
  const texts = wands
    ? wands.products.map(productText)
    : Array.from({ length: 512 }, (_, i) => `synthetic product ${i} solid oak table with ${i % 7} drawers | furniture`);
  const variants = ['fp32', 'int8'] as const;
  const encoders = Object.fromEntries(await Promise.all(variants.map(async (v) => [v, await BertEncoder.load(MODEL_DIR, { variant: v })] as const)));
  const results: Record<string, Awaited<ReturnType<typeof throughput>>[]> = { fp32: [], int8: [] };
  for (const batch of [1, 8, 32, 64]) {
    for (const v of variants) results[v]!.push(await throughput(encoders[v]!, texts, batch));
  }
  printTable(
    `Encoder throughput, ${texts.length} ${wands ? 'WANDS product' : 'synthetic'} texts, ${seconds} s per cell (texts/s; batch latency ms)`,
    ['batch', 'fp32 texts/s', 'fp32 p50', 'fp32 p95', 'fp32 p99', 'int8 texts/s', 'int8 p50', 'int8 p95', 'int8 p99', 'int8/fp32'],
    results.fp32!.map((f, i) => {
      const q = results.int8![i]!;
      return [f.batch, f.textsPerSec, f.p50, f.p95, f.p99, q.textsPerSec, q.p50, q.p95, q.p99, `${(q.textsPerSec / f.textsPerSec).toFixed(2)}x`];
    }),
  );

  let relevance: Record<string, number> | undefined;
  if (wands) {
    relevance = {};
    for (const v of variants) {
      const enc = encoders[v]!;
      const prodEmb = await encodeAll(enc, wands.products.map(productText));
      const scores: number[] = [];
      for (const q of Object.values(wands.qrels)) {
        const [qe] = await enc.encode([q.query]);
        const ranked = wands.products.map((p, i) => ({ id: p.id, s: dot(qe!, prodEmb[i]!) })).sort((a, b) => b.s - a.s);
        scores.push(
          ndcgAt(
            10,
            ranked.map((r) => r.id),
            q.grades,
          ),
        );
      }
      relevance[v] = scores.reduce((a, b) => a + b, 0) / scores.length;
    }
    printTable(
      `Dense ranking NDCG@10 on the WANDS slice (${Object.keys(wands.qrels).length} judged queries, ${wands.products.length} products)`,
      ['variant', 'NDCG@10'],
      [
        ['fp32', relevance.fp32!.toFixed(4)],
        ['int8', relevance.int8!.toFixed(4)],
        ['int8 - fp32 (points)', ((relevance.int8! - relevance.fp32!) * 100).toFixed(2)],
      ],
    );
  } else {
    console.log('\n../shared/data is absent: NDCG@10 on WANDS skipped');
  }
  console.log(`\nreport: ${writeReport('encoder', { seconds, results, relevance })}`);
  for (const e of Object.values(encoders)) await e.dispose();
}

async function encodeAll(enc: BertEncoder, texts: string[]) {
  const out: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += 32) out.push(...(await enc.encode(texts.slice(i, i + 32))));
  return out;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
