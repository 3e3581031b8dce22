// The Temporal Schedules ranksafe keeps: today the registry backup (BackupSnapshot every
// interval, overlap skip). `npm start` and `ops snapshot schedule` create it or bring it in line
// with the configuration; the Temporal UI shows it under Schedules.
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { backupSnapshotWorkflow, ids, monitorWorkflow, SA, type BackupSnapshotInput } from '@ranksafe/workflows';

export interface SnapshotScheduleOptions {
  taskQueue: string;
  /** How often to snapshot. */
  intervalMs: number;
  /** RPO objective passed to every run (the run says whether it is met). */
  rpoTargetMs: number;
  /** Paused schedules keep their config but start nothing. */
  paused?: boolean;
  scheduleId?: string;
}

export interface SnapshotScheduleState {
  scheduleId: string;
  created: boolean;
  intervalMs: number;
  paused: boolean;
  nextActionTimes: Date[];
  recentActions: Array<{ workflowId: string; takenAt: Date }>;
}

const action = (o: SnapshotScheduleOptions) => ({
  type: 'startWorkflow' as const,
  workflowType: backupSnapshotWorkflow,
  workflowId: ids.snapshotSchedule,
  taskQueue: o.taskQueue,
  args: [{ rpoTargetMs: o.rpoTargetMs } satisfies BackupSnapshotInput] as [BackupSnapshotInput],
  typedSearchAttributes: [
    { key: SA.Operation, value: 'snapshot' },
    { key: SA.Target, value: 'model-registry' },
  ],
  staticSummary: 'scheduled registry backup: snapshot + verify + RPO',
});

/** Create the backup schedule, or update it to these options when it exists. */
export async function ensureSnapshotSchedule(client: Client, o: SnapshotScheduleOptions): Promise<SnapshotScheduleState> {
  const scheduleId = o.scheduleId ?? ids.snapshotSchedule;
  const spec = { intervals: [{ every: o.intervalMs }] };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: Math.max(o.intervalMs, 60_000) };
  let created = true;
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action: action(o),
      policies,
      state: { paused: o.paused ?? false, note: o.paused ? 'paused by configuration' : undefined },
      memo: { summary: `registry backup every ${Math.round(o.intervalMs / 1000)} s (RPO target ${Math.round(o.rpoTargetMs / 1000)} s)` },
    });
  } catch (e) {
    if (!(e instanceof ScheduleAlreadyRunning)) throw e;
    created = false;
    await client.schedule.getHandle(scheduleId).update((prev) => ({
      ...prev,
      spec,
      action: action(o),
      policies,
      state: { ...prev.state, paused: o.paused ?? false },
    }));
  }
  return describeSnapshotSchedule(client, scheduleId, created);
}

export async function describeSnapshotSchedule(client: Client, scheduleId: string = ids.snapshotSchedule, created = false): Promise<SnapshotScheduleState> {
  const d = await client.schedule.getHandle(scheduleId).describe();
  const every = d.spec.intervals?.[0]?.every;
  return {
    scheduleId,
    created,
    intervalMs: typeof every === 'number' ? every : Number(every ?? 0),
    paused: d.state.paused,
    nextActionTimes: d.info.nextActionTimes,
    recentActions: d.info.recentActions.map((a) => ({ workflowId: a.action.workflow.workflowId, takenAt: a.takenAt })),
  };
}

/** Start the FailureDetection monitor of a tier unless one runs already (then it is left as is). */
export async function ensureMonitor(
  client: Client,
  o: {
    taskQueue: string;
    tier: string;
    replicas: Array<{ instance: string; address: string }>;
    intervalMs?: number;
    failureThreshold?: number;
    latencySloMs?: number;
  },
): Promise<{ workflowId: string; started: boolean }> {
  const workflowId = ids.monitor(o.tier);
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    if (d.status.name === 'RUNNING') return { workflowId, started: false };
  } catch {
    /* never ran */
  }
  await client.workflow.start(monitorWorkflow, {
    taskQueue: o.taskQueue,
    workflowId,
    args: [{ tier: o.tier, replicas: o.replicas, intervalMs: o.intervalMs, failureThreshold: o.failureThreshold, latencySloMs: o.latencySloMs }],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    typedSearchAttributes: [
      { key: SA.Operation, value: 'monitor' },
      { key: SA.Target, value: o.tier },
    ],
    staticSummary: `failure detection of ${o.tier}: ${o.replicas.map((r) => r.instance).join(', ')}`,
  });
  return { workflowId, started: true };
}
