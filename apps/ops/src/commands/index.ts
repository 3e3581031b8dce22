// `ops index describe|load`: the catalog index each retrieval replica serves, and rolling a new
// one out to them.
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Command } from 'commander';
import { adminToken, type StackEnv } from '@ranksafe/platform';
import { RetrievalClient } from '@ranksafe/proto';
import { adminMetadata, unaryCall, waitForServing } from '@ranksafe/serving-kit';
import { replicas, table, type LoadEnv } from '../cli';

async function withRetrieval<T>(address: string, fn: (client: RetrievalClient) => Promise<T>): Promise<T> {
  const client = new RetrievalClient(address, grpc.credentials.createInsecure());
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** Which catalog index each retrieval replica serves. */
export async function indexDescribeCommand(cfg: StackEnv): Promise<string> {
  const rows: string[][] = [];
  for (const r of replicas(cfg, 'retrieval-service')) {
    try {
      const d = await withRetrieval(r.address, (client) => unaryCall(client.describeIndex.bind(client), {}, { deadlineMs: 3000 }));
      rows.push([r.instance, d.indexVersion, String(d.products), String(d.users), new Date(d.loadedAtUnixMs).toISOString(), d.path]);
    } catch (e) {
      rows.push([r.instance, `UNREACHABLE (${(e as grpc.ServiceError).details ?? (e as Error).message})`, '', '', '', '']);
    }
  }
  return table(['REPLICA', 'INDEX', 'PRODUCTS', 'USERS', 'LOADED AT', 'PATH'], rows);
}

/**
 * Roll a catalog index out to the retrieval replicas one at a time: each drains (NOT_SERVING),
 * loads and verifies the index, swaps, and must be SERVING again before the next one starts. A
 * replica that refuses the index (bad sha256, wrong model) stops the rollout; the rest keep theirs.
 *
 * This is control logic that stays in the CLI for now, over the typed clients only (no state of
 * its own beyond the loop): it moves into the ModelRollout workflow (kind CATALOG_INDEX, canary =
 * one replica of N) as that lands, and this command then starts that workflow instead.
 */
export async function indexLoadCommand(cfg: StackEnv, indexPath: string, say: (line: string) => void): Promise<void> {
  const md = adminMetadata(new grpc.Metadata(), adminToken(cfg));
  const localPath = path.resolve(indexPath);
  for (const r of replicas(cfg, 'retrieval-service')) {
    try {
      const t0 = Date.now();
      const res = await withRetrieval(r.address, (client) =>
        unaryCall(client.loadIndex.bind(client), { source: { $case: 'localPath', value: localPath } }, { metadata: md, deadlineMs: 300_000 }),
      );
      if (!(await waitForServing(r.address, 60_000, 'ranksafe.v1.Retrieval'))) throw new Error(`${r.instance} did not report SERVING after loading`);
      say(`${r.instance}: serving ${res.indexVersion} (${res.products} products) after ${Date.now() - t0} ms`);
    } catch (e) {
      throw new Error(`${r.instance} refused ${localPath}: ${(e as grpc.ServiceError).details ?? (e as Error).message}; later replicas were not changed`);
    }
  }
}

export function addIndexCommands(program: Command, loadEnv: LoadEnv): void {
  const index = program.command('index').description('catalog indexes served by the retrieval replicas');
  index
    .command('describe')
    .description('the index each retrieval replica serves')
    .action(async () => {
      process.stdout.write(`${await indexDescribeCommand(loadEnv())}\n`);
    });
  index
    .command('load <path>')
    .description('roll an index (a version directory or a root with CURRENT) out to the retrieval replicas, one at a time')
    .action(async (p: string) => {
      await indexLoadCommand(loadEnv(), p, (line) => process.stdout.write(`${line}\n`));
    });
}
