// Storage of a drill's load (migration 0006): the load a drill wants (drill_load, one row per drill
// run) and every request the load agent sent for it (drill_requests), read back per second by the
// drill's activities. The agent is a process of its own (apps/load-agent): what it sent outlives a
// drill-worker crash or a Temporal restart. Every write is idempotent where it can be.
import type { Pool } from 'pg';

export type DrillLoadState = 'wanted' | 'running' | 'stopped';

/** The load profile as stored (libs/drills LoadProfile has this shape; db does not import it). */
export interface DrillLoadProfile {
  /** Open-loop arrivals per second through the gateway. */
  ratePerSec: number;
  /** Share of Search among requests (the rest is Recommend). */
  searchShare: number;
  /** Per-request deadline (ms). */
  deadlineMs: number;
}

export interface DrillLoad {
  runId: string;
  profile: DrillLoadProfile;
  state: DrillLoadState;
  createdAt: Date;
  /** The load's TTL: past it, no agent runs it (an agent running it stops by itself). */
  deadlineAt: Date;
  startedAt: Date | null;
  stoppedAt: Date | null;
  heartbeatAt: Date | null;
  /** Who runs it: `{ pid, instance }` of the agent. */
  agent: Record<string, unknown>;
}

export type DrillRpc = 'search' | 'recommend';

/** One request as the agent saw it (`status`: a gRPC status name, 'ERROR' or 'DROPPED'). */
export interface DrillRequestRecord {
  /** When it was sent (DROPPED: when it was due); a Date or unix ms. */
  at: Date | number;
  rpc: DrillRpc;
  latencyMs: number;
  status: string;
  degraded: boolean;
}

