// BackupSnapshot: registry snapshot → verify (restore into a scratch database) → RPO. Runs on a
// Temporal Schedule that `npm start` creates (overlap: skip). A failed verification fails the
// workflow, so it is red in the Temporal UI, not a log line.
import { proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '@ranksafe/activities';
import { errorMessage, invalidInput } from '../shared/errors';
import { OperationLog } from '../shared/operation';
import { SA } from '../shared/search-attributes';
import { backupSnapshotStatusQuery, type BackupSnapshotInput, type BackupSnapshotResult, type BackupSnapshotStatus } from './messages';

const { createRegistrySnapshot, verifyRegistrySnapshot, registryRpo } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { maximumAttempts: 5, initialInterval: '1 second', backoffCoefficient: 2, nonRetryableErrorTypes: ['SnapshotVerificationFailed'] },
});

const DAY_MS = 24 * 3600 * 1000;

function validate(input: unknown): Required<Pick<BackupSnapshotInput, 'verify' | 'rpoTargetMs'>> & { label?: string } {
  const problems: string[] = [];
  const i = (input ?? {}) as Record<string, unknown>;
  if (typeof i !== 'object' || Array.isArray(i)) throw invalidInput('backupSnapshotWorkflow', ['input must be an object']);
  for (const k of Object.keys(i)) if (!['label', 'verify', 'rpoTargetMs'].includes(k)) problems.push(`unknown field "${k}"`);
  if (i.label !== undefined && (typeof i.label !== 'string' || i.label.length > 200)) problems.push('label must be a string of at most 200 characters');
  if (i.verify !== undefined && typeof i.verify !== 'boolean') problems.push('verify must be true or false');
  if (i.rpoTargetMs !== undefined && !(typeof i.rpoTargetMs === 'number' && Number.isInteger(i.rpoTargetMs) && i.rpoTargetMs > 0))
    problems.push('rpoTargetMs must be a positive integer');
  if (problems.length) throw invalidInput('backupSnapshotWorkflow', problems);
  return {
    label: i.label as string | undefined,
    verify: (i.verify as boolean | undefined) ?? true,
    rpoTargetMs: (i.rpoTargetMs as number | undefined) ?? DAY_MS,
  };
}

export async function backupSnapshotWorkflow(input: BackupSnapshotInput = {}): Promise<BackupSnapshotResult> {
  const opts = validate(input);
  const op = new OperationLog('snapshot', 'model-registry');
  const status: BackupSnapshotStatus = { phase: 'starting', timeline: op.timeline };
  setHandler(backupSnapshotStatusQuery, () => status);
  upsertSearchAttributes([
    { key: SA.Operation, value: 'snapshot' },
    { key: SA.Target, value: 'model-registry' },
    { key: SA.OperationState, value: 'running' },
  ]);
  const label = opts.label ?? workflowInfo().workflowId;
  await op.operation('running', { label });
  try {
    status.phase = 'creating';
    const created = await op.step(
      'create snapshot',
      () => createRegistrySnapshot({ label }),
      (s) => ({ snapshotId: s.id, rows: s.rows, artifacts: s.artifacts, bytes: s.bytes }),
    );
    status.snapshotId = created.id;
    let verified = created;
    if (opts.verify) {
      status.phase = 'verifying';
      verified = await op.step(
        'verify snapshot',
        () => verifyRegistrySnapshot({ id: created.id }),
        (s) => ({ status: s.status }),
      );
    }
    status.phase = 'measuring';
    const { rpoMs } = await op.step(
      'measure RPO',
      () => registryRpo(),
      (r) => ({ rpoMs: r.rpoMs }),
    );
    status.rpoMs = rpoMs;
    const result: BackupSnapshotResult = {
      snapshotId: created.id,
      label,
      verified: verified.status === 'verified',
      rows: created.rows,
      artifacts: created.artifacts,
      bytes: created.bytes,
      rpoMs,
      rpoTargetMs: opts.rpoTargetMs,
      rpoMet: rpoMs >= 0 && rpoMs <= opts.rpoTargetMs,
      durationMs: Date.now() - op.startedAtUnixMs,
    };
    status.phase = 'done';
    const state = opts.verify ? 'verified' : 'unverified';
    upsertSearchAttributes([{ key: SA.OperationState, value: state }]);
    op.summarize(
      `snapshot ${created.id} ${state}: ${created.rows} rows, ${created.artifacts} artifacts, ${created.bytes} bytes; RPO ${rpoMs < 0 ? 'none verified' : `${Math.round(rpoMs / 1000)} s`} (target ${Math.round(opts.rpoTargetMs / 1000)} s${result.rpoMet ? ', met' : ', NOT met'})`,
    );
    await op.operation(state, result as unknown as Record<string, unknown>, true);
    return result;
  } catch (e) {
    status.phase = 'failed';
    status.error = errorMessage(e);
    upsertSearchAttributes([{ key: SA.OperationState, value: 'failed' }]);
    op.summarize(`snapshot FAILED: ${status.error}`);
    await op.operation('failed', { error: status.error }, true);
    throw e;
  }
}
