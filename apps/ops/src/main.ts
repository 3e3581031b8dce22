import { Command, InvalidArgumentError } from 'commander';
import { loadStackEnv } from '@ranksafe/platform';
import { runMain } from '@ranksafe/serving-kit';
import { eventsCommand, pingWorkflowCommand, statusCommand } from './commands';
import { addModelCommands, addSnapshotCommands } from './registry';
import { indexDescribeCommand, indexLoadCommand, recommendCommand, searchCommand } from './serving';

const int = (name: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
  return n;
};

runMain('ops', async () => {
  const program = new Command('ops')
    .description('ranksafe operations: status, workflows, drills, rollouts, snapshots')
    .showHelpAfterError();

  program
    .command('status')
    .description('health of every component of the stack (exit 1 when one is not SERVING)')
    .option('--json', 'machine-readable output')
    .option('--timeout <ms>', 'per-check timeout', int('--timeout', 100, 60_000), 3000)
    .action(async (o: { json?: boolean; timeout: number }) => {
      const { text, ok } = await statusCommand(loadStackEnv(), { json: o.json, timeoutMs: o.timeout });
      process.stdout.write(`${text}\n`);
      process.exitCode = ok ? 0 : 1;
    });

  program
    .command('ping-workflow')
    .description('start the ping workflow on the drill-worker and wait for its result')
    .option('-m, --message <text>', 'message to send', 'ping')
    .option('-n, --rounds <n>', 'activity round trips', int('--rounds', 1, 100), 1)
    .option('--timeout <ms>', 'give up after', int('--timeout', 1000, 600_000), 30_000)
    .action(async (o: { message: string; rounds: number; timeout: number }) => {
      const r = await pingWorkflowCommand(loadStackEnv(), { message: o.message, rounds: o.rounds, timeoutMs: o.timeout });
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
      process.stdout.write(`${await eventsCommand(loadStackEnv(), o)}\n`);
    });

  program
    .command('search <query>')
    .description('search through the gateway')
    .option('-k <n>', 'results', int('-k', 1, 100), 10)
    .option('--category <name...>', 'only these categories (a branch like "Furniture" or a leaf)')
    .option('--max-price <price>', 'price ceiling', Number)
    .action(async (query: string, o: { k: number; category?: string[]; maxPrice?: number }) => {
      process.stdout.write(`${await searchCommand(loadStackEnv(), query, o)}\n`);
    });

  program
    .command('recommend')
    .description('recommend through the gateway, for a user or for recent items')
    .option('-u, --user <id>', 'user id (e.g. u0001)')
    .option('-i, --items <id...>', 'recent item ids')
    .option('-k <n>', 'results', int('-k', 1, 100), 10)
    .action(async (o: { user?: string; items?: string[]; k: number }) => {
      if (!o.user === !o.items) throw new InvalidArgumentError('give --user or --items');
      process.stdout.write(`${await recommendCommand(loadStackEnv(), o)}\n`);
    });

  const index = program.command('index').description('catalog indexes served by the retrieval replicas');
  index
    .command('describe')
    .description('the index each retrieval replica serves')
    .action(async () => {
      process.stdout.write(`${await indexDescribeCommand(loadStackEnv())}\n`);
    });
  index
    .command('load <path>')
    .description('roll an index (a version directory or a root with CURRENT) out to the retrieval replicas, one at a time')
    .action(async (p: string) => {
      await indexLoadCommand(loadStackEnv(), p, (line) => process.stdout.write(`${line}\n`));
    });

  addModelCommands(program, () => loadStackEnv());
  addSnapshotCommands(program, () => loadStackEnv());

  await program.parseAsync(process.argv);
});
