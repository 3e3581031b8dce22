// Benchmark 5: end-to-end Search through the running stack (gateway → retrieval ×N → ranking ×N).
//   npm start                                  # in another terminal (100k demo shop by default)
//   node --import tsx tools/bench/e2e.ts [--seconds 10] [--depths 30,100] [--concurrency 1,8,32]
//   node --import tsx tools/bench/e2e.ts --open-loop 20,50,100,200 [--seconds 10] [--depths 30] [--max-in-flight 256]
//   node --import tsx tools/bench/e2e.ts --open-loop x0.5,x1,x2,x4 [--seconds 10] [--depths 30]   # multiples of measured capacity
// Closed loop (default): each of N workers sends its next request when the previous one answered,
// at each concurrency and rerank depth: QPS, p50/p95/p99, and the share of degraded answers.
// Open loop (--open-loop <rates>): requests arrive at each fixed rate (per second) whether or not
// earlier ones answered, so overload shows as shedding and latency, not as a lower offered load:
// goodput, p50/p99 of the answered, shed (RESOURCE_EXHAUSTED) and degraded shares, p99 of the shed
// answers, errors by status. Rates written xF are F × the capacity measured first (closed loop, 32
// workers: the most OK answers per second the stack gives). After the last rate, 10 s at half the
// capacity measure the recovery: the time until a 250 ms interval's p99 is back within 1.5× (+20 ms)
// of what half the capacity gave before the spike; then every replica's health is checked.
// Queries are the WANDS queries (when ../shared/data is present) plus title slices of the served catalog.
import * as grpc from '@grpc/grpc-js';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { closedLoop, formatSummary, Histogram, openLoop, type LoadSummary } from '@ranksafe/loadgen';
import { loadStackEnv, readStackState } from '@ranksafe/platform';
import { DescribeIndexRequest, RetrievalClient, SearchClient, SearchRequest } from '@ranksafe/proto';
import { CATALOG_INDEX_FILES, readCatalog } from '@ranksafe/retrieval-core';
import { checkHealth, unaryCall } from '@ranksafe/serving-kit';
import { printTable, queryWorkload, writeReport } from './lib';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    depths: { type: 'string', default: '30,100' },
    concurrency: { type: 'string', default: '1,8,32' },
    'open-loop': { type: 'string' },
    'max-in-flight': { type: 'string', default: '256' },
    gateway: { type: 'string' },
  },
});

/** "20,50" → [20, 50]; "x0.5,x2" → [0.5, 2] of `capacity`. */
const rateList = (s: string, capacity: () => Promise<number>) =>
  Promise.all(
    s
      .split(',')
      .filter(Boolean)
      .map(async (x) => (x.startsWith('x') ? { rate: Number(x.slice(1)) * (await capacity()), label: x } : { rate: Number(x), label: x })),
  );
const list = (s: string) =>
  s
    .split(',')
    .map(Number)
    .filter((n) => n > 0);
