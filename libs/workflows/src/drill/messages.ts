import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { BlastRadius, DrillCheck, DrillMarks, DrillOutcome, DrillResult, ScenarioName } from '@ranksafe/drills';

export type DrillPhase =
  'preflight' | 'baseline' | 'injecting' | 'proving' | 'observing' | 'crashing' | 'holding' | 'reverting' | 'after' | 'measuring' | 'done';

/** The `status` query: where the drill stands, live. */
export interface DrillStatus {
  scenario: ScenarioName;
  phase: DrillPhase;
  blastRadius?: BlastRadius;
  marks: DrillMarks;
  checks: DrillCheck[];
  /** Since injection: requests sent, failed; p99 of the last 5 s; capacity. */
  live?: { requests: number; failed: number; recentP99Ms: number; capacity: string; mttdMs?: number };
  abortRequested?: string;
  outcome?: DrillOutcome;
  reason?: string;
  score?: number;
}

export type { DrillResult };

export const drillStatusQuery = defineQuery<DrillStatus>('status');
/** Stop now: the fault is reverted and the drill ends as aborted. */
export const drillAbortSignal = defineSignal<[{ by?: string; reason?: string }?]>('abort');
