// `ops incidents`, `ops recover`, `ops monitor`, `ops snapshot schedule|run`: the cold path's
// durable operations (Temporal workflows run by the drill-worker) and their log in Postgres.
import type { Command } from 'commander';
import { createPool, listIncidents, listSteps } from '@ranksafe/db';
import { describeSnapshotSchedule, ensureSnapshotSchedule, expectedTopology, type StackEnv } from '@ranksafe/platform';
import {
  backupSnapshotStatusQuery,
  backupSnapshotWorkflow,
  ids,
  monitorStatusQuery,
  recoveryStatusQuery,
  recoveryWorkflow,
  type BackupSnapshotResult,
  type RecoveryResult,
  type TimelineEntry,
} from '@ranksafe/workflows';
import { fields, fmtAge, int, replicas, run, say, table, withTemporal, type LoadEnv } from '../cli';

/** Print each new step of a running workflow as it happens (polls its `status` query). */
async function follow<T>(poll: () => Promise<{ timeline: TimelineEntry[] } | undefined>, done: Promise<T>): Promise<T> {
  let shown = 0;
  let finished = false;
  const out = (t: TimelineEntry) =>
    process.stderr.write(
      `  ${new Date(t.atUnixMs).toISOString().slice(11, 23)}  ${t.step.padEnd(16)} ${t.state}${t.durationMs !== undefined ? ` (${t.durationMs} ms)` : ''}\n`,
    );
  const tick = async () => {
    const s = await poll().catch(() => undefined);
    for (const t of s?.timeline.slice(shown) ?? []) out(t);
    shown = Math.max(shown, s?.timeline.length ?? 0);
  };
  const loop = (async () => {
    while (!finished) {
      await tick();
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  try {
    return await done;
  } finally {
    finished = true;
    await loop;
    await tick();
  }
}

export async function incidentsCommand(cfg: StackEnv, o: { open?: boolean; limit: number }): Promise<string> {
  const pool = createPool(expectedTopology(cfg).databaseUrl, { max: 1 });
  try {
    const rows = await listIncidents(pool, { openOnly: o.open, limit: o.limit });
    if (!rows.length) return o.open ? 'no open incidents' : 'no incidents recorded';
    return table(
      ['DETECTED', 'INSTANCE', 'STATE', 'MTTD', 'RECOVERED IN', 'REASON', 'RECOVERY'],
      rows.map((i) => [
        i.detectedAt.toISOString(),
        i.instance,
        i.state,
        i.firstFailureAt ? `${i.detectedAt.getTime() - i.firstFailureAt.getTime()} ms` : '-',
        i.recoveredAt ? `${i.recoveredAt.getTime() - i.detectedAt.getTime()} ms` : '-',
        i.reason,
        i.recoveryWorkflowId ?? '-',
      ]),
    );
  } finally {
    await pool.end();
  }
}

export async function recoverCommand(cfg: StackEnv, instance: string): Promise<string> {
  const state = expectedTopology(cfg);
  const c = state.components.find((x) => x.instance === instance);
  if (!c?.grpcAddress || (c.app !== 'ranking-service' && c.app !== 'retrieval-service')) {
    throw new Error(
      `${instance} is not a ranking or retrieval replica of this stack (${[...replicas(cfg, 'ranking-service'), ...replicas(cfg, 'retrieval-service')].map((r) => r.instance).join(', ')})`,
    );
  }
  return withTemporal(state, async (client) => {
    const h = await client.workflow.start(recoveryWorkflow, {
      taskQueue: state.temporalTaskQueue,
      workflowId: ids.recovery(instance),
      args: [{ instance, tier: c.app, address: c.grpcAddress!, reason: 'started by hand (ops recover)' }],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
    say(`recovery ${h.workflowId} started`);
    const r: RecoveryResult = await follow(() => h.query(recoveryStatusQuery), h.result());
    const pool = createPool(state.databaseUrl, { max: 1 });
    try {
      // The step log in Postgres: `writes` > 1 would mean a step's record was written again.
      const logged = await listSteps(pool, h.workflowId, (await h.describe()).runId);
      return [
        `${instance} recovered in ${r.timeToRecoverMs} ms (${r.restarted ? 'restarted' : 'already running, not restarted'}; serving ${r.version})`,
        table(
          ['STEP', 'STATE', 'MS', 'WRITES'],
          logged.filter((x) => x.state !== 'started').map((x) => [x.step, x.state, String((x.detail ?? {}).durationMs ?? ''), String(x.writes)]),
        ),
      ].join('\n');
    } finally {
      await pool.end();
    }
  });
}

export async function monitorStatusCommand(cfg: StackEnv): Promise<string> {
  const state = expectedTopology(cfg);
  return withTemporal(state, async (client) => {
    const lines: string[][] = [];
    for (const tier of ['ranking-service', 'retrieval-service']) {
      try {
        const s = await client.workflow.getHandle(ids.monitor(tier)).query(monitorStatusQuery);
        lines.push([
          ids.monitor(tier),
          s.probing.join(',') || '-',
          s.recovering.join(',') || '-',
          Object.keys(s.planned).join(',') || '-',
          String(s.incidents),
          s.lastIncident ? `${s.lastIncident.instance}: ${s.lastIncident.reason}` : '-',
        ]);
      } catch (e) {
        lines.push([ids.monitor(tier), `not running (${(e as Error).message.split('\n')[0]})`, '', '', '', '']);
      }
    }
    return table(['MONITOR', 'PROBING', 'RECOVERING', 'PLANNED DRAIN', 'INCIDENTS', 'LAST'], lines);
  });
}

export async function snapshotScheduleCommand(cfg: StackEnv, o: { interval?: number; pause?: boolean; resume?: boolean }): Promise<string> {
  const state = expectedTopology(cfg);
  return withTemporal(state, async (client) => {
    const s =
      o.interval !== undefined || o.pause || o.resume
        ? await ensureSnapshotSchedule(client, {
            taskQueue: state.temporalTaskQueue,
            intervalMs: o.interval ?? (await describeSnapshotSchedule(client).catch(() => undefined))?.intervalMs ?? cfg.SNAPSHOT_INTERVAL_MS,
            rpoTargetMs: cfg.SNAPSHOT_RPO_TARGET_MS,
            paused: o.pause ? true : o.resume ? false : undefined,
          })
        : await describeSnapshotSchedule(client);
    return fields([
      ['schedule', `${s.scheduleId}${s.created ? ' (created)' : ''}`],
      ['every', fmtAge(s.intervalMs)],
      ['state', s.paused ? 'paused' : 'active'],
      [
        'next runs',
        s.nextActionTimes
          .slice(0, 3)
          .map((t) => t.toISOString())
          .join(', ') || '-',
      ],
      [
        'recent runs',
        s.recentActions
          .slice(-5)
          .map((a) => `${a.workflowId} at ${a.takenAt.toISOString()}`)
          .join('\n') || '-',
      ],
    ]);
  });
}

export async function snapshotRunCommand(cfg: StackEnv): Promise<string> {
  const state = expectedTopology(cfg);
  return withTemporal(state, async (client) => {
    const h = await client.workflow.start(backupSnapshotWorkflow, {
      taskQueue: state.temporalTaskQueue,
      workflowId: ids.snapshotRun(Date.now()),
      args: [{ rpoTargetMs: cfg.SNAPSHOT_RPO_TARGET_MS }],
    });
    say(`backup ${h.workflowId} started`);
    const r: BackupSnapshotResult = await follow(() => h.query(backupSnapshotStatusQuery), h.result());
    return `snapshot ${r.snapshotId} ${r.verified ? 'verified' : 'NOT verified'}: ${r.rows} rows, ${r.artifacts} artifacts; RPO ${r.rpoMs < 0 ? 'none verified' : fmtAge(r.rpoMs)} (target ${fmtAge(r.rpoTargetMs)}${r.rpoMet ? ', met' : ', NOT met'}) in ${r.durationMs} ms`;
  });
}

export function addOperationCommands(program: Command, loadEnv: LoadEnv): void {
  program
    .command('incidents')
    .description('incidents failure detection opened, newest first, with time to detect and to recover')
    .option('--open', 'only open or recovering ones')
    .option('-n, --limit <n>', 'how many', int('--limit', 1, 1000), 20)
    .action(run((o: { open?: boolean; limit: number }) => incidentsCommand(loadEnv(), o)));
  program
    .command('recover <instance>')
    .description('run the Recovery workflow on a replica now (drain, restart, production version, verify, re-admit) and follow its steps')
    .action(run((instance: string) => recoverCommand(loadEnv(), instance)));
  program
    .command('monitor')
    .description('what the failure-detection monitors watch, and their last incident')
    .action(run(() => monitorStatusCommand(loadEnv())));
}

export function addSnapshotScheduleCommands(snapshot: Command, loadEnv: LoadEnv): void {
  snapshot
    .command('schedule')
    .description('show the backup schedule (a Temporal Schedule of BackupSnapshot), or change it')
    .option('--interval <ms>', 'snapshot this often', int('--interval', 1000, 30 * 24 * 3600_000))
    .option('--pause', 'stop scheduling backups')
    .option('--resume', 'start scheduling them again')
    .action(run((o: { interval?: number; pause?: boolean; resume?: boolean }) => snapshotScheduleCommand(loadEnv(), o)));
  snapshot
    .command('run')
    .description('run one BackupSnapshot workflow now (snapshot, verify, RPO) and follow its steps')
    .action(run(() => snapshotRunCommand(loadEnv())));
}
