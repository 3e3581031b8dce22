// The clients the drill-worker's activities get injected (createActivities(deps)).
import * as grpc from '@grpc/grpc-js';
import type { SnapshotRegistry } from '@ranksafe/activities';
import { ModelRegistryClient } from '@ranksafe/proto';
import { adminMetadata, unaryCall } from '@ranksafe/serving-kit';

const SNAPSHOT_DEADLINE_MS = 10 * 60_000;

/** Registry snapshots over gRPC, as the worker (actor `drill-worker`). */
export function registrySnapshots(address: string, token: string | undefined): SnapshotRegistry & { close(): void } {
  const client = new ModelRegistryClient(address, grpc.credentials.createInsecure());
  const md = () => {
    const m = token ? adminMetadata(new grpc.Metadata(), token) : new grpc.Metadata();
    m.set('x-actor', 'drill-worker');
    return m;
  };
  return {
    createSnapshot: (label) => unaryCall(client.createSnapshot.bind(client), { label }, { metadata: md(), deadlineMs: SNAPSHOT_DEADLINE_MS }),
    verifySnapshot: (id) => unaryCall(client.verifySnapshot.bind(client), { snapshotId: id }, { metadata: md(), deadlineMs: SNAPSHOT_DEADLINE_MS }),
    listSnapshots: () => unaryCall(client.listSnapshots.bind(client), {}, { metadata: md(), deadlineMs: 10_000 }),
    close: () => client.close(),
  };
}
