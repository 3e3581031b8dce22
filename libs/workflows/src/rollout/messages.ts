// ModelRollout's contract: its one JSON input (what the Temporal UI's Start Workflow form takes),
// the status query, and the signals a person sends from the UI or `ops rollout …`.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { TimelineEntry } from '../shared/operation';
import type { CompensationResult } from '../shared/saga';

/** What is rolled out: a ranking model (canary by traffic share) or a catalog index (canary = one retrieval replica of N). */
export type RolloutKind = 'RANKING_MODEL' | 'CATALOG_INDEX';

/** One canary step (Argo Rollouts' setWeight + analysis). */
export interface RolloutStep {
  /** Share of Search/Recommend traffic the candidate answers, (0, 1]. */
  weight: number;
  /** How long the analysis runs at this weight (default strategy.analysis.windowMs). */
  analysisMs?: number;
  /** Wait for an `approve` signal before this step starts (a manual gate). */
  approval?: boolean;
}

/** Thresholds of the canary analysis; each metric fails a measurement, and a step fails after `failureLimit` failed measurements of one metric. */
export interface AnalysisThresholds {
  /** Requests each of production and canary must have answered before a measurement counts (default 30). */
  minRequests?: number;
  /** Canary error rate above this fails (default 0.01). */
  maxErrorRate?: number;
  /** Canary p99 above max(production p99 × ratio, production p99 + slack) fails (defaults 2.0 and 25 ms). */
  maxP99Ratio?: number;
  p99SlackMs?: number;
  /** Mirrored requests compared before the ML checks count (default 20). */
  minMirrored?: number;
  /** Mean top-10 overlap with production on mirrored requests below this fails (default 0.5). */
  minTop10Overlap?: number;
  /** Mean |canary score − production score| on mirrored requests above this fails (default 0.3). */
  maxScoreDrift?: number;
  /** Failed measurements of one metric tolerated per step (default 1: the second fails the step). */
  failureLimit?: number;
  /** Time between measurements (default 5 s). */
  intervalMs?: number;
  /** Analysis window of a step without its own analysisMs (default 30 s). */
  windowMs?: number;
  /** After the weight changes, this long is left out of the analysis (default 2 s). */
  warmupMs?: number;
  /** A step whose window ends with too few samples to judge: roll back (default) or go on. */
  onInconclusive?: 'rollback' | 'continue';
}

export interface RolloutStrategy {
  /** Default 10% → 50% → 100%. */
  steps?: RolloutStep[];
  /** Share of production-answered requests also ranked by the candidate and compared (default 0.25). */
  mirrorRate?: number;
  analysis?: AnalysisThresholds;
  /** Quality gate: candidate NDCG@10 must be ≥ production − tolerance (default 0.02); skip only on purpose. */
  qualityGate?: { tolerance?: number; skip?: boolean; maxQueries?: number };
  /** Take a verified registry snapshot before anything moves (default true). */
  snapshot?: boolean;
}

/** The one JSON input, e.g. {"model":"minilm-l6-v2","version":"fp32-1a2b3c4d5e6f"}. */
export interface RolloutInput {
  model: string;
  version: string;
  /** Default RANKING_MODEL. */
  kind?: RolloutKind;
  strategy?: RolloutStrategy;
  /** Why (kept in the registry's alias history and the operations log). */
  reason?: string;
  /** The drill that started this rollout (a bad-model-rollout drill): its exclusion of rollouts lets this one through. */
  drill?: string;
}

export type RolloutPhase =
  | 'validating'
  | 'snapshotting'
  | 'loading'
  | 'awaiting-approval'
  | 'canary'
  | 'paused'
  | 'promoting'
  | 'rolling-back'
  | 'frozen'
  | 'succeeded'
  | 'rolled-back'
  | 'failed';

/** One metric of one measurement. */
export interface MetricResult {
  metric: 'error-rate' | 'p99' | 'top10-overlap' | 'score-drift' | 'probe-errors';
  value: number;
  threshold: number;
  ok: boolean;
  detail?: string;
}

export interface Measurement {
  atUnixMs: number;
  /** false: not enough samples yet (does not count either way). */
  conclusive: boolean;
  samples: { production: number; canary: number; mirrored: number };
  metrics: MetricResult[];
}

/** Analysis of one step, kept for the report. */
export interface StepAnalysis {
  step: number;
  weight: number;
  startedAtUnixMs: number;
  endedAtUnixMs?: number;
  outcome?: 'passed' | 'failed' | 'inconclusive' | 'aborted';
  /** Failed measurements per metric. */
  failures: Record<string, number>;
  measurements: Measurement[];
  reason?: string;
}

export interface QualityGateResult {
  metric: string;
  candidate: number;
  production: number;
  tolerance: number;
  queries: number;
  passed: boolean;
  skipped?: boolean;
}

export interface RolloutStatus {
  model: string;
  version: string;
  kind: RolloutKind;
  phase: RolloutPhase;
  /** What production was when the rollout began (the rollback target). */
  productionVersion?: string;
  /** 0-based index of the current step; -1 before the first. */
  stepIndex: number;
  steps: RolloutStep[];
  /** Share of traffic the candidate answers now. */
  weight: number;
  paused: boolean;
  frozen: boolean;
  awaitingApproval: boolean;
  quality?: QualityGateResult;
  snapshotId?: string;
  analyses: StepAnalysis[];
  replicas: string[];
  timeline: TimelineEntry[];
  compensations: CompensationResult[];
  /** Signals that were refused (e.g. approve while nothing waits for approval). */
  ignoredSignals: string[];
  error?: string;
}

export interface RolloutResult {
  model: string;
  version: string;
  kind: RolloutKind;
  outcome: 'succeeded' | 'rolled-back' | 'frozen';
  previousVersion: string;
  reason?: string;
  quality?: QualityGateResult;
  snapshotId?: string;
  analyses: StepAnalysis[];
  startedAtUnixMs: number;
  endedAtUnixMs: number;
  /** Analysis failed (or abort arrived) → every compensation done. */
  rollbackMs?: number;
  timeline: TimelineEntry[];
}

export const rolloutStatusQuery = defineQuery<RolloutStatus>('status');
/** Let the rollout pass the manual gate of the step that waits for it. */
export const approveSignal = defineSignal<[{ by?: string }?]>('approve');
/** Hold at the current weight (the analysis keeps running; the step timer stops). */
export const pauseSignal = defineSignal<[{ by?: string; reason?: string }?]>('pause');
export const resumeSignal = defineSignal<[{ by?: string }?]>('resume');
/** Roll back now: traffic to production, alias restored, candidate unloaded. */
export const abortSignal = defineSignal<[{ by?: string; reason?: string }?]>('abort');
/** Stop where it is and roll nothing back (an operator takes over). */
export const freezeSignal = defineSignal<[{ by?: string; reason?: string }?]>('freeze');
