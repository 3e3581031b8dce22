import type { Pool } from 'pg';
import { ModelKind, type Routing } from '@ranksafe/proto';
import { aborted, GrpcError, invalidArgument, unavailable, type Logger } from '@ranksafe/serving-kit';

/** No canary: everything answered by the ranking service's default version. */
export const PRODUCTION_ONLY: Routing = {
  modelName: '',
  canaryVersion: '',
  canaryWeight: 0,
  mirrorRate: 0,
  revision: 0,
  updatedAtUnixMs: 0,
  updatedBy: '',
  reason: '',
  modelKind: ModelKind.MODEL_KIND_UNSPECIFIED,
};

/** Does the split apply to Recommend's sequential path (else to the Rank calls of Search and the profile path)? */
export const isRecommenderSplit = (r: Pick<Routing, 'modelKind'>): boolean => r.modelKind === ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER;

/**
 * Which path's calls a split's analysis counts: while a sequential-recommender canary is in force,
 * Recommend's sequential calls (and not the Rank calls, whose latency would blur its baseline);
 * otherwise the Rank calls, as before there were recommender splits.
 */
export const analysedPath = (r: Routing): 'rank' | 'sequential' => (isRecommenderSplit(r) && r.canaryVersion ? 'sequential' : 'rank');

/** The split in force for one path: the routing when it applies there, otherwise production only. */
export function routingFor(r: Routing, path: 'rank' | 'sequential'): Routing {
  return isRecommenderSplit(r) === (path === 'sequential') ? r : PRODUCTION_ONLY;
}

export interface RoutingChange {
  modelName: string;
  canaryVersion: string;
  canaryWeight: number;
  mirrorRate: number;
  modelKind: ModelKind;
  reason: string;
  actor: string;
  expectedRevision?: number;
}

const VERSION_RE = /^[\w.:@+-]{1,128}$/;

/** Check a change before it is stored (fields named as in SetRoutingRequest). */
export function validateChange(c: RoutingChange): void {
  if (c.modelName && !VERSION_RE.test(c.modelName)) throw invalidArgument('model_name', 'must be a model name');
  if (c.canaryVersion && !VERSION_RE.test(c.canaryVersion)) throw invalidArgument('canary_version', 'must be a registry version such as int8-<sha12>');
  if (!Number.isFinite(c.canaryWeight) || c.canaryWeight < 0 || c.canaryWeight > 1)
    throw invalidArgument('canary_weight', `must be within [0, 1], got ${c.canaryWeight}`);
  if (!Number.isFinite(c.mirrorRate) || c.mirrorRate < 0 || c.mirrorRate > 1)
    throw invalidArgument('mirror_rate', `must be within [0, 1], got ${c.mirrorRate}`);
  if (!c.canaryVersion && (c.canaryWeight > 0 || c.mirrorRate > 0))
    throw invalidArgument('canary_version', 'must be set for a canary weight or a mirror rate above 0');
  if (
    ![
      ModelKind.MODEL_KIND_UNSPECIFIED,
      ModelKind.MODEL_KIND_BI_ENCODER,
      ModelKind.MODEL_KIND_CROSS_ENCODER,
      ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER,
    ].includes(c.modelKind)
  )
    throw invalidArgument(
      'model_kind',
      'must be a ranking model kind or MODEL_KIND_SEQUENTIAL_RECOMMENDER (an index is canaried on a retrieval replica, not split)',
    );
  if (isRecommenderSplit(c) && c.mirrorRate > 0)
    throw invalidArgument('mirror_rate', 'must be 0 for a sequential-recommender split (its answers are not mirrored)');
  if (c.reason.length > 1000) throw invalidArgument('reason', 'at most 1000 characters');
}

interface Row {
  model_name: string;
  canary_version: string;
  canary_weight: number;
  mirror_rate: number;
  model_kind: number;
  revision: string;
  updated_at: Date;
  updated_by: string;
  reason: string;
}

const fromRow = (r: Row): Routing => ({
  modelName: r.model_name,
  canaryVersion: r.canary_version,
  canaryWeight: r.canary_weight,
  mirrorRate: r.mirror_rate,
  revision: Number(r.revision),
  updatedAtUnixMs: r.updated_at.getTime(),
  updatedBy: r.updated_by,
  reason: r.reason,
  modelKind: r.model_kind as ModelKind,
});

/**
 * The gateway's canary routing: held in memory for the hot path, stored in Postgres (one row per
 * scope) and polled, so every gateway of the scope, and a restarted one, answers with the same
 * split. Without a database the split lives in this process only. While Postgres is unreachable
 * the last split read stays in force (a gateway that never read one routes everything to
 * production) and changes are refused with UNAVAILABLE: a split that is not stored is not applied.
 */
