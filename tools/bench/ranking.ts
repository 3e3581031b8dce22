// Benchmark 1: raw in-process onnxruntime-node versus the gRPC ranking service with dynamic batching.
//   node --import tsx tools/bench/ranking.ts [--seconds 4] [--variant int8|fp32] [--candidates 8]
// Raw: BertEncoder.encode on batches of 1, 8, 32, 64 texts, and on the effective batch each
// service cell reached. Service: a ranking-service process (embedding cache off, so every text is
// inferred) called over gRPC on loopback by a closed loop of 1, 8, 32 concurrent clients. Two
// request shapes: Embed with one text (the worst case: one RPC per inference), and Rank with a
// query and --candidates candidates (pairs/s = candidates scored per second). The service's
// effective batch comes from its ranksafe_ranking_batcher metrics. Prints texts/s and latency
// percentiles side by side and the ratios.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { EmbedRequest, RankingClient, RankRequest } from '@ranksafe/proto';
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

interface ServiceCell extends Cell {
  /** Texts inferred per second (Rank: candidates plus the query). */
  inferredPerSec: number;
  /** Mean texts per session.run in the service during the cell. */
  effectiveBatch: number;
}

const candidatesPerCall = Number(arg('--candidates', '8'));

function texts(): string[] {
  const w = loadWandsSlice();
  return w
    ? w.products.map((p) => `${p.title} | ${p.category}`)
    : Array.from({ length: 600 }, (_, i) => `synthetic product ${i} solid oak table with ${i % 7} drawers | furniture`);
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

async function batcherCounters(metricsPort: number): Promise<{ batches: number; items: number }> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const stat = (name: string) => Number(new RegExp(`ranksafe_ranking_batcher\\{stat="${name}"[^}]*\\} (\\S+)`).exec(text)?.[1] ?? NaN);
  return { batches: stat('batches'), items: stat('items') };
}

async function service(client: RankingClient, corpus: string[], concurrency: number, shape: 'embed' | 'rank', metricsPort: number): Promise<ServiceCell> {
  const lat: number[] = [];
  let i = 0;
  let scored = 0;
  const before = await batcherCounters(metricsPort);
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const s = performance.now();
        if (shape === 'embed') {
          await unaryCall(client.embed.bind(client), EmbedRequest.fromPartial({ texts: [corpus[i++ % corpus.length]!] }), { deadlineMs: 30_000 });
          scored += 1;
        } else {
          const candidates = Array.from({ length: candidatesPerCall }, () => ({ id: String(i), text: corpus[i++ % corpus.length]!, retrievalScore: 0 }));
          await unaryCall(client.rank.bind(client), RankRequest.fromPartial({ subject: { $case: 'query', value: corpus[i++ % corpus.length]! }, candidates }), {
            deadlineMs: 30_000,
          });
          scored += candidatesPerCall;
        }
        lat.push(performance.now() - s);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const after = await batcherCounters(metricsPort);
  return {
    textsPerSec: scored / elapsed,
    inferredPerSec: (after.items - before.items) / elapsed,
    effectiveBatch: (after.items - before.items) / Math.max(1, after.batches - before.batches),
    p50: percentile(lat, 50),
    p95: percentile(lat, 95),
    p99: percentile(lat, 99),
  };
}

async function main() {
  const corpus = texts();
  const port = await freePort();
  const metricsPort = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(WORKSPACE_ROOT, 'apps/ranking-service/src/main.ts')], {
    cwd: WORKSPACE_ROOT,
    env: {
      ...process.env,
      GRPC_PORT: String(port),
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'warn',
      RANKING_CACHE_SIZE: '0',
      RANKING_MODEL_VARIANT: variant,
      RANKING_MAX_BATCH_SIZE: '32',
    },
    stdio: 'inherit',
  });
  try {
    if (!(await waitForServing(`127.0.0.1:${port}`, 120_000))) throw new Error('ranking-service did not start');
    const client = new RankingClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    await service(client, corpus, 4, 'rank', metricsPort); // warm-up
    const svc: Record<string, Record<number, ServiceCell>> = { embed: {}, rank: {} };
    for (const shape of ['embed', 'rank'] as const) for (const c of [1, 8, 32]) svc[shape]![c] = await service(client, corpus, c, shape, metricsPort);
    client.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    const rawCells: Record<number, Cell> = {};
    const batches = new Set([
      1,
      8,
      32,
      64,
      ...Object.values(svc).flatMap((cells) => Object.values(cells).map((c) => Math.max(1, Math.round(c.effectiveBatch)))),
    ]);
    for (const b of [...batches].sort((a, b) => a - b)) rawCells[b] = await raw(corpus, b);

    printTable(
      `Raw onnxruntime-node (${variant}), ${corpus.length} product texts, ${seconds} s per cell`,
      ['batch', 'texts/s', 'p50 ms', 'p95 ms', 'p99 ms'],
      Object.entries(rawCells).map(([b, c]) => [b, c.textsPerSec, c.p50, c.p95, c.p99]),
    );
    for (const shape of ['embed', 'rank'] as const) {
      printTable(
        shape === 'embed'
          ? 'gRPC ranking-service, Embed with 1 text per call (cache off): texts/s'
          : `gRPC ranking-service, Rank with a query and ${candidatesPerCall} candidates per call (cache off): pairs/s`,
        [
          'concurrency',
          shape === 'embed' ? 'texts/s' : 'pairs/s',
          'inferred/s',
          'eff. batch',
          'p50 ms',
          'p95 ms',
          'p99 ms',
          'inferred/s vs raw at eff. batch',
          'p99 vs raw batch p99',
        ],
        Object.entries(svc[shape]!).map(([c, s]) => {
          const r = rawCells[Math.max(1, Math.round(s.effectiveBatch))]!;
          return [
            c,
            s.textsPerSec,
            s.inferredPerSec,
            s.effectiveBatch,
            s.p50,
            s.p95,
            s.p99,
            `${(s.inferredPerSec / r.textsPerSec).toFixed(2)}x`,
            `${(s.p99 / r.p99).toFixed(2)}x`,
          ];
        }),
      );
    }
    const e = svc.embed!;
    console.log(
      `\ndynamic batching gain (Embed, 1 text per call): concurrency 32 vs 1 = ${(e[32]!.textsPerSec / e[1]!.textsPerSec).toFixed(2)}x throughput (p95 ${e[32]!.p95.toFixed(1)} vs ${e[1]!.p95.toFixed(1)} ms); concurrency 8 vs 1 = ${(e[8]!.textsPerSec / e[1]!.textsPerSec).toFixed(2)}x (p95 ${e[8]!.p95.toFixed(1)} ms)`,
    );
    console.log(`report: ${writeReport('ranking', { seconds, variant, candidatesPerCall, raw: rawCells, service: svc })}`);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
