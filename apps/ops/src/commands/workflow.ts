// `ops ping-workflow`, `ops events`: the drill-worker round trip and the platform's lifecycle log.
import type { Command } from 'commander';
import { createPool, listPlatformEvents } from '@ranksafe/db';
import { expectedTopology, type StackEnv } from '@ranksafe/platform';
import { pingWorkflow, type PingWorkflowResult } from '@ranksafe/workflows';
import { int, table, withTemporal, type LoadEnv } from '../cli';

export async function pingWorkflowCommand(
  cfg: StackEnv,
  opts: { message: string; rounds: number; timeoutMs: number },
): Promise<{ workflowId: string; result: PingWorkflowResult; ms: number }> {
  const state = expectedTopology(cfg);
  return withTemporal(state, async (client) => {
    const workflowId = `ping-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const t0 = Date.now();
    const handle = await client.workflow.start(pingWorkflow, {
      taskQueue: state.temporalTaskQueue,
      workflowId,
      args: [opts.message, opts.rounds],
      workflowExecutionTimeout: opts.timeoutMs,
    });
    const result = await handle.result();
    return { workflowId, result, ms: Date.now() - t0 };
  });
}

export async function eventsCommand(cfg: StackEnv, opts: { instance?: string; limit: number }): Promise<string> {
  const state = expectedTopology(cfg);
  const pool = createPool(state.databaseUrl, { max: 1 });
  try {
    const events = await listPlatformEvents(pool, { instance: opts.instance, limit: opts.limit });
    return table(
      ['AT', 'INSTANCE', 'EVENT', 'DETAIL'],
      events.map((e) => [new Date(e.at).toISOString(), e.instance, e.event, JSON.stringify(e.detail)]),
    );
  } finally {
    await pool.end();
  }
}

export function addWorkflowCommands(program: Command, loadEnv: LoadEnv): void {
  program
    .command('ping-workflow')
    .description('start the ping workflow on the drill-worker and wait for its result')
    .option('-m, --message <text>', 'message to send', 'ping')
    .option('-n, --rounds <n>', 'activity round trips', int('--rounds', 1, 100), 1)
    .option('--timeout <ms>', 'give up after', int('--timeout', 1000, 600_000), 30_000)
    .action(async (o: { message: string; rounds: number; timeout: number }) => {
      const r = await pingWorkflowCommand(loadEnv(), { message: o.message, rounds: o.rounds, timeoutMs: o.timeout });
      process.stdout.write(
        `workflow ${r.workflowId} completed in ${r.ms} ms: "${r.result.message}" answered by worker ${r.result.worker} pid ${r.result.pid} (${r.result.roundTrips} round trip(s))\n`,
      );
    });

  program
    .command('events')
    .description('lifecycle events of the supervised components, newest first')
    .option('-i, --instance <name>', 'only this instance (e.g. ranking-service-1)')
    .option('-n, --limit <n>', 'how many', int('--limit', 1, 1000), 30)
    .action(async (o: { instance?: string; limit: number }) => {
      process.stdout.write(`${await eventsCommand(loadEnv(), o)}\n`);
    });
}
