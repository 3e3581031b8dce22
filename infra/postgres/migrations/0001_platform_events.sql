-- Up Migration
-- Lifecycle of every supervised component (started, ready, exited, stopped, killed ...).
-- Drills read it to measure detection and recovery; operators read it with `ops events`.
CREATE TABLE platform_events (
  id          BIGSERIAL PRIMARY KEY,
  at          TIMESTAMPTZ NOT NULL DEFAULT now(),
  component   TEXT NOT NULL,
  instance    TEXT NOT NULL,
  event       TEXT NOT NULL CHECK (event IN ('starting', 'ready', 'exited', 'stopping', 'stopped', 'killed', 'failed')),
  detail      JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX platform_events_instance_at ON platform_events (instance, at DESC);
CREATE INDEX platform_events_at ON platform_events (at DESC);

-- Down Migration
DROP TABLE platform_events;
