// `ops status`: health of every component of the stack.
import type { Command } from 'commander';
import { expectedTopology, stackStatus, type ComponentStatus, type StackEnv } from '@ranksafe/platform';
import { int, table, type LoadEnv } from '../cli';

export async function statusCommand(cfg: StackEnv, opts: { json?: boolean; timeoutMs?: number }) {
  const state = expectedTopology(cfg);
  const rows: ComponentStatus[] = await stackStatus(state, opts.timeoutMs ?? 3000);
  const allServing = rows.every((r) => r.status === 'SERVING');
  const text = opts.json
    ? JSON.stringify({ running: state.supervisorPid !== 0, allServing, components: rows }, null, 2)
    : [
        state.supervisorPid
          ? `stack supervisor pid ${state.supervisorPid}, up since ${new Date(state.startedAtUnixMs).toISOString()}`
          : 'no running stack found (npm start writes .data/run/stack.json); checking the configured addresses',
        table(
          ['COMPONENT', 'ADDRESS', 'STATUS', 'DETAIL'],
          rows.map((r) => [r.component, r.address, r.status, r.detail]),
        ),
        allServing ? `all ${rows.length} components SERVING` : `${rows.filter((r) => r.status !== 'SERVING').length} of ${rows.length} components not SERVING`,
      ].join('\n');
  return { text, ok: allServing };
}

export function addStatusCommands(program: Command, loadEnv: LoadEnv): void {
  program
    .command('status')
    .description('health of every component of the stack (exit 1 when one is not SERVING)')
    .option('--json', 'machine-readable output')
    .option('--timeout <ms>', 'per-check timeout', int('--timeout', 100, 60_000), 3000)
    .action(async (o: { json?: boolean; timeout: number }) => {
      const { text, ok } = await statusCommand(loadEnv(), { json: o.json, timeoutMs: o.timeout });
      process.stdout.write(`${text}\n`);
      process.exitCode = ok ? 0 : 1;
    });
}
