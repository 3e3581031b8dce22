-- Up Migration
-- The model registry: immutable versions (metadata of a content-addressed artifact), movable
-- aliases with compare-and-set, the history of every alias move (for "as of T" answers) and an
-- append-only audit log of every mutation.
CREATE TABLE model_versions (
  name        TEXT NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
  version     TEXT NOT NULL CHECK (version ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
  kind        TEXT NOT NULL,
  framework   TEXT NOT NULL DEFAULT '',
  size_bytes  BIGINT NOT NULL CHECK (size_bytes >= 0),
  sha256      CHAR(64) NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  signature   JSONB NOT NULL DEFAULT '{}'::jsonb,
  metrics     JSONB NOT NULL DEFAULT '{}'::jsonb,
  lineage     JSONB NOT NULL DEFAULT '{}'::jsonb,
  created_by  TEXT NOT NULL,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (name, version)
);
-- Keyset pagination of one model's versions, newest first.
CREATE INDEX model_versions_name_created ON model_versions (name, created_at DESC, version DESC);
-- Which versions share an artifact (garbage collection of unreferenced artifacts).
CREATE INDEX model_versions_sha256 ON model_versions (sha256);

CREATE TABLE model_aliases (
  name        TEXT NOT NULL,
  alias       TEXT NOT NULL CHECK (alias ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
  version     TEXT NOT NULL,
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_by  TEXT NOT NULL,
  PRIMARY KEY (name, alias),
  FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON DELETE RESTRICT
);
-- The delete guard: which aliases point at a version.
CREATE INDEX model_aliases_version ON model_aliases (name, version);

CREATE TABLE model_alias_history (
  id                BIGSERIAL PRIMARY KEY,
  name              TEXT NOT NULL,
  alias             TEXT NOT NULL,
  version           TEXT,          -- NULL: the alias was removed
  previous_version  TEXT,          -- NULL: the alias did not exist before
  at                TIMESTAMPTZ NOT NULL DEFAULT now(),
  actor             TEXT NOT NULL,
  reason            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX model_alias_history_alias_at ON model_alias_history (name, alias, at DESC, id DESC);

CREATE TABLE registry_audit (
  id       BIGSERIAL PRIMARY KEY,
  at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  actor    TEXT NOT NULL,
  action   TEXT NOT NULL,
  subject  TEXT NOT NULL,
  detail   JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX registry_audit_at ON registry_audit (at);

-- Down Migration
DROP TABLE registry_audit;
DROP TABLE model_alias_history;
DROP TABLE model_aliases;
DROP TABLE model_versions;
