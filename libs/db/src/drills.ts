// Storage of drill runs and the faults they injected (migration 0006). Writes are idempotent (an
// activity retried after a worker crash does no harm); faults carry an expiry so a reconciler can
// clear what no running drill owns.
import type { Pool } from 'pg';

export type DrillRunOutcome = 'running' | 'passed' | 'failed' | 'aborted' | 'dry-run';

export interface DrillRunRecord {
  workflowId: string;
  runId: string;
  scenario: string;
  target: string;
  dryRun: boolean;
  outcome: DrillRunOutcome;
  reason?: string;
  startedAtUnixMs: number;
  endedAtUnixMs?: number;
  mttdMs?: number;
  rtoMs?: number;
  rpoMs?: number;
  requests?: number;
  failed?: number;
  degraded?: number;
  score?: number;
  /** The whole DrillResult (libs/drills), for reports. */
  result?: Record<string, unknown>;
}

export interface StoredDrillRun extends Omit<DrillRunRecord, 'startedAtUnixMs' | 'endedAtUnixMs'> {
  startedAt: Date;
  endedAt: Date | null;
}

const num = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));

/** Insert or update a run (keyed by workflow and run id). A run that has ended is never set back to running. */
export async function upsertDrillRun(pool: Pool, r: DrillRunRecord): Promise<void> {
  await pool.query(
    `INSERT INTO drill_runs (workflow_id, run_id, scenario, target, dry_run, outcome, reason, started_at, ended_at,
                             mttd_ms, rto_ms, rpo_ms, requests, failed, degraded, score, result)
     VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8 / 1000.0), to_timestamp($9 / 1000.0), $10, $11, $12, $13, $14, $15, $16, $17)
     ON CONFLICT (workflow_id, run_id) DO UPDATE SET
       outcome = CASE WHEN drill_runs.outcome <> 'running' AND EXCLUDED.outcome = 'running' THEN drill_runs.outcome ELSE EXCLUDED.outcome END,
       reason = COALESCE(EXCLUDED.reason, drill_runs.reason), ended_at = COALESCE(EXCLUDED.ended_at, drill_runs.ended_at),
       mttd_ms = COALESCE(EXCLUDED.mttd_ms, drill_runs.mttd_ms), rto_ms = COALESCE(EXCLUDED.rto_ms, drill_runs.rto_ms),
       rpo_ms = COALESCE(EXCLUDED.rpo_ms, drill_runs.rpo_ms), requests = COALESCE(EXCLUDED.requests, drill_runs.requests),
       failed = COALESCE(EXCLUDED.failed, drill_runs.failed), degraded = COALESCE(EXCLUDED.degraded, drill_runs.degraded),
       score = COALESCE(EXCLUDED.score, drill_runs.score),
       result = CASE WHEN EXCLUDED.result = '{}'::jsonb THEN drill_runs.result ELSE EXCLUDED.result END`,
    [
      r.workflowId,
      r.runId,
      r.scenario,
      r.target,
      r.dryRun,
      r.outcome,
      r.reason ?? null,
      r.startedAtUnixMs,
      r.endedAtUnixMs ?? null,
      r.mttdMs ?? null,
      r.rtoMs ?? null,
      r.rpoMs ?? null,
      r.requests ?? null,
      r.failed ?? null,
      r.degraded ?? null,
      r.score ?? null,
      JSON.stringify(r.result ?? {}),
    ],
  );
}

const toRun = (row: Record<string, unknown>): StoredDrillRun => ({
  workflowId: row['workflow_id'] as string,
  runId: row['run_id'] as string,
  scenario: row['scenario'] as string,
  target: row['target'] as string,
  dryRun: row['dry_run'] as boolean,
  outcome: row['outcome'] as DrillRunOutcome,
  reason: (row['reason'] as string | null) ?? undefined,
  startedAt: row['started_at'] as Date,
  endedAt: (row['ended_at'] as Date | null) ?? null,
  mttdMs: num(row['mttd_ms']),
  rtoMs: num(row['rto_ms']),
  rpoMs: num(row['rpo_ms']),
  requests: num(row['requests']),
  failed: num(row['failed']),
  degraded: num(row['degraded']),
  score: num(row['score']),
  result: row['result'] as Record<string, unknown>,
});

