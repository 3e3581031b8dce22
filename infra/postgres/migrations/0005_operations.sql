-- Up Migration
-- The cold path's own history: every durable operation (rollout, recovery, snapshot, monitor,
-- drill), the steps it took, and the incidents detection opened. It outlives Temporal's retention,
-- and drills measure MTTD / RTO from it.
CREATE TABLE operations (
  workflow_id  TEXT NOT NULL,
  run_id       TEXT NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('rollout', 'recovery', 'snapshot', 'monitor', 'drill')),
  target       TEXT NOT NULL,
  state        TEXT NOT NULL,
  started_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  ended_at     TIMESTAMPTZ,
  detail       JSONB NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (workflow_id, run_id)
);
CREATE INDEX operations_kind_started ON operations (kind, started_at DESC);

-- One row per (run, step, state). A step's record written twice (an activity retried after a
-- worker crash) bumps `writes` instead of adding a row, so a repeated side effect is visible.
CREATE TABLE operation_steps (
  id           BIGSERIAL PRIMARY KEY,
  workflow_id  TEXT NOT NULL,
  run_id       TEXT NOT NULL,
  seq          INTEGER NOT NULL,
  step         TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('started', 'completed', 'failed', 'compensated', 'compensation_failed', 'skipped')),
  at           TIMESTAMPTZ NOT NULL DEFAULT now(),
  writes       INTEGER NOT NULL DEFAULT 1,
  detail       JSONB NOT NULL DEFAULT '{}'::jsonb,
  UNIQUE (workflow_id, run_id, seq, state)
);
CREATE INDEX operation_steps_run ON operation_steps (workflow_id, run_id, seq);

CREATE TABLE incidents (
  id                    TEXT PRIMARY KEY,
  instance              TEXT NOT NULL,
  component             TEXT NOT NULL,
  reason                TEXT NOT NULL,
  first_failure_at      TIMESTAMPTZ,
  detected_at           TIMESTAMPTZ NOT NULL,
  recovery_workflow_id  TEXT,
  state                 TEXT NOT NULL CHECK (state IN ('open', 'recovering', 'recovered', 'unrecovered')),
  recovered_at          TIMESTAMPTZ,
  detail                JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX incidents_instance_detected ON incidents (instance, detected_at DESC);
CREATE INDEX incidents_open ON incidents (state) WHERE state IN ('open', 'recovering');

-- Down Migration
DROP TABLE incidents;
DROP TABLE operation_steps;
DROP TABLE operations;
