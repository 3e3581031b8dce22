// Storage of the cold path's history (migration 0005): operations, their step log, incidents.
// Every write is idempotent, so an activity retried after a worker crash does no harm.
import type { Pool } from 'pg';

export type OperationKind = 'rollout' | 'recovery' | 'snapshot' | 'monitor' | 'drill';
export type StepState = 'started' | 'completed' | 'failed' | 'compensated' | 'compensation_failed' | 'skipped';
export type IncidentState = 'open' | 'recovering' | 'recovered' | 'unrecovered';

export interface OperationRecord {
  workflowId: string;
  runId: string;
  kind: OperationKind;
  target: string;
  state: string;
  startedAt?: Date;
  endedAt?: Date | null;
  detail?: Record<string, unknown>;
}

export interface StepRecord {
  workflowId: string;
  runId: string;
  seq: number;
  step: string;
  state: StepState;
  /** When it happened (the workflow's clock); defaults to now. */
  atUnixMs?: number;
  detail?: Record<string, unknown>;
}

export interface StoredStep extends Omit<StepRecord, 'atUnixMs'> {
  at: Date;
  writes: number;
}

export interface IncidentRecord {
  id: string;
  instance: string;
  component: string;
  reason: string;
  firstFailureAtUnixMs?: number;
  detectedAtUnixMs: number;
  recoveryWorkflowId?: string;
  state: IncidentState;
  recoveredAtUnixMs?: number;
  detail?: Record<string, unknown>;
}

export interface StoredIncident {
  id: string;
  instance: string;
  component: string;
  reason: string;
  firstFailureAt: Date | null;
  detectedAt: Date;
  recoveryWorkflowId: string | null;
  state: IncidentState;
  recoveredAt: Date | null;
  detail: Record<string, unknown>;
}

const ts = (ms: number | undefined) => (ms === undefined ? null : new Date(ms));

/** Insert or update an operation (keyed by workflow id + run id). */
export async function upsertOperation(pool: Pool, op: OperationRecord): Promise<void> {
  await pool.query(
    `INSERT INTO operations (workflow_id, run_id, kind, target, state, started_at, ended_at, detail)
       VALUES ($1, $2, $3, $4, $5, COALESCE($6, now()), $7, $8)
     ON CONFLICT (workflow_id, run_id) DO UPDATE
       SET state = EXCLUDED.state, ended_at = EXCLUDED.ended_at, detail = operations.detail || EXCLUDED.detail`,
    [op.workflowId, op.runId, op.kind, op.target, op.state, op.startedAt ?? null, op.endedAt ?? null, JSON.stringify(op.detail ?? {})],
  );
}

/** Append a step record; the same (run, seq, state) written again only bumps `writes`. */
export async function recordStep(pool: Pool, s: StepRecord): Promise<void> {
  await pool.query(
    `INSERT INTO operation_steps (workflow_id, run_id, seq, step, state, at, detail)
       VALUES ($1, $2, $3, $4, $5, COALESCE($6, now()), $7)
     ON CONFLICT (workflow_id, run_id, seq, state) DO UPDATE SET writes = operation_steps.writes + 1`,
    [s.workflowId, s.runId, s.seq, s.step, s.state, ts(s.atUnixMs), JSON.stringify(s.detail ?? {})],
  );
}

export async function listSteps(pool: Pool, workflowId: string, runId?: string): Promise<StoredStep[]> {
  const r = await pool.query(
    `SELECT workflow_id, run_id, seq, step, state, at, writes, detail FROM operation_steps
      WHERE workflow_id = $1 AND ($2::text IS NULL OR run_id = $2) ORDER BY at, seq, id`,
    [workflowId, runId ?? null],
  );
  return r.rows.map((x) => ({
    workflowId: x.workflow_id,
    runId: x.run_id,
    seq: x.seq,
    step: x.step,
    state: x.state,
    at: x.at,
    writes: x.writes,
    detail: x.detail,
  }));
}

export async function listOperations(pool: Pool, opts: { kind?: OperationKind; limit?: number } = {}): Promise<StoredOperation[]> {
  const r = await pool.query(
    `SELECT workflow_id, run_id, kind, target, state, started_at, ended_at, detail FROM operations
      WHERE ($1::text IS NULL OR kind = $1) ORDER BY started_at DESC LIMIT $2`,
    [opts.kind ?? null, Math.min(Math.max(opts.limit ?? 50, 1), 1000)],
  );
  return r.rows.map(operationOf);
}

export type StoredOperation = OperationRecord & { startedAt: Date; endedAt: Date | null };

interface OperationRow {
  workflow_id: string;
  run_id: string;
  kind: OperationKind;
  target: string;
  state: string;
  started_at: Date;
  ended_at: Date | null;
  detail: Record<string, unknown>;
}

