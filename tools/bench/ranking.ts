// Benchmark: raw in-process onnxruntime-node versus the gRPC ranking service with dynamic batching.
//   node --import tsx tools/bench/ranking.ts [--seconds 4] [--variant int8|fp32]
// Raw: BertEncoder.encode on batches of 1, 8, 32, 64 texts. Service: a ranking-service process
// (embedding cache off, so every text is inferred) called over gRPC on loopback by a closed loop
// of 1, 8, 32 concurrent clients, each sending Embed with one text; the dynamic batcher merges
// them. Prints texts/s and latency percentiles side by side and the ratios.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { EmbedRequest, RankingClient } from '@ranksafe/proto';
import { BertEncoder, percentile } from '@ranksafe/ranking-core';
import { freePort, WORKSPACE_ROOT } from '@ranksafe/platform';
import { unaryCall, waitForServing } from '@ranksafe/serving-kit';
import { loadWandsSlice, printTable, writeReport } from './lib';

const arg = (name: string, def: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : def);
const seconds = Number(arg('--seconds', '4'));
const variant = arg('--variant', 'int8');
const MODEL_DIR = path.join(WORKSPACE_ROOT, 'models', 'minilm-l6-v2');

interface Cell {
  textsPerSec: number;
  p50: number;
  p95: number;
  p99: number;
}

function texts(): string[] {
  const w = loadWandsSlice();
  return w ? w.products.map((p) => `${p.title} | ${p.category}`) : Array.from({ length: 600 }, (_, i) => `synthetic product ${i} solid oak table with ${i % 7} drawers | furniture`);
}

async function raw(corpus: string[], batch: number): Promise<Cell> {
  const enc = await BertEncoder.load(MODEL_DIR, { variant });
  await enc.encode(corpus.slice(0, batch));
  const lat: number[] = [];
  let i = 0;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    const b = Array.from({ length: batch }, () => corpus[i++ % corpus.length]!);
    const s = performance.now();
    await enc.encode(b);
    lat.push(performance.now() - s);
    n += batch;
  }
  await enc.dispose();
  return { textsPerSec: n / ((performance.now() - t0) / 1000), p50: percentile(lat, 50), p95: percentile(lat, 95), p99: percentile(lat, 99) };
}

async function service(client: RankingClient, corpus: string[], concurrency: number): Promise<Cell> {
  const lat: number[] = [];
  let i = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const s = performance.now();
        await unaryCall(client.embed.bind(client), EmbedRequest.fromPartial({ texts: [corpus[i++ % corpus.length]!] }), { deadlineMs: 30_000 });
        lat.push(performance.now() - s);
      }
    }),
  );
  return { textsPerSec: lat.length / ((performance.now() - t0) / 1000), p50: percentile(lat, 50), p95: percentile(lat, 95), p99: percentile(lat, 99) };
}

async function main() {
  const corpus = texts();
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(WORKSPACE_ROOT, 'apps/ranking-service/src/main.ts')], {
    cwd: WORKSPACE_ROOT,
    env: { ...process.env, GRPC_PORT: String(port), METRICS_PORT: '-1', LOG_LEVEL: 'warn', RANKING_CACHE_SIZE: '0', RANKING_MODEL_VARIANT: variant, RANKING_MAX_BATCH_SIZE: '32' },
    stdio: 'inherit',
  });
  try {
    if (!(await waitForServing(`127.0.0.1:${port}`, 120_000))) throw new Error('ranking-service did not start');
    const client = new RankingClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    await service(client, corpus, 4); // warm-up
    const svc: Record<number, Cell> = {};
    for (const c of [1, 8, 32]) svc[c] = await service(client, corpus, c);
    client.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    const rawCells: Record<number, Cell> = {};
    for (const b of [1, 8, 32, 64]) rawCells[b] = await raw(corpus, b);

    printTable(`Raw onnxruntime-node (${variant}), ${corpus.length} product texts, ${seconds} s per cell`, ['batch', 'texts/s', 'p50 ms', 'p95 ms', 'p99 ms'], Object.entries(rawCells).map(([b, c]) => [b, c.textsPerSec, c.p50, c.p95, c.p99]));
    printTable(
      'gRPC ranking-service with dynamic batching (Embed, 1 text per call; cache off)',
      ['concurrency', 'texts/s', 'p50 ms', 'p95 ms', 'p99 ms', 'vs raw batch=c: throughput', 'p99'],
      Object.entries(svc).map(([c, s]) => {
        const r = rawCells[Number(c)]!;
        return [c, s.textsPerSec, s.p50, s.p95, s.p99, `${(s.textsPerSec / r.textsPerSec).toFixed(2)}x`, `${(s.p99 / r.p99).toFixed(2)}x`];
      }),
    );
    console.log(`\ndynamic batching gain: concurrency 32 vs 1 = ${(svc[32]!.textsPerSec / svc[1]!.textsPerSec).toFixed(2)}x throughput (p95 ${svc[32]!.p95.toFixed(1)} vs ${svc[1]!.p95.toFixed(1)} ms)`);
    console.log(`report: ${writeReport('ranking', { seconds, variant, raw: rawCells, service: svc })}`);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
