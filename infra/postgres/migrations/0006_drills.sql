-- Up Migration
-- Disaster-recovery drills (issue 9). A drill's run, the faults it injected (each with a TTL, so a
-- reconciler can clear what no running drill owns), the load it asked the load agent for, and
-- every request that load sent (what clients saw, read back by the drill for its figures).
CREATE TABLE drill_runs (
  workflow_id    TEXT NOT NULL,
  run_id         TEXT NOT NULL,
  scenario       TEXT NOT NULL,
  target         TEXT NOT NULL,
  dry_run        BOOLEAN NOT NULL DEFAULT false,
  outcome        TEXT NOT NULL CHECK (outcome IN ('running', 'passed', 'failed', 'aborted', 'dry-run')),
  reason         TEXT,
  started_at     TIMESTAMPTZ NOT NULL,
  ended_at       TIMESTAMPTZ,
  mttd_ms        INTEGER,
  rto_ms         INTEGER,
  rpo_ms         BIGINT,
  requests       INTEGER,
  failed         INTEGER,
  degraded       INTEGER,
  score          REAL,
  result         JSONB NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (workflow_id, run_id)
);
CREATE INDEX drill_runs_scenario_started ON drill_runs (scenario, started_at DESC);

CREATE TABLE drill_faults (
  id                 TEXT PRIMARY KEY,
  drill_workflow_id  TEXT NOT NULL,
  kind               TEXT NOT NULL,
  target             TEXT NOT NULL,
  detail             JSONB NOT NULL DEFAULT '{}'::jsonb,
  injected_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at         TIMESTAMPTZ NOT NULL,
  reverted_at        TIMESTAMPTZ,
  reverted_by        TEXT
);
CREATE INDEX drill_faults_active ON drill_faults (expires_at) WHERE reverted_at IS NULL;

-- What load the drill wants. The load agent (apps/load-agent, started through the Platform) runs
-- the newest row that is neither stopped nor past its deadline, and writes its requests below.
CREATE TABLE drill_load (
  run_id        TEXT PRIMARY KEY,
  profile       JSONB NOT NULL,
  state         TEXT NOT NULL CHECK (state IN ('wanted', 'running', 'stopped')),
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  deadline_at   TIMESTAMPTZ NOT NULL,
  started_at    TIMESTAMPTZ,
  stopped_at    TIMESTAMPTZ,
  heartbeat_at  TIMESTAMPTZ,
  agent         JSONB NOT NULL DEFAULT '{}'::jsonb
);

CREATE TABLE drill_requests (
  id          BIGSERIAL PRIMARY KEY,
  run_id      TEXT NOT NULL,
  at          TIMESTAMPTZ NOT NULL,
  rpc         TEXT NOT NULL,
  latency_ms  REAL NOT NULL,
  status      TEXT NOT NULL,
  degraded    BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX drill_requests_run_at ON drill_requests (run_id, at);

-- Down Migration
DROP TABLE drill_requests;
DROP TABLE drill_load;
DROP TABLE drill_faults;
DROP TABLE drill_runs;
