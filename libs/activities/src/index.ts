// Side effects live here, one file per concern, each built by a factory that takes its clients
// (temporalio/samples-typescript saga/: createActivities(deps)). Workflows import these as types:
//   proxyActivities<Activities>(...)
import type { Pool } from 'pg';
import type { ReplicaPlatform } from '@ranksafe/platform';
import { createDrillActivities } from './drills';
import type { DrillConfig } from './drill-faults';
import { createOperationActivities } from './operations';
import { ping } from './ping';
import { createPlatformActivities } from './platform';
import { createProbeActivities } from './probes';
import { createRecoveryActivities } from './recovery';
import { createRolloutActivities, type RolloutRegistry } from './rollout';
import type { GatewayControl } from './gateway';
import type { QualityEvaluator } from './quality';
import type { ServingControl } from './serving';
import { createSnapshotActivities, type SnapshotRegistry } from './snapshots';

export * from './ping';
export * from './heartbeat';
export * from './operations';
export * from './snapshots';
export * from './serving';
export * from './platform';
export * from './probes';
export * from './recovery';
export * from './gateway';
export * from './quality';
export * from './rollout';
export * from './cold-path-metrics';
export * from './drills';
export * from './drill-faults';
export * from './report';

export interface ActivityDeps {
  /** The ranksafe database (operations log, incidents). */
  pool: Pool;
  /** The model registry (snapshots, versions, aliases). */
  registry: SnapshotRegistry & RolloutRegistry;
  /** Start, stop, kill, restart replicas. */
  platform: ReplicaPlatform;
  /** Health, drain, canary requests, production version of serving replicas. */
  serving: ServingControl;
  /** The gateways' canary routing and analysis. */
  gateway: GatewayControl;
  /** The rollout's quality gate (scratch sessions in the worker). */
  quality: QualityEvaluator;
  /** Drills: the guard, where reports go, the load agent, gateway pools. */
  drills: DrillConfig;
}

/** Every activity the drill-worker runs, with its clients injected. */
export function createActivities(deps: ActivityDeps) {
  return {
    ping,
    ...createOperationActivities(deps),
    ...createSnapshotActivities(deps),
    ...createPlatformActivities(deps),
    ...createProbeActivities(deps),
    ...createRecoveryActivities(deps),
    ...createRolloutActivities(deps),
    ...createDrillActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
