// Recovery(incident): a saga — drain → restart through the Platform → production version from
// the registry (hash verified by the replica) → warm up → verify health and a real request →
// re-admit. Each completed step registers its compensation; a failed step runs them in reverse
// (non-cancellable) and escalates: the incident is marked unrecovered, in Postgres and in the
// UI (search attribute OperationState=unrecovered), and the workflow fails.
import { ApplicationFailure, getExternalWorkflowHandle, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '@ranksafe/activities';
import { errorMessage, invalidInput } from '../shared/errors';
import { ids } from '../shared/ids';
import { OperationLog } from '../shared/operation';
import { Compensations } from '../shared/saga';
import { SA } from '../shared/search-attributes';
import { recoveryFinishedSignal, recoveryStatusQuery, type Incident, type RecoveryResult, type RecoveryStatus } from './messages';

const quick = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 5, initialInterval: '200 milliseconds', maximumInterval: '2 seconds' },
});
const slow = proxyActivities<Activities>({
  startToCloseTimeout: '3 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { maximumAttempts: 3, initialInterval: '500 milliseconds', nonRetryableErrorTypes: ['NotServing'] },
});
const record = proxyActivities<Pick<Activities, 'recordIncident'>>({ startToCloseTimeout: '5 seconds', retry: { maximumAttempts: 5 } });

const TIERS = ['ranking-service', 'retrieval-service'];