const operationOf = (x: OperationRow): StoredOperation => ({
  workflowId: x.workflow_id,
  runId: x.run_id,
  kind: x.kind,
  target: x.target,
  state: x.state,
  startedAt: x.started_at,
  endedAt: x.ended_at,
  detail: x.detail,
});

/** The newest operation of `kind` for each target (e.g. each model's latest rollout), by target. */
export async function latestOperationPerTarget(pool: Pool, kind: OperationKind): Promise<StoredOperation[]> {
  const r = await pool.query(
    `SELECT DISTINCT ON (target) workflow_id, run_id, kind, target, state, started_at, ended_at, detail FROM operations
      WHERE kind = $1 ORDER BY target, started_at DESC, workflow_id DESC, run_id DESC`,
    [kind],
  );
  return r.rows.map(operationOf);
}

/** The newest operation of `kind` that has ended (its outcome is known), or undefined when none has. */
export async function latestEndedOperation(pool: Pool, kind: OperationKind): Promise<(StoredOperation & { endedAt: Date }) | undefined> {
  const r = await pool.query(
    `SELECT workflow_id, run_id, kind, target, state, started_at, ended_at, detail FROM operations
      WHERE kind = $1 AND ended_at IS NOT NULL ORDER BY started_at DESC, ended_at DESC LIMIT 1`,
    [kind],
  );
  return r.rows[0] ? (operationOf(r.rows[0]) as StoredOperation & { endedAt: Date }) : undefined;
}

/** Open an incident, or update it (state, recovery, recovered time) when it exists. */
export async function upsertIncident(pool: Pool, i: IncidentRecord): Promise<void> {
  await pool.query(
    `INSERT INTO incidents (id, instance, component, reason, first_failure_at, detected_at, recovery_workflow_id, state, recovered_at, detail)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (id) DO UPDATE SET
       state = EXCLUDED.state,
       recovery_workflow_id = COALESCE(EXCLUDED.recovery_workflow_id, incidents.recovery_workflow_id),
       recovered_at = COALESCE(EXCLUDED.recovered_at, incidents.recovered_at),
       detail = incidents.detail || EXCLUDED.detail`,
    [
      i.id,
      i.instance,
      i.component,
      i.reason,
      ts(i.firstFailureAtUnixMs),
      new Date(i.detectedAtUnixMs),
      i.recoveryWorkflowId ?? null,
      i.state,
      ts(i.recoveredAtUnixMs),
      JSON.stringify(i.detail ?? {}),
    ],
  );
}

export async function listIncidents(pool: Pool, opts: { instance?: string; openOnly?: boolean; limit?: number } = {}): Promise<StoredIncident[]> {
  const r = await pool.query(
    `SELECT id, instance, component, reason, first_failure_at, detected_at, recovery_workflow_id, state, recovered_at, detail FROM incidents
      WHERE ($1::text IS NULL OR instance = $1) AND (NOT $2 OR state IN ('open', 'recovering'))
      ORDER BY detected_at DESC LIMIT $3`,
    [opts.instance ?? null, opts.openOnly ?? false, Math.min(Math.max(opts.limit ?? 50, 1), 1000)],
  );
  return r.rows.map((x) => ({
    id: x.id,
    instance: x.instance,
    component: x.component,
    reason: x.reason,
    firstFailureAt: x.first_failure_at,
    detectedAt: x.detected_at,
    recoveryWorkflowId: x.recovery_workflow_id,
    state: x.state,
    recoveredAt: x.recovered_at,
    detail: x.detail,
  }));
}

/** The states in which an incident still needs something done (see countOpenIncidents). */
export const OPEN_INCIDENT_STATES = ['open', 'recovering', 'unrecovered'] as const;
export type OpenIncidentState = (typeof OPEN_INCIDENT_STATES)[number];

/**
 * Incidents that still need something done, by component: how many are `open`, `recovering` or
 * `unrecovered`. Each instance counts by its newest incident only, so an `unrecovered` incident
 * stays open until a later incident of the same instance supersedes it (a later Recovery, e.g.
 * `ops recover`, that brought the replica back), since nothing else ever closes it. Every
 * component with an incident on record is listed, with zeros when nothing is open.
 */
export async function countOpenIncidents(pool: Pool): Promise<Array<{ component: string; counts: Record<OpenIncidentState, number> }>> {
  const r = await pool.query(
    `SELECT component,
            count(*) FILTER (WHERE state = 'open')::int AS open,
            count(*) FILTER (WHERE state = 'recovering')::int AS recovering,
            count(*) FILTER (WHERE state = 'unrecovered')::int AS unrecovered
       FROM (SELECT DISTINCT ON (instance) instance, component, state FROM incidents ORDER BY instance, detected_at DESC, id DESC) newest
      GROUP BY component ORDER BY component`,
  );
  return r.rows.map((x) => ({ component: x.component, counts: { open: x.open, recovering: x.recovering, unrecovered: x.unrecovered } }));
}
