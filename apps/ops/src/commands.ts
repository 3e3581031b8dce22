import { Client, Connection } from '@temporalio/client';
import { createPool, listPlatformEvents } from '@ranksafe/db';
import { expectedTopology, stackStatus, type ComponentStatus, type StackEnv, type StackState } from '@ranksafe/platform';
import { pingWorkflow, type PingWorkflowResult } from '@ranksafe/workflows';

/** Render rows as an aligned text table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export async function statusCommand(cfg: StackEnv, opts: { json?: boolean; timeoutMs?: number }) {
  const state = expectedTopology(cfg);
  const rows: ComponentStatus[] = await stackStatus(state, opts.timeoutMs ?? 3000);
  const allServing = rows.every((r) => r.status === 'SERVING');
  const text = opts.json
    ? JSON.stringify({ running: state.supervisorPid !== 0, allServing, components: rows }, null, 2)
    : [
        state.supervisorPid ? `stack supervisor pid ${state.supervisorPid}, up since ${new Date(state.startedAtUnixMs).toISOString()}` : 'no running stack found (npm start writes .data/run/stack.json); checking the configured addresses',
        table(['COMPONENT', 'ADDRESS', 'STATUS', 'DETAIL'], rows.map((r) => [r.component, r.address, r.status, r.detail])),
        allServing ? `all ${rows.length} components SERVING` : `${rows.filter((r) => r.status !== 'SERVING').length} of ${rows.length} components not SERVING`,
      ].join('\n');
  return { text, ok: allServing };
}

export async function withTemporal<T>(state: StackState, fn: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: state.temporalAddress, connectTimeout: 5000 });
  try {
    return await fn(new Client({ connection, namespace: state.temporalNamespace }));
  } finally {
    await connection.close();
  }
}

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