export class RoutingTable {
  private current: Routing = PRODUCTION_ONLY;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly pool: Pool | undefined,
    private readonly scope: string,
    private readonly logger: Logger,
    private readonly onChange: (r: Routing) => void = () => undefined,
  ) {}

  get routing(): Routing {
    return this.current;
  }

  get persistent(): boolean {
    return this.pool !== undefined;
  }

  private apply(r: Routing): void {
    if (r.revision === this.current.revision) return;
    const before = this.current;
    this.current = r;
    this.logger.info({ routing: r, previousRevision: before.revision }, 'canary routing changed');
    this.onChange(r);
  }

  /** Read the stored split (no-op without a database). Errors propagate. */
  async refresh(): Promise<Routing> {
    if (!this.pool) return this.current;
    const res = await this.pool.query<Row>('SELECT * FROM gateway_routing WHERE scope = $1', [this.scope]);
    if (res.rows[0]) this.apply(fromRow(res.rows[0]));
    return this.current;
  }

  /** Read once now (a failure is logged and leaves production-only routing), then every `everyMs`. */
  async start(everyMs: number): Promise<void> {
    if (!this.pool) return;
    await this.refresh().catch((e) =>
      this.logger.warn({ err: (e as Error).message }, 'cannot read the canary routing from Postgres; routing everything to production until it can'),
    );
    this.timer = setInterval(() => {
      this.refresh().catch((e) => this.logger.warn({ err: (e as Error).message }, 'cannot poll the canary routing; keeping the last one read'));
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Store and apply a new split; ABORTED when expectedRevision is given and is not the stored one. */
  async set(c: RoutingChange): Promise<Routing> {
    validateChange(c);
    if (!this.pool) {
      if (c.expectedRevision !== undefined && c.expectedRevision !== this.current.revision) {
        throw aborted(`routing is at revision ${this.current.revision}, not ${c.expectedRevision}`);
      }
      const { modelName, canaryVersion, canaryWeight, mirrorRate, modelKind, reason } = c;
      this.apply({
        modelName,
        canaryVersion,
        canaryWeight,
        mirrorRate,
        modelKind,
        reason,
        revision: this.current.revision + 1,
        updatedAtUnixMs: Date.now(),
        updatedBy: c.actor,
      });
      return this.current;
    }
    const client = await this.pool.connect().catch((e: Error) => {
      throw unavailable(`cannot store the routing: Postgres is unreachable (${e.message}); routing unchanged`);
    });
    try {
      await client.query('BEGIN');
      const cur = await client.query<{ revision: string }>('SELECT revision FROM gateway_routing WHERE scope = $1 FOR UPDATE', [this.scope]);
      const stored = cur.rows[0] ? Number(cur.rows[0].revision) : 0;
      if (c.expectedRevision !== undefined && c.expectedRevision !== stored) {
        throw aborted(`routing of scope ${this.scope} is at revision ${stored}, not ${c.expectedRevision}: someone else changed it`);
      }
      const res = await client.query<Row>(
        `INSERT INTO gateway_routing (scope, model_name, canary_version, canary_weight, mirror_rate, model_kind, revision, updated_at, updated_by, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now(), $8, $9)
         ON CONFLICT (scope) DO UPDATE SET model_name = EXCLUDED.model_name, canary_version = EXCLUDED.canary_version, canary_weight = EXCLUDED.canary_weight,
           mirror_rate = EXCLUDED.mirror_rate, model_kind = EXCLUDED.model_kind, revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at,
           updated_by = EXCLUDED.updated_by, reason = EXCLUDED.reason
         RETURNING *`,
        [this.scope, c.modelName, c.canaryVersion, c.canaryWeight, c.mirrorRate, c.modelKind, stored + 1, c.actor, c.reason],
      );
      await client.query(
        `INSERT INTO gateway_routing_history (scope, model_name, canary_version, canary_weight, mirror_rate, model_kind, revision, updated_at, updated_by, reason)
         SELECT scope, model_name, canary_version, canary_weight, mirror_rate, model_kind, revision, updated_at, updated_by, reason FROM gateway_routing WHERE scope = $1`,
        [this.scope],
      );
      await client.query('COMMIT');
      this.apply(fromRow(res.rows[0]!));
      return this.current;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (e instanceof GrpcError) throw e;
      throw unavailable(`cannot store the routing (${(e as Error).message}); routing unchanged`);
    } finally {
      client.release();
    }
  }
}