/** One second of requests, by the second they were sent in. */
export interface DrillRequestBucket {
  /** Start of the second (unix ms). */
  atUnixMs: number;
  /** Requests that came due in it (DROPPED ones included). */
  sent: number;
  /** Answered with status OK (degraded ones included). */
  ok: number;
  /** Any other status (DROPPED included). */
  failed: number;
  /** OK answers with `degraded = true`. */
  degraded: number;
  /** Latency percentiles of the OK answers (null when none). */
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface DrillRequestSummary {
  requests: number;
  ok: number;
  failed: number;
  degraded: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** 'OK' (non-degraded OK answers), 'DEGRADED' (degraded OK answers), and each failure status. */
  byStatus: Record<string, number>;
}

/** A time window `[from, to)`; either end open when not given. */
export interface DrillRequestWindow {
  from?: Date;
  to?: Date;
}

interface LoadRow {
  run_id: string;
  profile: DrillLoadProfile;
  state: DrillLoadState;
  created_at: Date;
  deadline_at: Date;
  started_at: Date | null;
  stopped_at: Date | null;
  heartbeat_at: Date | null;
  agent: Record<string, unknown>;
}

const LOAD_COLUMNS = 'run_id, profile, state, created_at, deadline_at, started_at, stopped_at, heartbeat_at, agent';

const loadOf = (x: LoadRow): DrillLoad => ({
  runId: x.run_id,
  profile: x.profile,
  state: x.state,
  createdAt: x.created_at,
  deadlineAt: x.deadline_at,
  startedAt: x.started_at,
  stoppedAt: x.stopped_at,
  heartbeatAt: x.heartbeat_at,
  agent: x.agent,
});

/**
 * Ask for load: the row of `runId` in state 'wanted' until `deadlineAt`. Idempotent: called again
 * for the same run (a retried activity) it keeps the row's state ('running' stays running) and
 * takes the new profile and deadline, so a drill may also call it to extend its load's TTL. A
 * stopped load stays stopped (a retry that arrives after stopLoad starts nothing). Returns the row.
 */
export async function requestLoad(pool: Pool, req: { runId: string; profile: DrillLoadProfile; deadlineAt: Date }): Promise<DrillLoad> {
  const r = await pool.query<LoadRow>(
    `WITH up AS (
       INSERT INTO drill_load (run_id, profile, state, deadline_at) VALUES ($1, $2, 'wanted', $3)
       ON CONFLICT (run_id) DO UPDATE SET profile = EXCLUDED.profile, deadline_at = EXCLUDED.deadline_at
         WHERE drill_load.state <> 'stopped'
       RETURNING ${LOAD_COLUMNS})
     SELECT ${LOAD_COLUMNS} FROM up
     UNION ALL
     SELECT ${LOAD_COLUMNS} FROM drill_load WHERE run_id = $1 AND NOT EXISTS (SELECT 1 FROM up)`,
    [req.runId, JSON.stringify(req.profile), req.deadlineAt],
  );
  return loadOf(r.rows[0]!);
}

/**
 * Stop the load of `runId`: state 'stopped', stopped_at now (the first stop's time is kept).
 * Idempotent. A run that never asked for load gets a stopped row, so a requestLoad retried after
 * this (an activity's late retry) cannot start it.
 */
export async function stopLoad(pool: Pool, runId: string): Promise<void> {
  await pool.query(
    `INSERT INTO drill_load (run_id, profile, state, deadline_at, stopped_at) VALUES ($1, '{}'::jsonb, 'stopped', now(), now())
     ON CONFLICT (run_id) DO UPDATE SET state = 'stopped', stopped_at = COALESCE(drill_load.stopped_at, now())`,
    [runId],
  );
}

/** The load of `runId`, or undefined. */
export async function getLoad(pool: Pool, runId: string): Promise<DrillLoad | undefined> {
  const r = await pool.query<LoadRow>(`SELECT ${LOAD_COLUMNS} FROM drill_load WHERE run_id = $1`, [runId]);
  return r.rows[0] && loadOf(r.rows[0]);
}

/** The load an agent should run: the newest row that is 'wanted' or 'running' and not past its deadline, or undefined. */
export async function nextLoad(pool: Pool): Promise<DrillLoad | undefined> {
  const r = await pool.query<LoadRow>(
    `SELECT ${LOAD_COLUMNS} FROM drill_load
      WHERE state IN ('wanted', 'running') AND deadline_at > now()
      ORDER BY created_at DESC, run_id DESC LIMIT 1`,
  );
  return r.rows[0] && loadOf(r.rows[0]);
}

/**
 * The agent takes the load: state 'running', who runs it, heartbeat now (started_at: the first
 * start's). Returns false, changing nothing, when the load is stopped, past its deadline or unknown
 * (so an agent never runs a load stopped between nextLoad and this).
 */
export async function markLoadRunning(pool: Pool, runId: string, agent: { pid: number; instance: string }): Promise<boolean> {
  const r = await pool.query(
    `UPDATE drill_load SET state = 'running', started_at = COALESCE(started_at, now()), heartbeat_at = now(), agent = $2
      WHERE run_id = $1 AND state <> 'stopped' AND deadline_at > now()`,
    [runId, JSON.stringify(agent)],
  );
  return (r.rowCount ?? 0) > 0;
}

/**
 * The agent is alive: heartbeat_at now. Returns the row's current state and deadline (the drill
 * may have stopped the load or extended it) and whether the deadline has passed by the database's
 * clock (the TTL: the agent then stops by itself), or undefined when the row is gone.
 */
export async function heartbeatLoad(pool: Pool, runId: string): Promise<{ state: DrillLoadState; deadlineAt: Date; expired: boolean } | undefined> {
  const r = await pool.query<{ state: DrillLoadState; deadline_at: Date; expired: boolean }>(
    `UPDATE drill_load SET heartbeat_at = now() WHERE run_id = $1 RETURNING state, deadline_at, deadline_at <= now() AS expired`,
    [runId],
  );
  const x = r.rows[0];
  return x && { state: x.state, deadlineAt: x.deadline_at, expired: x.expired };
}

/** Append requests of `runId` in one INSERT (arrays unnested); nothing for an empty list. */
export async function insertDrillRequests(pool: Pool, runId: string, records: readonly DrillRequestRecord[]): Promise<void> {
  if (records.length === 0) return;
  const at: string[] = [];
  const rpc: string[] = [];
  const latency: number[] = [];
  const status: string[] = [];
  const degraded: boolean[] = [];
  for (const r of records) {
    at.push((r.at instanceof Date ? r.at : new Date(r.at)).toISOString());
    rpc.push(r.rpc);
    latency.push(Number.isFinite(r.latencyMs) ? r.latencyMs : 0);
    status.push(r.status);
    degraded.push(r.degraded);
  }
  await pool.query(
    `INSERT INTO drill_requests (run_id, at, rpc, latency_ms, status, degraded)
     SELECT $1::text, * FROM unnest($2::timestamptz[], $3::text[], $4::real[], $5::text[], $6::boolean[])`,
    [runId, at, rpc, latency, status, degraded],
  );
}

const WINDOW = `run_id = $1 AND ($2::timestamptz IS NULL OR at >= $2) AND ($3::timestamptz IS NULL OR at < $3)`;
const windowParams = (runId: string, w: DrillRequestWindow) => [runId, w.from ?? null, w.to ?? null];
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * Requests of `runId` sent in `[from, to)`, per second (by send time), oldest first; seconds with no
 * request are absent. One range scan of drill_requests_run_at: cheap enough to call every second.
 */
export async function drillRequestSeries(pool: Pool, runId: string, window: DrillRequestWindow = {}): Promise<DrillRequestBucket[]> {
  const r = await pool.query(
    `SELECT (extract(epoch FROM date_trunc('second', at)) * 1000)::float8 AS at_ms,
            count(*)::int AS sent,
            count(*) FILTER (WHERE status = 'OK')::int AS ok,
            count(*) FILTER (WHERE status <> 'OK')::int AS failed,
            count(*) FILTER (WHERE status = 'OK' AND degraded)::int AS degraded,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE status = 'OK') AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE status = 'OK') AS p99
       FROM drill_requests WHERE ${WINDOW}
      GROUP BY 1 ORDER BY 1`,
    windowParams(runId, window),
  );
  return r.rows.map((x) => ({
    atUnixMs: Number(x.at_ms),
    sent: x.sent,
    ok: x.ok,
    failed: x.failed,
    degraded: x.degraded,
    p50Ms: num(x.p50),
    p99Ms: num(x.p99),
  }));
}

/** Totals of `runId`'s requests sent in `[from, to)` (one query). */
export async function drillRequestSummary(pool: Pool, runId: string, window: DrillRequestWindow = {}): Promise<DrillRequestSummary> {
  const r = await pool.query(
    `WITH r AS (SELECT status, degraded, latency_ms FROM drill_requests WHERE ${WINDOW}),
          by_status AS (SELECT CASE WHEN status = 'OK' AND degraded THEN 'DEGRADED' ELSE status END AS k, count(*)::int AS n FROM r GROUP BY 1)
     SELECT count(*)::int AS requests,
            count(*) FILTER (WHERE status = 'OK')::int AS ok,
            count(*) FILTER (WHERE status <> 'OK')::int AS failed,
            count(*) FILTER (WHERE status = 'OK' AND degraded)::int AS degraded,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE status = 'OK') AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE status = 'OK') AS p99,
            (SELECT COALESCE(jsonb_object_agg(k, n), '{}'::jsonb) FROM by_status) AS by_status
       FROM r`,
    windowParams(runId, window),
  );
  const x = r.rows[0]!;
  return {
    requests: x.requests,
    ok: x.ok,
    failed: x.failed,
    degraded: x.degraded,
    p50Ms: num(x.p50),
    p99Ms: num(x.p99),
    byStatus: x.by_status as Record<string, number>,
  };
}
