// The load agent's requests: Search and Recommend through the gateway's public gRPC API
// (ranksafe.v1.Search), as a shop's frontend calls them.
import * as grpc from '@grpc/grpc-js';
import type { DrillRpc } from '@ranksafe/db';
import { RecommendRequest, SearchClient, SearchRequest } from '@ranksafe/proto';
import { unaryCall } from '@ranksafe/serving-kit';
import { FALLBACK_PRODUCT_IDS, type Workload } from './workload';

/** Sends one request; resolves with what a drill counts of the answer, rejects with the call's error (its gRPC code is the status). */
export type Sender = (rpc: DrillRpc, opts: { deadlineMs: number; requestId: string }) => Promise<{ degraded: boolean }>;

/** Results per request. */
const K = 10;
/** Recent items per Recommend-by-items request, and how many product ids seen in answers are kept. */
const RECENT_ITEMS = 3;
const SEEN_KEPT = 200;

/**
 * Who a Recommend asks for, in this order: a user of the catalog (round robin over users.jsonl's
 * users with interactions); else a few product ids recently seen in Search answers (they exist in
 * what is served); else a few of the catalog's known products (judged-query candidates); else a few
 * of FALLBACK_PRODUCT_IDS (the demo shop's first products).
 */
export class RecommendSubjects {
  private next = 0;
  private readonly seen: string[] = [];

  constructor(private readonly workload: Pick<Workload, 'userIds' | 'productIds'>) {}

  /** Product ids of an answer, the newest kept. */
  saw(ids: Iterable<string>): void {
    for (const id of ids) {
      if (!id) continue;
      this.seen.push(id);
      if (this.seen.length > SEEN_KEPT) this.seen.shift();
    }
  }

  subject(): NonNullable<RecommendRequest['subject']> {
    const n = this.next++;
    const users = this.workload.userIds;
    if (users.length) return { $case: 'userId', value: users[n % users.length]! };
    const pool = this.seen.length ? this.seen : this.workload.productIds.length ? this.workload.productIds : FALLBACK_PRODUCT_IDS;
    const itemIds = [...new Set(Array.from({ length: RECENT_ITEMS }, (_, j) => pool[(n * RECENT_ITEMS + j) % pool.length]!))];
    return { $case: 'recent', value: { itemIds } };
  }
}

/** A Sender over one gRPC channel to the gateway; queries round robin over the workload's. */
export function gatewaySender(address: string, workload: Workload): { send: Sender; close(): void } {
  const client = new SearchClient(address, grpc.credentials.createInsecure());
  const subjects = new RecommendSubjects(workload);
  let nextQuery = 0;
  const send: Sender = async (rpc, { deadlineMs, requestId }) => {
    if (rpc === 'search') {
      const query = workload.queries[nextQuery++ % workload.queries.length]!;
      const r = await unaryCall(client.search.bind(client), SearchRequest.fromPartial({ query, k: K, requestId }), { deadlineMs });
      subjects.saw(r.results.map((x) => x.product?.id ?? ''));
      return { degraded: r.degraded };
    }
    const r = await unaryCall(client.recommend.bind(client), RecommendRequest.fromPartial({ subject: subjects.subject(), k: K, requestId }), { deadlineMs });
    return { degraded: r.degraded };
  };
  return { send, close: () => client.close() };
}
