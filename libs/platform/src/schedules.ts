// The Temporal Schedules ranksafe keeps: the registry backup (BackupSnapshot every interval,
// overlap skip), and recurring drills (`drill-<scenario>`: DrillWorkflow every interval, overlap
// skip: a game day on the calendar). `npm start` and `ops snapshot schedule` create the backup
// schedule or bring it in line with the configuration; `ops drill schedule` the drill ones. The
// Temporal UI shows them under Schedules. One helper creates or updates an interval schedule and
// one describes it, so both kinds behave alike.
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { CATALOG, SCENARIO_NAMES, type DrillInput, type ScenarioName } from '@ranksafe/drills';
import { backupSnapshotWorkflow, drillWorkflow, ids, monitorWorkflow, SA, type BackupSnapshotInput } from '@ranksafe/workflows';

/** Where a schedule stands: its interval, whether paused, what it will start and what it started. */
export interface ScheduleState {
  scheduleId: string;
  created: boolean;
  intervalMs: number;
  paused: boolean;
  nextActionTimes: Date[];
  recentActions: Array<{ workflowId: string; takenAt: Date }>;
}

interface IntervalSchedule {
  scheduleId: string;
  intervalMs: number;
  action: ScheduleOptionsStartWorkflowAction<Workflow>;
  /** true / false: paused or not. undefined: a new schedule runs, an existing one keeps its state. */
  paused: boolean | undefined;
  /** Why it is paused (shown in the UI), when it is created paused. */
  note?: string;
  /** The memo's `summary`, set when the schedule is created. */
  summary: string;
}

/** Create an interval schedule (overlap SKIP), or update the one with this id to these settings. */
async function ensureIntervalSchedule(client: Client, s: IntervalSchedule): Promise<ScheduleState> {
  const spec = { intervals: [{ every: s.intervalMs }] };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: Math.max(s.intervalMs, 60_000) };
  let created = true;
  try {
    await client.schedule.create({
      scheduleId: s.scheduleId,
      spec,
      action: s.action,
      policies,
      state: { paused: s.paused ?? false, note: s.paused ? s.note : undefined },
      memo: { summary: s.summary },
    });
  } catch (e) {
    if (!(e instanceof ScheduleAlreadyRunning)) throw e;
    created = false;
    await client.schedule.getHandle(s.scheduleId).update((prev) => ({
      ...prev,
      spec,
      action: s.action,
      policies,
      state: { ...prev.state, paused: s.paused ?? prev.state.paused },
    }));
  }
  return describeSchedule(client, s.scheduleId, created);
}

/** A schedule's interval, state, next and recent runs (throws ScheduleNotFoundError when there is none). */
export async function describeSchedule(client: Client, scheduleId: string, created = false): Promise<ScheduleState> {
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

// -- the registry backup --------------------------------------------------------------------

export interface SnapshotScheduleOptions {
  taskQueue: string;
  /** How often to snapshot. */
  intervalMs: number;
  /** RPO objective passed to every run (the run says whether it is met). */
  rpoTargetMs: number;
  /** Paused schedules keep their config but start nothing (the configuration decides: unset = running). */
  paused?: boolean;
  scheduleId?: string;
}

export type SnapshotScheduleState = ScheduleState;

const snapshotAction = (o: SnapshotScheduleOptions) => ({
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
  return ensureIntervalSchedule(client, {
    scheduleId: o.scheduleId ?? ids.snapshotSchedule,
    intervalMs: o.intervalMs,
    action: snapshotAction(o),
    paused: o.paused ?? false,
    note: 'paused by configuration',
    summary: `registry backup every ${Math.round(o.intervalMs / 1000)} s (RPO target ${Math.round(o.rpoTargetMs / 1000)} s)`,
  });
}

export async function describeSnapshotSchedule(client: Client, scheduleId: string = ids.snapshotSchedule, created = false): Promise<SnapshotScheduleState> {
  return describeSchedule(client, scheduleId, created);
}

// -- recurring drills -----------------------------------------------------------------------

/**
 * The schedule of a scenario, `drill-<scenario>`. It is also the prefix of the workflow id of each
 * run it starts: Temporal appends the scheduled time (`drill-ranking-replica-kill-2026-12-02T07:15:00Z`).
 */
export const drillScheduleId = (scenario: string) => `drill-${scenario}`;

export interface DrillScheduleOptions {
  taskQueue: string;
  /** The one input every run gets (its `scenario` names the schedule). */
  input: DrillInput;
  /** How often to run the drill. */
  intervalMs: number;
  /** true: pause, false: resume; undefined: a new schedule runs, an existing one keeps its state. */
  paused?: boolean;
  /** Why it is paused (shown in the UI), when it is created paused. */
  note?: string;
}

export interface DrillScheduleState extends ScheduleState {
  scenario: string;
  /** The input each run gets, as the schedule holds it. */
  input?: DrillInput;
}

const drillAction = (o: DrillScheduleOptions) => ({
  type: 'startWorkflow' as const,
  workflowType: drillWorkflow,
  workflowId: drillScheduleId(o.input.scenario),
  taskQueue: o.taskQueue,
  args: [o.input] as [DrillInput],
  typedSearchAttributes: [
    { key: SA.Operation, value: 'drill' },
    { key: SA.DrillScenario, value: o.input.scenario },
  ],
  staticSummary: `scheduled drill: ${CATALOG[o.input.scenario]?.title ?? o.input.scenario}${o.input.dryRun ? ' (dry run)' : ''}`,
});

/** Create the scenario's drill schedule, or update it (interval, input, paused) when it exists. */
export async function ensureDrillSchedule(client: Client, o: DrillScheduleOptions): Promise<DrillScheduleState> {
  if (!(SCENARIO_NAMES as readonly string[]).includes(o.input.scenario)) throw new Error(`no drill scenario ${JSON.stringify(o.input.scenario)}`);
  const s = await ensureIntervalSchedule(client, {
    scheduleId: drillScheduleId(o.input.scenario),
    intervalMs: o.intervalMs,
    action: drillAction(o),
    paused: o.paused,
    note: o.note ?? 'paused',
    summary: `drill ${o.input.scenario} every ${Math.round(o.intervalMs / 1000)} s`,
  });
  return { ...s, scenario: o.input.scenario, input: o.input };
}

/** The scenario's drill schedule, or undefined when there is none. */
export async function describeDrillSchedule(client: Client, scenario: ScenarioName | string): Promise<DrillScheduleState | undefined> {
  const scheduleId = drillScheduleId(scenario);
  try {
    const [s, d] = await Promise.all([describeSchedule(client, scheduleId), client.schedule.getHandle(scheduleId).describe()]);
    const input = d.action.type === 'startWorkflow' ? (d.action.args?.[0] as DrillInput | undefined) : undefined;
    return { ...s, scenario, input };
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) return undefined;
    throw e;
  }
}

/** Delete the scenario's drill schedule (runs it started are left alone); false when there was none. */
export async function deleteDrillSchedule(client: Client, scenario: ScenarioName | string): Promise<boolean> {
  try {
    await client.schedule.getHandle(drillScheduleId(scenario)).delete();
    return true;
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) return false;
    throw e;
  }
}

// -- monitors -------------------------------------------------------------------------------

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
