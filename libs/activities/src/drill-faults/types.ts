// One fault kind's side effects, behind one interface, so a scenario's fault is one module: what
// it is in words (the blast radius), how it is injected into one target, how its effect is proven
// before the detection clock starts, and how it is undone (by the drill's cleanup or by the
// reconciler, from the record alone). The drill activities (../drills.ts) dispatch on fault.kind.
import type { Pool } from 'pg';
import type { StoredDrillFault } from '@ranksafe/db';
import type { DrillSpec, FaultKind } from '@ranksafe/drills';
import type { ReplicaPlatform } from '@ranksafe/platform';
import type { RegistryClient } from '@ranksafe/registry-client';
import type { ServingControl } from '../serving';
import type { RolloutRegistry } from '../rollout';
import type { SnapshotRegistry } from '../snapshots';

/** What the corrupted-artifact drill asks the registry: production's version and sha256, a fresh download, the scrub. */
export type ArtifactRegistry = Pick<RegistryClient, 'resolve' | 'download' | 'verifyArtifacts'>;

export interface DrillConfig {
  /** Drills run only where enabled (DRILLS_ENABLED; on by default only on the embedded stack). */
  enabled: boolean;
  /** Instances (or whole tiers, or "*") a drill may hit (DRILL_ALLOW_LIST). */
  allowList: string[];
  /** Where reports go (DRILL_REPORT_DIR). */
  reportDir: string;
  /** host:port of every gateway's /metrics: "in rotation" is read from ranksafe_client_replica_ready. */
  gatewayMetrics: string[];
  /** The Platform instance name of the load agent. */
  loadAgent: string;
  /**
   * Where the registry's artifact store and the ranking replicas' registry caches are on this
   * worker's disk (`<rankingCacheRoot>/<instance>`): what the corrupted-artifact drill changes.
   * Absent where the worker does not share their disk (that drill is refused).
   */
  artifactFiles?: { registryStore: string; rankingCacheRoot: string };
  /** Whether a workflow execution is still open (the reconciler and the one-drill-at-a-time guard ask). */
  isWorkflowRunning(workflowId: string): Promise<boolean>;
  /** Rollouts a drill starts, reads and aborts (the bad-model-rollout drill); absent: that drill is refused. */
  rollouts?: DrillRollouts;
}

/** A ModelRollout as a drill sees it: where it stands and whether it judged its candidate bad. */
export interface RolloutView {
  workflowId: string;
  runId: string;
  /** The execution's status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT. */
  status: string;
  phase?: string;
  /** Once completed: succeeded | rolled-back | frozen. */
  outcome?: string;
  reason?: string;
  version?: string;
  /** The rollout's own judgement of the candidate (quality gate or canary analysis), on its clock. */
  verdict: { failed: boolean; atUnixMs?: number; by?: string; detail?: string };
  /** A failed execution's error. */
  error?: string;
}

export interface DrillRollouts {
  /** Start ModelRollout(model, version, strategy) on behalf of `drill`; idempotent (a rollout of this drill already running is returned). */
  start(input: {
    model: string;
    version: string;
    strategy: Record<string, unknown>;
    drill: string;
    reason: string;
  }): Promise<{ workflowId: string; runId: string }>;
  get(workflowId: string, runId: string): Promise<RolloutView>;
  /** Ask the rollout to roll back now (its abort signal); a closed rollout is not an error. */
  abort(workflowId: string, runId: string, reason: string): Promise<void>;
}

export interface DrillDeps {
  pool: Pool;
  platform: ReplicaPlatform;
  serving: ServingControl;
  drills: DrillConfig;
  /** The registry's snapshots (the backup-restore drill restores the newest into a sandbox), aliases (the registry-db-unavailable drill's witness mutation) and artifacts (the corrupted-artifact drill). */
  registry: Pick<SnapshotRegistry, 'listSnapshots' | 'verifySnapshot'> & Pick<RolloutRegistry, 'setAlias' | 'aliasVersion'> & Partial<ArtifactRegistry>;
}

export interface DrillReplica {
  name: string;
  address: string;
}

export interface RestoreFigures {
  snapshotId: string;
  label: string;
  status: string;
  createdAtUnixMs: number;
  rows: number;
  artifacts: number;
  bytes: number;
  rpoMs: number;
  restoreMs: number;
}

export interface InjectedFault {
  id: string;
  instance: string;
  kind: string;
  injectedAtUnixMs: number;
  pid?: number;
  adminFaultId?: string;
  /** What a `restore` did: the snapshot, its age (the RPO), the verification. */
  restore?: RestoreFigures;
  /** What else a driver needs to prove or undo its fault (stored with the record). */
  extra?: Record<string, unknown>;
}

/** A fault injected, what its record stores: everything to prove it and undo it without the workflow. */
export type Injection = Omit<InjectedFault, 'id' | 'instance' | 'kind'>;

/**
 * What a driver stored beside its fault (InjectedFault.extra), read back from the fault's record as the
 * driver's own record type; undefined while its injection has not finished (nothing stored yet).
 */
export function storedExtra<T extends object>(f: Pick<StoredDrillFault, 'detail'>): T | undefined {
  const extra = f.detail?.['extra'];
  return extra && typeof extra === 'object' ? (extra as T) : undefined;
}

export interface FaultDriver {
  /** The fault in words (the blast radius). */
  describe(spec: DrillSpec): string;
  /** What the cleanup undoes, one line per target. */
  reverts(spec: DrillSpec, instances: DrillReplica[]): string[];
  /**
   * Whether each injection is recorded, with its TTL, for the cleanup and the reconciler (before it
   * is injected, so a crash between the two still leaves something to undo). False for a fault
   * that leaves nothing behind to undo.
   */
  recorded: boolean;
  /** Inject into one target. */
  inject(deps: DrillDeps, input: { drillWorkflowId: string; spec: DrillSpec; instance: DrillReplica }): Promise<Injection>;
  /** Proof of injection for one target: a proof, or the problem (the fault did not take). */
  prove(deps: DrillDeps, input: { spec: DrillSpec; fault: InjectedFault; instance: DrillReplica }): Promise<{ proof?: string; problem?: string }>;
  /**
   * Detection, where it is not an incident opened on each target (the default): e.g. the registry's
   * verification flagging an artifact, or a rollout's analysis failing. `detectedAtUnixMs` once detected.
   */
  detect?(deps: DrillDeps, input: DriverObservation): Promise<{ detectedAtUnixMs?: number; incidents: DetectedIncident[] }>;
  /** What still stands between the system and its steady state, beyond every tier replica SERVING and in rotation (empty = nothing). */
  notRestored?(deps: DrillDeps, input: DriverObservation): Promise<string[]>;
  /** Undo one recorded fault from its record alone; says what it did. Idempotent. */
  revert(deps: Pick<DrillDeps, 'pool' | 'platform' | 'serving'> & Partial<Pick<DrillDeps, 'drills'>>, f: StoredDrillFault): Promise<string>;
}

export interface DriverObservation {
  spec: DrillSpec;
  faults: InjectedFault[];
  instances: DrillReplica[];
  injectedAtUnixMs: number;
}

/** What detection opened for one target (an incident, or what stands for one: a flagged artifact, a failed analysis). */
export interface DetectedIncident {
  id: string;
  instance: string;
  state: string;
  detectedAtUnixMs: number;
  recoveryWorkflowId?: string;
}

export type FaultDrivers = Record<FaultKind, FaultDriver>;