/** Runs, newest first (of one scenario when given; without their result documents unless asked). */
export async function listDrillRuns(pool: Pool, opts: { scenario?: string; limit?: number; withResult?: boolean } = {}): Promise<StoredDrillRun[]> {
  const { rows } = await pool.query(
    `SELECT workflow_id, run_id, scenario, target, dry_run, outcome, reason, started_at, ended_at, mttd_ms, rto_ms, rpo_ms,
            requests, failed, degraded, score, ${opts.withResult ? 'result' : `'{}'::jsonb AS result`}
       FROM drill_runs WHERE ($1::text IS NULL OR scenario = $1) ORDER BY started_at DESC LIMIT $2`,
    [opts.scenario ?? null, Math.min(Math.max(opts.limit ?? 50, 1), 1000)],
  );
  return rows.map(toRun);
}

/** The newest run of a workflow id (or undefined). */
export async function getDrillRun(pool: Pool, workflowId: string): Promise<StoredDrillRun | undefined> {
  const { rows } = await pool.query(
    `SELECT workflow_id, run_id, scenario, target, dry_run, outcome, reason, started_at, ended_at, mttd_ms, rto_ms, rpo_ms,
            requests, failed, degraded, score, result FROM drill_runs WHERE workflow_id = $1 ORDER BY started_at DESC LIMIT 1`,
    [workflowId],
  );
  return rows[0] ? toRun(rows[0]) : undefined;
}

export interface DrillFaultRecord {
  /** Unique per injection, e.g. `<drill workflow id>/kill/ranking-service-2`. */
  id: string;
  drillWorkflowId: string;
  /** kill | latency | hang … */
  kind: string;
  /** The instance it hit. */
  target: string;
  detail?: Record<string, unknown>;
  expiresAtUnixMs: number;
}

export interface StoredDrillFault extends Omit<DrillFaultRecord, 'expiresAtUnixMs'> {
  injectedAt: Date;
  expiresAt: Date;
  revertedAt: Date | null;
  revertedBy: string | null;
}

/** Record a fault before it is injected (so a crash right after injection still leaves a record). Idempotent. */
export async function recordDrillFault(pool: Pool, f: DrillFaultRecord): Promise<void> {
  await pool.query(
    `INSERT INTO drill_faults (id, drill_workflow_id, kind, target, detail, expires_at)
     VALUES ($1, $2, $3, $4, $5, to_timestamp($6 / 1000.0))
     ON CONFLICT (id) DO UPDATE SET detail = drill_faults.detail || EXCLUDED.detail`,
    [f.id, f.drillWorkflowId, f.kind, f.target, JSON.stringify(f.detail ?? {}), f.expiresAtUnixMs],
  );
}

/** Mark reverted (first revert wins; later ones are no-ops). Returns whether this call marked it. */
export async function markDrillFaultReverted(pool: Pool, id: string, by: string): Promise<boolean> {
  const r = await pool.query(`UPDATE drill_faults SET reverted_at = now(), reverted_by = $2 WHERE id = $1 AND reverted_at IS NULL`, [id, by]);
  return (r.rowCount ?? 0) > 0;
}

/** Faults not reverted yet (of one drill when given), oldest first. */
export async function listActiveDrillFaults(pool: Pool, drillWorkflowId?: string): Promise<StoredDrillFault[]> {
  const { rows } = await pool.query(
    `SELECT id, drill_workflow_id, kind, target, detail, injected_at, expires_at, reverted_at, reverted_by FROM drill_faults
      WHERE reverted_at IS NULL AND ($1::text IS NULL OR drill_workflow_id = $1) ORDER BY injected_at`,
    [drillWorkflowId ?? null],
  );
  return rows.map((row) => ({
    id: row.id,
    drillWorkflowId: row.drill_workflow_id,
    kind: row.kind,
    target: row.target,
    detail: row.detail,
    injectedAt: row.injected_at,
    expiresAt: row.expires_at,
    revertedAt: row.reverted_at,
    revertedBy: row.reverted_by,
  }));
}
