// `ops search`, `ops recommend`: the hot path through the gateway, as a shop frontend calls it.
import * as grpc from '@grpc/grpc-js';
import { type Command, InvalidArgumentError } from 'commander';
import type { StackEnv } from '@ranksafe/platform';
import { RecommendRequest, SearchClient, SearchRequest, type RecommendResponse, type SearchResponse } from '@ranksafe/proto';
import { unaryCall } from '@ranksafe/serving-kit';
import { int, replicas, table, type LoadEnv } from '../cli';

function render(res: {
  results: SearchResponse['results'];
  degraded: boolean;
  degradedReason: string;
  rankingModel?: { name: string; version: string };
}): string {
  const head = res.degraded ? `degraded (${res.degradedReason}): retrieval order` : `ranked by ${res.rankingModel?.name} ${res.rankingModel?.version}`;
  return [
    head,
    table(
      ['#', 'SCORE', 'ID', 'PRICE', 'CATEGORY', 'TITLE'],
      res.results.map((r, i) => [String(i + 1), r.score.toFixed(4), r.product!.id, r.product!.price.toFixed(2), r.product!.category, r.product!.title]),
    ),
  ].join('\n');
}

/** A Recommend answer: which path answered (and why not the sequential one), the items it ignored, the table. */
export function renderRecommend(res: RecommendResponse): string {
  const lines = [`path: ${res.path}${res.fallbackReason ? ` (sequential recommender: ${res.fallbackReason})` : ''}`];
  if (res.ignoredItemIds.length) lines.push(`ignored: ${res.ignoredItemIds.join(', ')}`);
  return [...lines, render(res)].join('\n');
}

async function withGateway<T>(cfg: StackEnv, fn: (client: SearchClient) => Promise<T>): Promise<T> {
  const [gw] = replicas(cfg, 'gateway');
  if (!gw) throw new Error('the stack has no gateway component');
  const client = new SearchClient(gw.address, grpc.credentials.createInsecure());
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** Search through the gateway, as a shop frontend would. */
export async function searchCommand(cfg: StackEnv, query: string, o: { k: number; category?: string[]; maxPrice?: number }): Promise<string> {
  return withGateway(cfg, async (client) =>
    render(
      await unaryCall(
        client.search.bind(client),
        SearchRequest.fromPartial({ query, k: o.k, filters: { categories: o.category ?? [], brands: [], maxPrice: o.maxPrice } }),
        {
          deadlineMs: 5000,
        },
      ),
    ),
  );
}

/** Recommend for a user id, or for a session of recent item ids. */
export async function recommendCommand(cfg: StackEnv, o: { user?: string; items?: string[]; k: number }): Promise<string> {
  return withGateway(cfg, async (client) => {
    const subject = o.user ? { $case: 'userId' as const, value: o.user } : { $case: 'recent' as const, value: { itemIds: o.items ?? [] } };
    return renderRecommend(await unaryCall(client.recommend.bind(client), RecommendRequest.fromPartial({ subject, k: o.k }), { deadlineMs: 5000 }));
  });
}

export function addServingCommands(program: Command, loadEnv: LoadEnv): void {
  program
    .command('search <query>')
    .description('search through the gateway')
    .option('-k <n>', 'results', int('-k', 1, 100), 10)
    .option('--category <name...>', 'only these categories (a branch like "Furniture" or a leaf)')
    .option('--max-price <price>', 'price ceiling', Number)
    .action(async (query: string, o: { k: number; category?: string[]; maxPrice?: number }) => {
      process.stdout.write(`${await searchCommand(loadEnv(), query, o)}\n`);
    });

  program
    .command('recommend')
    .description('recommend through the gateway, for a user or for recent items')
    .option('-u, --user <id>', 'user id (e.g. u0001)')
    .option('-i, --items <id...>', 'recent item ids')
    .option('-k <n>', 'results', int('-k', 1, 100), 10)
    .action(async (o: { user?: string; items?: string[]; k: number }) => {
      if (!o.user === !o.items) throw new InvalidArgumentError('give --user or --items');
      process.stdout.write(`${await recommendCommand(loadEnv(), o)}\n`);
    });
}
