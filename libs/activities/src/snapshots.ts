// Registry snapshots as activities: create (idempotent by label), verify, RPO. The registry does
// the work (consistent export, artifact backup, restore into a scratch database); these calls
// make it durable and visible.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Snapshot } from '@ranksafe/proto';
import { withHeartbeat } from './heartbeat';

/** What the snapshot activities need of the registry (libs/registry-client's RegistryClient has it). */
export interface SnapshotRegistry {
  createSnapshot(label: string, o?: { signal?: AbortSignal }): Promise<Snapshot>;
  verifySnapshot(id: string, o?: { signal?: AbortSignal }): Promise<Snapshot>;
  listSnapshots(o?: { signal?: AbortSignal }): Promise<{ snapshots: Snapshot[]; rpoMs: number }>;
}

/** The activity's cancellation as an AbortSignal, so a cancelled activity cancels its gRPC call. */
const cancellation = () => ({ signal: Context.current().cancellationSignal });

export interface SnapshotSummary {
  id: string;
  label: string;
  status: string;
  createdAtUnixMs: number;
  verifiedAtUnixMs: number;
  rows: number;
  artifacts: number;
  bytes: number;
}

const summary = (s: Snapshot): SnapshotSummary => ({
  id: s.id,
  label: s.label,
  status: s.status,
  createdAtUnixMs: Number(s.createdAtUnixMs),
  verifiedAtUnixMs: Number(s.verifiedAtUnixMs),
  rows: Number(s.rows),
  artifacts: Number(s.artifacts),
  bytes: Number(s.bytes),
});

export function createSnapshotActivities(deps: { registry: SnapshotRegistry }) {
  const { registry } = deps;
  return {
    /**
     * Create a registry snapshot labelled `label`. Idempotent: when a snapshot with this label
     * exists already (a retry after the first attempt's answer was lost), that one is returned.
     */
    async createRegistrySnapshot(input: { label: string }): Promise<SnapshotSummary> {
      const existing = (await registry.listSnapshots(cancellation())).snapshots.find((s) => s.label === input.label);
      if (existing) return summary(existing);
      return summary(await withHeartbeat(registry.createSnapshot(input.label, cancellation())));
    },

    /** Verify a snapshot by restoring it into a scratch database; a failed check is non-retryable. */
    async verifyRegistrySnapshot(input: { id: string }): Promise<SnapshotSummary> {
      const s = summary(await withHeartbeat(registry.verifySnapshot(input.id, cancellation())));
      if (s.status !== 'verified') {
        throw ApplicationFailure.create({ type: 'SnapshotVerificationFailed', nonRetryable: true, message: `snapshot ${s.id} ${s.status}`, details: [s] });
      }
      return s;
    },

    /** The RPO we can promise now: age of the newest verified snapshot (-1 = none verified). */
    async registryRpo(): Promise<{ rpoMs: number; snapshots: number }> {
      const r = await registry.listSnapshots(cancellation());
      return { rpoMs: Number(r.rpoMs), snapshots: r.snapshots.length };
    },
  };
}
