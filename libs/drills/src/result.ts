// What a drill run produces: the outcome, the marks on its clock, the figures clients saw, the
// checks of the steady-state hypothesis, the recovery's step timeline, a per-second series for the
// report's chart, and the resilience score. Stored in Postgres (drill_runs.result) and rendered by
// the report (JSON, HTML, Markdown).
import type { DrillSpec, ScenarioName } from './spec';

export type DrillOutcome = 'passed' | 'failed' | 'aborted' | 'dry-run';

/** Latency of answered requests and counts, over one phase of the drill. */
export interface PhaseFigures {
  requests: number;
  ok: number;
  failed: number;
  degraded: number;
  p50Ms: number;
  p99Ms: number;
}

/** One second of load as the report charts it (requests counted in the second they were sent). */
export interface SeriesPoint {
  /** Start of the second (unix ms). */
  atUnixMs: number;
  sent: number;
  ok: number;
  failed: number;
  degraded: number;
  /** Latency of the OK answers sent in this second (0 when none). */
  p50Ms: number;
  p99Ms: number;
}

export interface DrillCheck {
  /** e.g. "steady state before", "injection took effect", "steady state after". */
  name: string;
  ok: boolean;
  detail: string;
  atUnixMs: number;
}

/** One step of the drill itself or of a workflow it observed (a Recovery's saga). */
export interface DrillStep {
  /** Who took the step: "drill" or the observed workflow id ("recover-ranking-service-2"). */
  source: string;
  step: string;
  state: string;
  atUnixMs: number;
  durationMs?: number;
  detail?: Record<string, unknown>;
}

/** Points on the drill's clock (unix ms); absent when it did not happen. */
export interface DrillMarks {
  startedAtUnixMs: number;
  loadStartedAtUnixMs?: number;
  injectedAtUnixMs?: number;
  /** The fault verified to have taken effect (the process gone, the latency observed …). */
  injectionProvenAtUnixMs?: number;
  /** Detection (the incident's detected_at). */
  detectedAtUnixMs?: number;
  /** The second crash (spec.crash: the drill-worker or Temporal killed mid-recovery). */
  crashedAtUnixMs?: number;
  /** Steady state restored: full capacity and the hypothesis holds again. */
  recoveredAtUnixMs?: number;
  revertedAtUnixMs?: number;
  loadStoppedAtUnixMs?: number;
  endedAtUnixMs?: number;
}

export interface DrillFigures {
  /** Injection → detection. */
  mttdMs?: number;
  /** Injection → steady state restored. */
  rtoMs?: number;
  /** Data at risk, where the scenario involves data (backup restore: age of the restored point). */
  rpoMs?: number;
  requests: number;
  failed: number;
  failedShare: number;
  degraded: number;
  degradedShare: number;
  /** Requests by outcome: OK, DEGRADED, or the gRPC status name of a failure. */
  byStatus: Record<string, number>;
  before: PhaseFigures;
  during: PhaseFigures;
  after: PhaseFigures;
}

export interface ResilienceScore {
  /** 0 (failed or aborted) … 100 (passed at or under every target, nothing failed, nothing degraded). */
  value: number;
  /** Each part in 0 … 1, with its weight, so the report can say where points were lost. */
  parts: Array<{ name: string; weight: number; value: number; detail: string }>;
}

export interface DrillResult {
  workflowId: string;
  runId: string;
  scenario: ScenarioName;
  title: string;
  outcome: DrillOutcome;
  /** One sentence: why it passed, failed or was aborted. */
  reason: string;
  spec: DrillSpec;
  /** The blast radius: instances hit, share of the tier's traffic, what is reverted. */
  blastRadius: BlastRadius;
  marks: DrillMarks;
  figures: DrillFigures;
  checks: DrillCheck[];
  steps: DrillStep[];
  series: SeriesPoint[];
  score: ResilienceScore;
}

export interface BlastRadius {
  tier: string;
  instances: string[];
  /** Replicas of the tier, running, before the drill. */
  replicas: number;
  /** Share of the tier's capacity the fault takes away. */
  capacityShare: number;
  fault: string;
  /** What the drill's cleanup undoes, in order. */
  reverts: string[];
}