function validate(input: unknown): Required<Pick<Incident, 'instance' | 'tier' | 'address'>> & Incident {
  const i = (input ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalidInput('recoveryWorkflow', ['input must be an object']);
  const known = ['id', 'instance', 'tier', 'address', 'reason', 'firstFailureAtUnixMs', 'detectedAtUnixMs', 'monitorWorkflowId', 'servingTimeoutMs'];
  for (const k of Object.keys(i)) if (!known.includes(k)) problems.push(`unknown field "${k}"`);
  if (typeof i.instance !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(i.instance))
    problems.push('instance must be an instance name like "ranking-service-2"');
  if (typeof i.tier !== 'string' || !TIERS.includes(i.tier)) problems.push(`tier must be one of ${TIERS.join(', ')}`);
  if (typeof i.address !== 'string' || !/^[^\s:]+:\d{1,5}$/.test(i.address)) problems.push('address must be host:port');
  for (const k of ['firstFailureAtUnixMs', 'detectedAtUnixMs', 'servingTimeoutMs']) {
    if (i[k] !== undefined && !(typeof i[k] === 'number' && Number.isInteger(i[k]) && (i[k] as number) > 0)) problems.push(`${k} must be a positive integer`);
  }
  if (problems.length) throw invalidInput('recoveryWorkflow', problems);
  return i as unknown as Required<Pick<Incident, 'instance' | 'tier' | 'address'>> & Incident;
}

export async function recoveryWorkflow(input: Incident): Promise<RecoveryResult> {
  const inc = validate(input);
  const detectedAtUnixMs = inc.detectedAtUnixMs ?? Date.now();
  const incidentId = inc.id ?? `${inc.instance}-${detectedAtUnixMs}`;
  const op = new OperationLog('recovery', inc.instance);
  const saga = new Compensations();
  const status: RecoveryStatus = { phase: 'starting', incidentId, instance: inc.instance, timeline: op.timeline, compensations: [] };
  setHandler(recoveryStatusQuery, () => status);
  upsertSearchAttributes([
    { key: SA.Operation, value: 'recovery' },
    { key: SA.Target, value: inc.instance },
    { key: SA.OperationState, value: 'recovering' },
  ]);
  const incidentRecord = {
    id: incidentId,
    instance: inc.instance,
    component: inc.tier,
    reason: inc.reason ?? 'started by hand',
    firstFailureAtUnixMs: inc.firstFailureAtUnixMs,
    detectedAtUnixMs,
    recoveryWorkflowId: workflowInfo().workflowId,
  };
  await record.recordIncident({ ...incidentRecord, state: 'recovering' });
  await op.operation('recovering', { incidentId, reason: incidentRecord.reason });

  const step = <T>(phase: string, fn: () => Promise<T>, describe?: (r: T) => Record<string, unknown>) => {
    status.phase = phase;
    return op.step(phase, fn, describe);
  };
  try {
    const drained = await step(
      'drain',
      () => quick.setReplicaHealth({ address: inc.address, override: 'not_serving' }),
      (r) => ({ ...r }),
    );
    if (drained.applied) saga.add('drain', async () => void (await quick.setReplicaHealth({ address: inc.address, override: 'none' })));

    const restart = await step(
      'restart',
      () => slow.restartInstance({ name: inc.instance, sinceUnixMs: detectedAtUnixMs }),
      (r) => ({ restarted: r.restarted, pid: r.instance.pid, restarts: r.instance.restarts }),
    );
    const timeout = inc.servingTimeoutMs ?? 90_000;
    await step(
      'warm up',
      () => slow.waitUntilServing({ address: inc.address, timeoutMs: timeout }),
      (r) => ({ ...r }),
    );
    const prod = await step(
      'load production',
      () => slow.ensureProductionVersion({ tier: inc.tier, address: inc.address }),
      (r) => ({ ...r }),
    );
    await step(
      'verify',
      () => quick.verifyReplica({ tier: inc.tier, address: inc.address, timeoutMs: 5000 }),
      (r) => ({ ...r }),
    );
    await step(
      're-admit',
      () => quick.setReplicaHealth({ address: inc.address, override: 'none' }),
      (r) => ({ ...r }),
    );

    const recoveredAtUnixMs = Date.now();
    status.phase = 'done';
    status.outcome = 'recovered';
    await record.recordIncident({ ...incidentRecord, state: 'recovered', recoveredAtUnixMs });
    upsertSearchAttributes([{ key: SA.OperationState, value: 'recovered' }]);
    const result: RecoveryResult = {
      incidentId,
      instance: inc.instance,
      outcome: 'recovered',
      restarted: restart.restarted,
      version: prod.version,
      detectedAtUnixMs,
      recoveredAtUnixMs,
      timeToRecoverMs: recoveredAtUnixMs - detectedAtUnixMs,
      timeline: op.timeline,
    };
    op.summarize(
      `${inc.instance} recovered in ${result.timeToRecoverMs} ms after detection (${restart.restarted ? 'restarted' : 'already back, not restarted'}; serving ${prod.version}); incident ${incidentId}: ${incidentRecord.reason}`,
    );
    await op.operation('recovered', { timeToRecoverMs: result.timeToRecoverMs, version: prod.version }, true);
    await notifyMonitor(inc, incidentId, 'recovered');
    return result;
  } catch (e) {
    status.error = errorMessage(e);
    status.phase = 'compensating';
    status.compensations = await saga.run();
    for (const c of status.compensations)
      await op.note(`undo ${c.step}`, c.ok ? 'compensated' : 'compensation_failed', c.error ? { error: c.error } : undefined);
    status.phase = 'escalated';
    status.outcome = 'unrecovered';
    await record.recordIncident({ ...incidentRecord, state: 'unrecovered', detail: { error: status.error } });
    upsertSearchAttributes([{ key: SA.OperationState, value: 'unrecovered' }]);
    op.summarize(`${inc.instance} NOT recovered (incident ${incidentId}): ${status.error}; ${status.compensations.length} compensation(s) run; needs a person`);
    await op.operation('unrecovered', { error: status.error }, true);
    await notifyMonitor(inc, incidentId, 'unrecovered');
    throw ApplicationFailure.create({
      type: 'Unrecovered',
      nonRetryable: true,
      message: `${inc.instance} not recovered: ${status.error}`,
      cause: e instanceof Error ? e : undefined,
    });
  }
}

async function notifyMonitor(inc: Incident, incidentId: string, outcome: 'recovered' | 'unrecovered'): Promise<void> {
  const monitor = inc.monitorWorkflowId ?? ids.monitor(inc.tier);
  await getExternalWorkflowHandle(monitor)
    .signal(recoveryFinishedSignal, { instance: inc.instance, incidentId, outcome })
    .catch(() => undefined); // no monitor running (a recovery started by hand): nothing to tell
}
