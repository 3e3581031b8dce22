-- Up Migration
-- What a canary split applies to (ranksafe.v1.ModelKind): 3 = the sequential recommender behind
-- Recommend's sequential path; 0, 1, 2 = the ranking model of Search and of Recommend's profile path
-- (every split stored before this migration). A catalog index (4) is never a traffic split.
ALTER TABLE gateway_routing ADD COLUMN model_kind SMALLINT NOT NULL DEFAULT 0 CHECK (model_kind IN (0, 1, 2, 3));
ALTER TABLE gateway_routing_history ADD COLUMN model_kind SMALLINT NOT NULL DEFAULT 0;

-- Down Migration
ALTER TABLE gateway_routing_history DROP COLUMN model_kind;
ALTER TABLE gateway_routing DROP COLUMN model_kind;