const pct = (n: number, of: number) => `${((100 * n) / Math.max(1, of)).toFixed(1)}%`;
const errorsBy = (s: LoadSummary) =>
  s.failedTotal
    ? Object.entries(s.failed)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ')
    : '0';

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

  const search = (q: string, depth: number) =>
    unaryCall(client.search.bind(client), SearchRequest.fromPartial({ query: q, k: 10, rerankDepth: depth }), { deadlineMs: 5000 });
  // One counter over every cell, so a later cell does not replay the queries an earlier one cached.
  let next = 0;
  const request = (depth: number) => () => search(queries[next++ % queries.length]!, depth);
  const classify = (r: { degraded: boolean }) => ({ degraded: r.degraded });

  // Warm-up: 5 s at low concurrency (connections, JIT, query caches).
  await closedLoop({ concurrency: 4, durationMs: 5000, request: request(30) }).done;

  const cells: Record<string, unknown>[] = [];
  const recovery: Array<{ depth: number; normalP99Ms: number; recoveryMs: number; after: string }> = [];
  const rows: Array<Array<string | number>> = [];
  const rates = values['open-loop'];
  if (rates) {
    const maxInFlight = Number(values['max-in-flight']);
    for (const depth of list(values.depths)) {
      let measured: number | undefined;
      let measuring: Promise<number> | undefined;
      // Once per depth, however many rates ask for it: the most OK answers per second 16 workers get.
      const capacity = () =>
        (measuring ??= closedLoop({ concurrency: 16, durationMs: seconds * 1000, request: request(depth), classify }).done.then((c) => {
          measured = c.goodput;
          console.log(`  depth ${depth}: capacity ${c.goodput.toFixed(1)} OK/s (closed loop, 16 workers; errors ${errorsBy(c)})`);
          return c.goodput;
        }));
      const plan = await rateList(rates, capacity);
      const cell = async (rate: number, durationMs: number, intervalMs = 1000) => {
        const shedMs = new Histogram();
        const s = await openLoop({
          ratePerSec: rate,
          maxInFlight,
          durationMs,
          request: request(depth),
          classify,
          timeline: { intervalMs },
          onRecord: (r) => r.status === 'RESOURCE_EXHAUSTED' && shedMs.record(r.latencyMs),
        }).done;
        return { s, shedP99: shedMs.count ? shedMs.percentile(99) : undefined };
      };
      let halfP99: number | undefined;
      for (const { rate, label } of plan) {
        const { s, shedP99 } = await cell(rate, seconds * 1000);
        if (label === 'x0.5') halfP99 = s.latencyMs.p99;
        console.log(`  depth ${depth} @ ${label} (${rate.toFixed(1)}/s): ${formatSummary(s)}`);
        const shed = s.failed.RESOURCE_EXHAUSTED ?? 0;
        cells.push({ depth, label, shedP99, capacity: measured, ...s });
        rows.push([
          depth,
          label,
          rate.toFixed(1),
          s.goodput.toFixed(1),
          measured ? pct(s.goodput, measured) : '–',
          s.latencyMs.p50.toFixed(0),
          s.latencyMs.p99.toFixed(0),
          pct(shed, s.scheduled),
          shedP99 === undefined ? '–' : shedP99.toFixed(1),
          pct(s.degraded, s.ok),
          s.failed.DEADLINE_EXCEEDED ?? 0,
          s.dropped,
          errorsBy(s),
        ]);
      }
      if (measured !== undefined && halfP99 !== undefined) {
        // Recovery: right after the last (highest) rate, half the capacity again; when is latency normal?
        const { s } = await cell(measured / 2, 10_000, 250);
        const normal = halfP99 * 1.5 + 20;
        const tl = s.timeline ?? [];
        let firstBad = -1; // the last interval still above normal: recovered after it
        tl.forEach((p, i) => p.p99 > normal && (firstBad = i));
        const recoveryMs = firstBad < 0 ? 0 : (tl[firstBad]!.t ?? 0) + 250;
        recovery.push({ depth, normalP99Ms: Math.round(normal), recoveryMs, after: plan.at(-1)!.label });
        console.log(`  depth ${depth}: after ${plan.at(-1)!.label}, p99 back within ${normal.toFixed(0)} ms after ${recoveryMs} ms (${formatSummary(s)})`);
      }
    }
    printTable(
      `End-to-end Search (k=10), open loop, ${seconds} s per rate, max ${maxInFlight} in flight, ${desc.products} products`,
      [
        'rerank depth',
        'load',
        'rate /s',
        'goodput /s',
        'of capacity',
        'p50 ms',
        'p99 ms',
        'shed',
        'shed p99 ms',
        'degraded',
        'DEADLINE_EXCEEDED',
        'dropped (cap)',
        'errors by status',
      ],
      rows,
    );
    console.log(
      'goodput = OK answers per second (degraded included); p50/p99 of the OK answers; shed = RESOURCE_EXHAUSTED of all arrivals, answered in "shed p99 ms"; degraded = share of OK answers',
    );
    for (const r of recovery)
      console.log(`recovery (depth ${r.depth}, after ${r.after}): ${r.recoveryMs} ms to p99 ≤ ${r.normalP99Ms} ms at half the capacity`);
    const down: string[] = [];
    for (const c of state?.components ?? []) {
      if (!c.grpcAddress) continue;
      const h = await checkHealth(c.grpcAddress);
      if (h.status !== 'SERVING') down.push(`${c.instance} ${h.status}`);
    }
    console.log(down.length ? `NOT SERVING after the run: ${down.join(', ')}` : 'every replica SERVING after the run');
  } else {
    for (const depth of list(values.depths)) {
      for (const c of list(values.concurrency)) {
        const s = await closedLoop({ concurrency: c, durationMs: seconds * 1000, request: request(depth), classify }).done;
        const p95 = Histogram.fromJSON(s.histogram).percentile(95);
        cells.push({ depth, p95, ...s });
        rows.push([
          depth,
          c,
          s.goodput,
          s.latencyMs.p50,
          p95,
          s.latencyMs.p99,
          pct(s.degraded, s.ok),
          s.failedTotal ? `${s.failedTotal} (${errorsBy(s)})` : '0',
        ]);
      }
    }
    printTable(
      `End-to-end Search (k=10), closed loop, ${seconds} s per cell, ${desc.products} products`,
      ['rerank depth', 'concurrency', 'QPS', 'p50 ms', 'p95 ms', 'p99 ms', 'degraded', 'errors'],
      rows,
    );
    const d30 = cells.filter((x) => x.depth === 30) as Array<{ p95: number; concurrency: number }>;
    console.log(`target: p95 <= 300 ms at depth 30 — measured ${d30.map((x) => `c=${x.concurrency}: ${x.p95.toFixed(0)} ms`).join(', ')}`);
  }
  const file = writeReport(rates ? 'e2e-open-loop' : 'e2e', { gateway, index: desc.indexVersion, products: desc.products, seconds, cells, recovery });
  console.log(`report: ${file}`);
  client.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
