// Benchmark 5: end-to-end Search through the running stack (gateway → retrieval ×N → ranking ×N).
//   npm start                                  # in another terminal (100k demo shop by default)
//   node --import tsx tools/bench/e2e.ts [--seconds 10] [--depths 30,100] [--concurrency 1,8,32]
// Closed-loop load (each worker sends its next request when the previous one answered) at each
// concurrency and rerank depth: QPS, p50/p95/p99, and the share of degraded answers. Queries are
// the WANDS queries (when ../shared/data is present) plus title slices of the served catalog.
import * as grpc from '@grpc/grpc-js';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadStackEnv, readStackState } from '@ranksafe/platform';
import { DescribeIndexRequest, RetrievalClient, SearchClient, SearchRequest } from '@ranksafe/proto';
import { percentile } from '@ranksafe/ranking-core';
import { CATALOG_INDEX_FILES, readCatalog } from '@ranksafe/retrieval-core';
import { unaryCall } from '@ranksafe/serving-kit';
import { printTable, queryWorkload, writeReport } from './lib';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    depths: { type: 'string', default: '30,100' },
    concurrency: { type: 'string', default: '1,8,32' },
    gateway: { type: 'string' },
  },
});

async function main() {
  const cfg = loadStackEnv();
  const state = readStackState(cfg);
  const gateway = values.gateway ?? state?.components.find((c) => c.app === 'gateway')?.grpcAddress;
  const retrievalAddr = state?.components.find((c) => c.app === 'retrieval-service')?.grpcAddress;
  if (!gateway || !retrievalAddr) {
    console.log('e2e bench: no running stack found (.data/run/stack.json); start it with `npm start` first');
    process.exit(1);
  }
  const creds = grpc.credentials.createInsecure();
  const client = new SearchClient(gateway, creds, { 'grpc.max_receive_message_length': 64 << 20 });
  const retrieval = new RetrievalClient(retrievalAddr, creds);
  const desc = await unaryCall(retrieval.describeIndex.bind(retrieval), DescribeIndexRequest.fromPartial({}), { deadlineMs: 5000 });
  retrieval.close();
  // The synthetic half of the workload slices titles of the catalog the replicas serve.
  const titles = readCatalog(path.join(desc.path, CATALOG_INDEX_FILES.catalog)).map((p) => p.title);
  const queries = queryWorkload(titles, 1000);
  const seconds = Number(values.seconds);
  console.log(`stack: gateway ${gateway}, index ${desc.indexVersion} (${desc.products} products); ${queries.length} queries, ${seconds} s per cell`);

  let next = 0;
  const one = async (depth: number) => {
    const q = queries[next++ % queries.length]!;
    const s = performance.now();
    const r = await unaryCall(client.search.bind(client), SearchRequest.fromPartial({ query: q, k: 10, rerankDepth: depth }), { deadlineMs: 5000 });
    return { ms: performance.now() - s, degraded: r.degraded };
  };

  // Warm-up: one pass over the workload at low concurrency (connections, JIT, query caches).
  const warmUntil = performance.now() + 5000;
  while (performance.now() < warmUntil) await Promise.all(Array.from({ length: 4 }, () => one(30).catch(() => undefined)));

  const rows: Array<Array<string | number>> = [];
  const cells: Record<string, unknown>[] = [];
  for (const depth of values.depths.split(',').map(Number)) {
    for (const c of values.concurrency.split(',').map(Number)) {
      const lat: number[] = [];
      let degraded = 0;
      let errors = 0;
      const codes = new Map<string, number>();
      const until = performance.now() + seconds * 1000;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: c }, async () => {
          while (performance.now() < until) {
            await one(depth).then(
              (r) => {
                lat.push(r.ms);
                if (r.degraded) degraded++;
              },
              (e: grpc.ServiceError) => {
                errors++;
                const code = grpc.status[e.code] ?? String(e.code);
                codes.set(code, (codes.get(code) ?? 0) + 1);
              },
            );
          }
        }),
      );
      const elapsed = (performance.now() - t0) / 1000;
      const cell = { depth, concurrency: c, qps: lat.length / elapsed, p50: percentile(lat, 50), p95: percentile(lat, 95), p99: percentile(lat, 99), degradedShare: degraded / Math.max(1, lat.length), errors, errorCodes: Object.fromEntries(codes) };
      cells.push(cell);
      rows.push([depth, c, cell.qps, cell.p50, cell.p95, cell.p99, `${(100 * cell.degradedShare).toFixed(1)}%`, errors ? `${errors} (${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')})` : '0']);
    }
  }
  printTable(`End-to-end Search (k=10), closed loop, ${seconds} s per cell, ${desc.products} products`, ['rerank depth', 'concurrency', 'QPS', 'p50 ms', 'p95 ms', 'p99 ms', 'degraded', 'errors'], rows);
  const d30 = cells.filter((x) => x.depth === 30) as Array<{ p95: number; concurrency: number }>;
  console.log(`target: p95 <= 300 ms at depth 30 — measured ${d30.map((x) => `c=${x.concurrency}: ${x.p95.toFixed(0)} ms`).join(', ')}`);
  const file = writeReport('e2e', { gateway, index: desc.indexVersion, products: desc.products, seconds, cells });
  console.log(`report: ${file}`);
  client.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
