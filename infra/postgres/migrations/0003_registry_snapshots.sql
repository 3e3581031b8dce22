-- Up Migration
-- Backups of the model registry: one row per snapshot directory under REGISTRY_BACKUP_DIR
-- (table rows as JSONL + manifest.json; artifacts in a content-addressed store shared by all
-- snapshots). verified_at is set once the snapshot was restored into a scratch database and
-- checked; verify_error records why the last verification failed (a failed snapshot is never
-- restored). Not itself part of a snapshot, so a restore never forgets its own backups.
CREATE TABLE registry_snapshots (
  id            TEXT PRIMARY KEY CHECK (id ~ '^[0-9]{8}T[0-9]{9}Z-[0-9a-f]{8}$'),
  label         TEXT NOT NULL DEFAULT '',
  created_at    TIMESTAMPTZ NOT NULL,
  path          TEXT NOT NULL,
  row_counts    JSONB NOT NULL DEFAULT '{}'::jsonb,
  artifacts     INT NOT NULL DEFAULT 0 CHECK (artifacts >= 0),
  bytes         BIGINT NOT NULL DEFAULT 0 CHECK (bytes >= 0),
  verified_at   TIMESTAMPTZ,
  verify_error  TEXT
);
-- Newest first (listing, retention, RPO).
CREATE INDEX registry_snapshots_created ON registry_snapshots (created_at DESC, id DESC);

-- Down Migration
DROP TABLE registry_snapshots;
