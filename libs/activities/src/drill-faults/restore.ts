// A backup drill breaks nothing: the registry's newest verified snapshot is restored into a
// sandbox database and verified (the registry drops the sandbox), and the restored point's age is
// the RPO. Nothing to record or undo.
import { ApplicationFailure } from '@temporalio/activity';
import { withHeartbeat } from '../heartbeat';
import type { FaultDriver } from './types';

export const restoreFault: FaultDriver = {
  describe: () => 'restore the newest verified snapshot into a sandbox and verify it',
  reverts: () => ['nothing on the serving path: the restore goes into a sandbox database the registry drops after verifying it'],
  recorded: false,
  async inject({ registry }) {
    const t = Date.now();
    const { snapshots } = await registry.listSnapshots();
    const newest = snapshots.filter((x) => x.status === 'verified').sort((a, b) => Number(b.createdAtUnixMs) - Number(a.createdAtUnixMs))[0];
    if (!newest)
      throw ApplicationFailure.create({
        type: 'NoSnapshot',
        nonRetryable: true,
        message: 'the registry has no verified snapshot to restore: the backups are not working',
      });
    const v = await withHeartbeat(registry.verifySnapshot(newest.id));
    return {
      injectedAtUnixMs: t,
      restore: {
        snapshotId: v.id,
        label: v.label,
        status: v.status,
        createdAtUnixMs: Number(v.createdAtUnixMs),
        rows: Number(v.rows),
        artifacts: Number(v.artifacts),
        bytes: Number(v.bytes),
        rpoMs: t - Number(v.createdAtUnixMs),
        restoreMs: Date.now() - t,
      },
    };
  },
  async prove(_deps, { spec, fault }) {
    const x = fault.restore!;
    const rpo = `RPO ${Math.round(x.rpoMs / 1000)} s (target ${Math.round(spec.expect.rpoTargetMs / 1000)} s)`;
    if (x.status !== 'verified' || x.rows <= 0) return { problem: `snapshot ${x.snapshotId} restored as ${x.status} with ${x.rows} rows: not a restore point` };
    if (x.rpoMs > spec.expect.rpoTargetMs) return { problem: `snapshot ${x.snapshotId} (${x.label}) verified, but too old: ${rpo}` };
    return {
      proof: `snapshot ${x.snapshotId} (${x.label}) restored into a sandbox and verified in ${x.restoreMs} ms: ${x.rows} rows, ${x.artifacts} artifacts, ${x.bytes} bytes; ${rpo}`,
    };
  },
  revert: async (_deps, f) => `${f.id}: nothing to undo`,
};
