// FailureDetection: a long-running monitor per tier. One heartbeating probe activity watches all
// replicas and returns only on a failure (or after a while), so sub-second probing writes no
// history per probe. Each incident starts exactly one Recovery (child workflow `recover-<instance>`,
// abandoned on close; Temporal refuses a second one of the same id while it runs). A planned drain
// announced by signal is not an incident. Continues as new before history grows large.
import {
  ActivityCancellationType,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type { Activities, ProbeResult } from '@ranksafe/activities';
import { errorMessage, invalidInput } from '../shared/errors';
import { ids } from '../shared/ids';
import { SA } from '../shared/search-attributes';
import { recoveryFinishedSignal } from '../recover/messages';
import { recoveryWorkflow } from '../recover/workflow';
import { announceDrainSignal, endDrainSignal, monitorStatusQuery, type MonitorInput, type MonitorStatus } from './messages';

// When the set of replicas to probe changes, the running probe is abandoned rather than cancelled
// (it ends by itself within PROBE_WINDOW_MS, its result ignored): a cancel request racing the
// probe's own completion made the test server fail workflow tasks (ACTIVITY_UNKNOWN).
const { probeUntilFailure } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '5 seconds',
  cancellationType: ActivityCancellationType.ABANDON,
  retry: { initialInterval: '200 milliseconds', maximumInterval: '5 seconds' },
});
const { recordIncident } = proxyActivities<Activities>({ startToCloseTimeout: '5 seconds', retry: { maximumAttempts: 5 } });

/** How long one probe activity runs before returning to the workflow (then it probes again). */
const PROBE_WINDOW_MS = 10_000;
/** How long a replica whose recovery failed is left alone before it is probed again. */
const UNRECOVERED_COOLDOWN_MS = 5 * 60_000;

function validate(input: unknown): MonitorInput {
  const i = (input ?? {}) as MonitorInput;
  const problems: string[] = [];
  if (typeof i.tier !== 'string' || !i.tier) problems.push('tier is required');
  if (!Array.isArray(i.replicas) || i.replicas.length === 0) problems.push('replicas must list at least one {instance, address}');
  else
    for (const [n, r] of i.replicas.entries())
      if (typeof r?.instance !== 'string' || typeof r?.address !== 'string') problems.push(`replicas[${n}] needs instance and address`);
  for (const k of ['intervalMs', 'failureThreshold', 'probeTimeoutMs'] as const)
    if (i[k] !== undefined && !(Number.isInteger(i[k]) && (i[k] as number) > 0)) problems.push(`${k} must be a positive integer`);
  if (i.latencySloMs !== undefined && !(Number.isInteger(i.latencySloMs) && i.latencySloMs >= 0)) problems.push('latencySloMs must be an integer >= 0');
  if (problems.length) throw invalidInput('monitorWorkflow', problems);
  return i;
}

export async function monitorWorkflow(input: MonitorInput): Promise<void> {
  const cfg = validate(input);
  const planned = new Map<string, number>(Object.entries(cfg.planned ?? {}));
  const recovering = new Set<string>(cfg.recovering ?? []);
  const status: MonitorStatus = { tier: cfg.tier, probing: [], planned: {}, recovering: [], incidents: cfg.incidents ?? 0, probeRounds: 0 };
  let scope: CancellationScope | undefined;
  let changed = false;
  const change = () => {
    changed = true;
    scope?.cancel();
  };
  setHandler(monitorStatusQuery, () => ({ ...status, planned: Object.fromEntries(planned), recovering: [...recovering] }));
  setHandler(announceDrainSignal, ({ instance, forMs }) => {
    planned.set(instance, Date.now() + Math.max(0, forMs));
    change();
  });
  setHandler(endDrainSignal, ({ instance }) => {
    planned.delete(instance);
    change();
  });
  setHandler(recoveryFinishedSignal, ({ instance, outcome }) => {
    recovering.delete(instance);
    // An unrecovered replica needs a person (the incident says so): probe it again only after a
    // cool-down, rather than opening a new incident every few seconds.
    if (outcome === 'unrecovered') planned.set(instance, Date.now() + UNRECOVERED_COOLDOWN_MS);
    change();
  });
  upsertSearchAttributes([
    { key: SA.Operation, value: 'monitor' },
    { key: SA.Target, value: cfg.tier },
    { key: SA.OperationState, value: 'watching' },
  ]);

  for (;;) {
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 2000) {
      await condition(() => true); // let signal handlers that already arrived run first
      return continueAsNew<typeof monitorWorkflow>({ ...cfg, planned: Object.fromEntries(planned), recovering: [...recovering], incidents: status.incidents });
    }
    const now = Date.now();
    for (const [i, until] of planned) if (until <= now) planned.delete(i);
    const targets = cfg.replicas.filter((r) => !planned.has(r.instance) && !recovering.has(r.instance));
    status.probing = targets.map((t) => t.instance);
    const nextExpiry = Math.min(...[...planned.values()].map((u) => u - now), PROBE_WINDOW_MS);
    if (targets.length === 0) {
      await condition(() => changed, Math.max(nextExpiry, 100));
      changed = false;
      continue;
    }
    changed = false;
    let result: ProbeResult | undefined;
    try {
      scope = new CancellationScope();
      result = await scope.run(() =>
        probeUntilFailure({
          tier: cfg.tier,
          replicas: targets,
          intervalMs: cfg.intervalMs ?? 250,
          failureThreshold: cfg.failureThreshold ?? 3,
          probeTimeoutMs: cfg.probeTimeoutMs ?? 1000,
          latencySloMs: cfg.latencySloMs ?? 0,
          maxDurationMs: Math.max(nextExpiry, 1000),
        }),
      );
    } catch (e) {
      if (!isCancellation(e) || !changed) throw e;
      continue; // the set of replicas to probe changed: probe the new set
    } finally {
      scope = undefined;
    }
    status.probeRounds += result.rounds;
    const f = result.failure;
    if (!f || planned.has(f.instance)) continue; // window over, or announced while it was failing
    status.incidents++;
    const incidentId = `${f.instance}-${f.detectedAtUnixMs}`;
    status.lastIncident = {
      id: incidentId,
      instance: f.instance,
      reason: f.reason,
      detectedAtUnixMs: f.detectedAtUnixMs,
      firstFailureAtUnixMs: f.firstFailureAtUnixMs,
    };
    const incident = {
      id: incidentId,
      instance: f.instance,
      component: cfg.tier,
      reason: f.reason,
      firstFailureAtUnixMs: f.firstFailureAtUnixMs,
      detectedAtUnixMs: f.detectedAtUnixMs,
    };
    if (cfg.recover === false) {
      await recordIncident({ ...incident, state: 'open' });
      continue;
    }
    recovering.add(f.instance);
    try {
      await startChild(recoveryWorkflow, {
        workflowId: ids.recovery(f.instance),
        args: [
          {
            id: incidentId,
            instance: f.instance,
            tier: cfg.tier,
            address: f.address,
            reason: f.reason,
            firstFailureAtUnixMs: f.firstFailureAtUnixMs,
            detectedAtUnixMs: f.detectedAtUnixMs,
            monitorWorkflowId: workflowInfo().workflowId,
          },
        ],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        typedSearchAttributes: [
          { key: SA.Operation, value: 'recovery' },
          { key: SA.Target, value: f.instance },
        ],
      });
    } catch (e) {
      // A recovery of this replica is already running (started by hand or by an earlier run): that one owns it.
      await recordIncident({ ...incident, state: 'open', detail: { note: `recovery not started: ${errorMessage(e)}` } });
    }
  }
}
