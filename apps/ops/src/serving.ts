import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { adminToken, expectedTopology, type StackEnv } from '@ranksafe/platform';
import { RecommendRequest, RetrievalClient, SearchClient, SearchRequest, type SearchResponse } from '@ranksafe/proto';
import { adminMetadata, unaryCall, waitForServing } from '@ranksafe/serving-kit';
import { table } from './commands';

const creds = () => grpc.credentials.createInsecure();

function replicas(cfg: StackEnv, app: 'retrieval-service' | 'gateway') {
  const state = expectedTopology(cfg);
  return state.components.filter((c) => c.app === app && c.grpcAddress).map((c) => ({ instance: c.instance, address: c.grpcAddress! }));
}

/** Which catalog index each retrieval replica serves. */
export async function indexDescribeCommand(cfg: StackEnv): Promise<string> {
  const rows: string[][] = [];
  for (const r of replicas(cfg, 'retrieval-service')) {
    const client = new RetrievalClient(r.address, creds());
    try {
      const d = await unaryCall(client.describeIndex.bind(client), {}, { deadlineMs: 3000 });
      rows.push([r.instance, d.indexVersion, String(d.products), String(d.users), new Date(d.loadedAtUnixMs).toISOString(), d.path]);
    } catch (e) {
      rows.push([r.instance, `UNREACHABLE (${(e as grpc.ServiceError).details ?? (e as Error).message})`, '', '', '', '']);
    } finally {
      client.close();
    }
  }
  return table(['REPLICA', 'INDEX', 'PRODUCTS', 'USERS', 'LOADED AT', 'PATH'], rows);
}

/**
 * Roll a catalog index out to the retrieval replicas one at a time: each drains (NOT_SERVING),
 * loads and verifies the index, swaps, and must be SERVING again before the next one starts. A
 * replica that refuses the index (bad sha256, wrong model) stops the rollout; the rest keep theirs.
 */
export async function indexLoadCommand(cfg: StackEnv, indexPath: string, say: (line: string) => void): Promise<void> {
  const md = adminMetadata(new grpc.Metadata(), adminToken(cfg));
  const localPath = path.resolve(indexPath);
  for (const r of replicas(cfg, 'retrieval-service')) {
    const client = new RetrievalClient(r.address, creds());
    try {
      const t0 = Date.now();
      const res = await unaryCall(client.loadIndex.bind(client), { source: { $case: 'localPath', value: localPath } }, { metadata: md, deadlineMs: 300_000 });
      if (!(await waitForServing(r.address, 60_000, 'ranksafe.v1.Retrieval'))) throw new Error(`${r.instance} did not report SERVING after loading`);
      say(`${r.instance}: serving ${res.indexVersion} (${res.products} products) after ${Date.now() - t0} ms`);
    } catch (e) {
      throw new Error(`${r.instance} refused ${localPath}: ${(e as grpc.ServiceError).details ?? (e as Error).message}; later replicas were not changed`);
    } finally {
      client.close();
    }
  }
}

function render(res: { results: SearchResponse['results']; degraded: boolean; degradedReason: string; rankingModel?: { name: string; version: string } }): string {
  const head = res.degraded ? `degraded (${res.degradedReason}): retrieval order` : `ranked by ${res.rankingModel?.name} ${res.rankingModel?.version}`;
  return [head, table(['#', 'SCORE', 'ID', 'PRICE', 'CATEGORY', 'TITLE'], res.results.map((r, i) => [String(i + 1), r.score.toFixed(4), r.product!.id, r.product!.price.toFixed(2), r.product!.category, r.product!.title]))].join('\n');
}

/** Search through the gateway, as a shop frontend would. */
export async function searchCommand(cfg: StackEnv, query: string, o: { k: number; category?: string[]; maxPrice?: number }): Promise<string> {
  const [gw] = replicas(cfg, 'gateway');
  const client = new SearchClient(gw!.address, creds());
  try {
    const res = await unaryCall(
      client.search.bind(client),
      SearchRequest.fromPartial({ query, k: o.k, filters: { categories: o.category ?? [], brands: [], maxPrice: o.maxPrice } }),
      { deadlineMs: 5000 },
    );
    return render(res);
  } finally {
    client.close();
  }
}

/** Recommend for a user id, or for a session of recent item ids. */
export async function recommendCommand(cfg: StackEnv, o: { user?: string; items?: string[]; k: number }): Promise<string> {
  const [gw] = replicas(cfg, 'gateway');
  const client = new SearchClient(gw!.address, creds());
  try {
    const subject = o.user ? { $case: 'userId' as const, value: o.user } : { $case: 'recent' as const, value: { itemIds: o.items ?? [] } };
    const res = await unaryCall(client.recommend.bind(client), RecommendRequest.fromPartial({ subject, k: o.k }), { deadlineMs: 5000 });
    return render(res);
  } finally {
    client.close();
  }
}
