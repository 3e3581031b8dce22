-- Up Migration
-- Canary routing of the gateways (GatewayAdmin.SetRouting): which ranking version answers what
-- share of Search/Recommend, and what share is mirrored to it. One row per scope (a group of
-- gateways that share a split; 'default' for the stack); every gateway polls its row, so a
-- restarted gateway comes back with the same split. revision grows by one per change (compare-
-- and-set); every change is also kept in gateway_routing_history.
CREATE TABLE gateway_routing (
  scope           TEXT PRIMARY KEY CHECK (scope ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
  model_name      TEXT NOT NULL DEFAULT '',
  canary_version  TEXT NOT NULL DEFAULT '',
  canary_weight   DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (canary_weight >= 0 AND canary_weight <= 1),
  mirror_rate     DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (mirror_rate >= 0 AND mirror_rate <= 1),
  revision        BIGINT NOT NULL CHECK (revision > 0),
  updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_by      TEXT NOT NULL DEFAULT '',
  reason          TEXT NOT NULL DEFAULT '',
  CHECK (canary_version <> '' OR (canary_weight = 0 AND mirror_rate = 0))
);

CREATE TABLE gateway_routing_history (
  id              BIGSERIAL PRIMARY KEY,
  scope           TEXT NOT NULL,
  model_name      TEXT NOT NULL,
  canary_version  TEXT NOT NULL,
  canary_weight   DOUBLE PRECISION NOT NULL,
  mirror_rate     DOUBLE PRECISION NOT NULL,
  revision        BIGINT NOT NULL,
  updated_at      TIMESTAMPTZ NOT NULL,
  updated_by      TEXT NOT NULL,
  reason          TEXT NOT NULL,
  UNIQUE (scope, revision)
);

-- Down Migration
DROP TABLE gateway_routing_history;
DROP TABLE gateway_routing;
