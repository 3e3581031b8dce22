// Side effects live here, one file per concern, each built by a factory that takes its clients
// (temporalio/samples-typescript saga/: createActivities(deps)). Workflows import these as types:
//   proxyActivities<Activities>(...)
import type { Pool } from 'pg';
import { createOperationActivities } from './operations';
import { ping } from './ping';
import { createSnapshotActivities, type SnapshotRegistry } from './snapshots';

export * from './ping';
export * from './operations';
export * from './snapshots';

export interface ActivityDeps {
  /** The ranksafe database (operations log, incidents). */
  pool: Pool;
  /** The model registry (snapshots). */
  registry: SnapshotRegistry;
}

/** Every activity the drill-worker runs, with its clients injected. */
export function createActivities(deps: ActivityDeps) {
  return {
    ping,
    ...createOperationActivities(deps),
    ...createSnapshotActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
