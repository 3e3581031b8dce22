import * as grpc from '@grpc/grpc-js';
import { Counter, Gauge, register as defaultRegistry, type Registry } from 'prom-client';
import { healthCtor, unaryCall, type HealthClient, type UnaryMethod } from './client';
import { GrpcError } from './errors';
import { createLogger, type Logger } from './logger';

/**
 * Client-side load balancing over N replicas of one service (the gateway's view of
 * retrieval-service and ranking-service).
 *
 * - Round robin over replicas whose last grpc.health.v1 Check said SERVING and that are not
 *   ejected. With none of those: replicas whose health is not known yet (or whose health check
 *   failed), then, as a last resort, NOT_SERVING ones. Only when every replica is ejected does a
 *   call fail fast with UNAVAILABLE "no ready <name> replica (...)".
 * - Outlier ejection: `ejectAfterFailures` consecutive UNAVAILABLE / DEADLINE_EXCEEDED / INTERNAL
 *   results eject a replica for `ejectForMs`, doubling on each repeat ejection up to 60 s, never
 *   ejecting more than `maxEjectedPercent` of the pool. An ejected replica comes back when a
 *   health check started after its ejection ended says SERVING, or at once when it *recovered*:
 *   its health check failed (unreachable, NOT_SERVING) since it last was in rotation and now says
 *   SERVING again (a restarted or re-admitted replica), which also resets its ejection backoff. A
 *   replica whose health stays SERVING while its calls keep failing serves the whole ejection.
 * - Retries: idempotent calls only, on UNAVAILABLE or RESOURCE_EXHAUSTED (or an attempt that ran
 *   out of its attemptTimeoutMs), always on a replica not tried yet, within the original deadline, paid from a retry budget (Finagle/Linkerd style:
 *   retries in the last 10 s ≤ ratio × calls in the last 10 s + minPerSecond × 10).
 */

export interface ReplicaPoolOptions {
  /** Pool name for metrics and logs, e.g. 'ranking'. */
  name: string;
  /** host:port of each replica. */
  targets: string[];
  /** grpc.health.v1 service name to check ('' = the whole server; default ''). */
  healthService?: string;
  /** Active health check period (default 1000 ms). */
  healthIntervalMs?: number;
  /** Consecutive call failures (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL) before ejection (default 3). */
  ejectAfterFailures?: number;
  /** Base ejection time; doubles on repeat ejections up to 60 s (default 5000 ms). */
  ejectForMs?: number;
  /** Never eject more than this share of the replicas (default 50). Health-based not-ready is separate. */
  maxEjectedPercent?: number;
  /** Retries allowed ≤ ratio × calls over a 10 s window + minPerSecond × 10 (default 0.2, 5). */
  retryBudget?: { ratio: number; minPerSecond: number };
  /** Attempts per call including the first (default 2 = one retry). */
  maxAttempts?: number;
  /** Where the ranksafe_client_* metrics go (pass `RunningService.metrics.registry`); default prom-client's global registry. */
  registry?: Registry;
  /** Logger for replica state changes (default: a serving-kit JSON logger at LOG_LEVEL or info). */
  logger?: Logger;
}

export type ReplicaState = 'ready' | 'not_serving' | 'ejected' | 'unknown';

export interface ReplicaSnapshot {
  target: string;
  state: ReplicaState;
  /** The last active health check's answer. */
  health: ReplicaHealth;
  consecutiveFailures: number;
  inflight: number;
}

export interface PoolCallOptions {
  /** Total time for the call, retries included. */
  deadlineMs: number;
  /**
   * Longest one attempt may take (Envoy's per_try_timeout); an idempotent attempt that runs out of
   * it is retried on another replica within `deadlineMs` (a replica stalled for a moment, e.g. by a
   * model load on its cores, does not fail the call). Default: the whole deadline.
   */
  attemptTimeoutMs?: number;
  /** Only idempotent calls are retried. */
  idempotent: boolean;
  metadata?: grpc.Metadata;
}

/**
 * Channel options suited to pool replicas: reconnect quickly after a replica restarts (grpc-js's
 * default backoff grows to 120 s, which would keep a restarted replica out of rotation for long).
 */
export const REPLICA_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 5000,
};

const MAX_EJECT_MS = 60_000;
const MIN_RETRY_TIME_MS = 5;
const BUDGET_WINDOW_S = 10;

/** Codes that count against a replica (outlier detection). */
const FAILURE_CODES = new Set<number>([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.INTERNAL]);
/** Codes worth another replica for an idempotent call. */
const RETRY_CODES = new Set<number>([grpc.status.UNAVAILABLE, grpc.status.RESOURCE_EXHAUSTED]);

export type ReplicaHealth = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'UNREACHABLE';

interface PoolMetrics {
  requests: Counter<'pool' | 'target' | 'code'>;
  retries: Counter<'pool' | 'outcome'>;
  ejections: Counter<'pool' | 'target'>;
  ready: Gauge<'pool' | 'target'>;
}

/** One set of metric objects per registry, shared by every pool that reports there. */
const metricsByRegistry = new WeakMap<Registry, PoolMetrics>();
function poolMetrics(registry: Registry): PoolMetrics {
  let m = metricsByRegistry.get(registry);
  if (!m) {
    const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
    m = {
      requests:
        existing<Counter<'pool' | 'target' | 'code'>>('ranksafe_client_requests_total') ??
        new Counter({
          name: 'ranksafe_client_requests_total',
          help: 'Calls (attempts) sent to a pool replica, by status code',
          labelNames: ['pool', 'target', 'code'],
          registers: [registry],
        }),
      retries:
        existing<Counter<'pool' | 'outcome'>>('ranksafe_client_retries_total') ??
        new Counter({
          name: 'ranksafe_client_retries_total',
          help: 'Retries of idempotent calls on another replica: attempted, or refused by the retry budget',
          labelNames: ['pool', 'outcome'],
          registers: [registry],
        }),
      ejections:
        existing<Counter<'pool' | 'target'>>('ranksafe_client_ejections_total') ??
        new Counter({
          name: 'ranksafe_client_ejections_total',
          help: 'Replicas ejected after consecutive failures',
          labelNames: ['pool', 'target'],
          registers: [registry],
        }),
      ready:
        existing<Gauge<'pool' | 'target'>>('ranksafe_client_replica_ready') ??
        new Gauge({
          name: 'ranksafe_client_replica_ready',
          help: '1 when a replica is in rotation (health SERVING and not ejected), else 0',
          labelNames: ['pool', 'target'],
          registers: [registry],
        }),
    };
    metricsByRegistry.set(registry, m);
  }
  return m;
}

/** Retries allowed ≤ ratio × calls + minPerSecond × window, over a sliding 10 s window of 1 s buckets. */
class RetryBudget {
  private readonly buckets: Array<{ sec: number; calls: number; retries: number }> = [];
  constructor(
    private readonly ratio: number,
    private readonly minPerSecond: number,
  ) {}

  private bucket() {
    const sec = Math.floor(Date.now() / 1000);
    while (this.buckets.length && this.buckets[0]!.sec <= sec - BUDGET_WINDOW_S) this.buckets.shift();
    let last = this.buckets[this.buckets.length - 1];
    if (!last || last.sec !== sec) {
      last = { sec, calls: 0, retries: 0 };
      this.buckets.push(last);
    }
    return last;
  }

  deposit(): void {
    this.bucket().calls++;
  }

  tryWithdraw(): boolean {
    const current = this.bucket();
    let calls = 0;
    let retries = 0;
    for (const b of this.buckets) {
      calls += b.calls;
      retries += b.retries;
    }
    if (retries + 1 > this.ratio * calls + this.minPerSecond * BUDGET_WINDOW_S) return false;
    current.retries++;
    return true;
  }
}

interface Replica<C> {
  target: string;
  client: C;
  health: HealthClient;
  healthStatus: ReplicaHealth;
  healthDetail?: string;
  checkInFlight: boolean;
  lastCheckStartedAt: number;
  consecutiveFailures: number;
  inflight: number;
  ejected: boolean;
  ejectedUntil: number;
  ejections: number;
  returnedAt: number;
  /** A health check failed since the replica was last in rotation (it went down: crash, drain, restart). */
  wentDown: boolean;
  ejectTimer?: NodeJS.Timeout;
  state: ReplicaState;
}

const codeName = (code: number) => grpc.status[code] ?? String(code);
const errCode = (err: unknown): number | undefined => {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'number' ? c : undefined;
};

export class ReplicaPool<C extends grpc.Client> {
  private readonly replicas: Replica<C>[];
  private readonly healthService: string;
  private readonly healthIntervalMs: number;
  private readonly ejectAfterFailures: number;
  private readonly ejectForMs: number;
  private readonly maxEjectedPercent: number;
  private readonly maxAttempts: number;
  private readonly budget: RetryBudget;
  private readonly metrics: PoolMetrics;
  private readonly logger: Logger;
  private rr = 0;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly opts: ReplicaPoolOptions,
    makeClient: (target: string) => C,
  ) {
    if (opts.targets.length === 0) throw new Error(`replica pool ${opts.name}: no targets`);
    if (new Set(opts.targets).size !== opts.targets.length) throw new Error(`replica pool ${opts.name}: duplicate targets`);
    this.healthService = opts.healthService ?? '';
    this.healthIntervalMs = opts.healthIntervalMs ?? 1000;
    this.ejectAfterFailures = Math.max(1, opts.ejectAfterFailures ?? 3);
    this.ejectForMs = opts.ejectForMs ?? 5000;
    this.maxEjectedPercent = opts.maxEjectedPercent ?? 50;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 2);
    this.budget = new RetryBudget(opts.retryBudget?.ratio ?? 0.2, opts.retryBudget?.minPerSecond ?? 5);
    this.metrics = poolMetrics(opts.registry ?? defaultRegistry);
    this.logger = (opts.logger ?? createLogger('replica-pool', process.env.LOG_LEVEL || 'info')).child({ pool: opts.name });

    const HealthCtor = healthCtor();
    this.replicas = opts.targets.map((target) => {
      const client = makeClient(target);
      // Health checks ride the replica's own channel: same connection, same credentials.
      const health = new HealthCtor(target, grpc.credentials.createInsecure(), { channelOverride: client.getChannel() });
      const r: Replica<C> = {
        target,
        client,
        health,
        healthStatus: 'UNKNOWN',
        checkInFlight: false,
        lastCheckStartedAt: 0,
        consecutiveFailures: 0,
        inflight: 0,
        ejected: false,
        ejectedUntil: 0,
        ejections: 0,
        returnedAt: 0,
        wentDown: false,
        state: 'unknown',
      };
      this.metrics.ready.set({ pool: opts.name, target }, 0);
      return r;
    });
  }

  get name(): string {
    return this.opts.name;
  }

  /** Begin active health checking: a Check per replica now, then every healthIntervalMs. */
  start(): void {
    if (this.timer || this.closed) return;
    for (const r of this.replicas) this.checkHealth(r, true);
    this.timer = setInterval(() => {
      for (const r of this.replicas) this.checkHealth(r, true);
    }, this.healthIntervalMs);
    this.timer.unref();
  }

  /** Call a unary method on one replica, retrying an idempotent call on another one when worth it. */
  async call<Req, Res>(pick: (c: C) => UnaryMethod<Req, Res>, req: Req, opts: PoolCallOptions): Promise<Res> {
    if (this.closed) throw new GrpcError(grpc.status.UNAVAILABLE, `${this.opts.name} pool is closed`);
    const deadline = Date.now() + opts.deadlineMs;
    this.budget.deposit();
    const tried = new Set<Replica<C>>();
    for (let attempt = 1; ; attempt++) {
      const r = this.pick(tried);
      if (!r) throw this.noReplicaError();
      tried.add(r);
      const remaining = deadline - Date.now();
      const perTry = Math.min(remaining, opts.attemptTimeoutMs ?? remaining);
      try {
        if (remaining <= 0) throw new GrpcError(grpc.status.DEADLINE_EXCEEDED, `deadline passed before calling ${this.opts.name}`);
        return await this.attempt(r, pick, req, perTry, opts.metadata);
      } catch (err) {
        const code = errCode(err);
        // An attempt cut short by its own timeout, with time left overall, is worth another replica.
        const attemptTimedOut = code === grpc.status.DEADLINE_EXCEEDED && perTry < remaining;
        if (!opts.idempotent || code === undefined || !(RETRY_CODES.has(code) || attemptTimedOut) || attempt >= this.maxAttempts) throw err;
        if (deadline - Date.now() < MIN_RETRY_TIME_MS) throw err;
        if (!this.hasCandidate(tried)) throw err;
        if (!this.budget.tryWithdraw()) {
          this.metrics.retries.inc({ pool: this.opts.name, outcome: 'budget_exhausted' });
          throw err;
        }
        this.metrics.retries.inc({ pool: this.opts.name, outcome: 'attempted' });
        this.logger.debug({ target: r.target, code: codeName(code), attempt }, 'retrying on another replica');
      }
    }
  }

  snapshot(): ReplicaSnapshot[] {
    return this.replicas.map((r) => ({
      target: r.target,
      state: this.stateOf(r),
      health: r.healthStatus,
      consecutiveFailures: r.consecutiveFailures,
      inflight: r.inflight,
    }));
  }

  /** Replicas in rotation: health SERVING and not ejected. */
  readyCount(): number {
    return this.replicas.filter((r) => this.stateOf(r) === 'ready').length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const r of this.replicas) {
      if (r.ejectTimer) clearTimeout(r.ejectTimer);
      r.health.close();
      r.client.close();
    }
  }

  // --- internals -------------------------------------------------------------------------

  private async attempt<Req, Res>(
    r: Replica<C>,
    pick: (c: C) => UnaryMethod<Req, Res>,
    req: Req,
    remainingMs: number,
    metadata: grpc.Metadata | undefined,
  ): Promise<Res> {
    const method = pick(r.client).bind(r.client);
    r.inflight++;
    try {
      const res = await unaryCall(method, req, { deadlineMs: remainingMs, metadata: metadata?.clone() });
      this.metrics.requests.inc({ pool: this.opts.name, target: r.target, code: 'OK' });
      r.consecutiveFailures = 0;
      return res;
    } catch (err) {
      const code = errCode(err) ?? grpc.status.UNKNOWN;
      this.metrics.requests.inc({ pool: this.opts.name, target: r.target, code: codeName(code) });
      if (FAILURE_CODES.has(code)) this.onFailure(r, code);
      else r.consecutiveFailures = 0; // the replica answered (INVALID_ARGUMENT, NOT_FOUND ...): it is up
      throw err;
    } finally {
      r.inflight--;
    }
  }

  /**
   * Next replica by round robin, skipping `exclude` and ejected ones. Tiers: health SERVING;
   * else health not known yet or unreachable (checks lag behind); else NOT_SERVING.
   */
  private pick(exclude: Set<Replica<C>>): Replica<C> | undefined {
    const avail = this.replicas.filter((r) => !exclude.has(r) && !r.ejected);
    if (avail.length === 0) return undefined;
    let tier = avail.filter((r) => r.healthStatus === 'SERVING');
    if (tier.length === 0) tier = avail.filter((r) => r.healthStatus === 'UNKNOWN' || r.healthStatus === 'UNREACHABLE');
    if (tier.length === 0) tier = avail;
    const r = tier[this.rr % tier.length]!;
    this.rr = (this.rr + 1) % 1_000_000_007;
    return r;
  }

  private hasCandidate(exclude: Set<Replica<C>>): boolean {
    return this.replicas.some((r) => !exclude.has(r) && !r.ejected);
  }

  private noReplicaError(): GrpcError {
    const states = this.replicas.map((r) => `${r.target}=${this.stateOf(r)}`).join(', ');
    return new GrpcError(grpc.status.UNAVAILABLE, `no ready ${this.opts.name} replica (${states})`);
  }

  private onFailure(r: Replica<C>, code: number): void {
    r.consecutiveFailures++;
    // A refused or dropped connection may mean the replica is going away: ask its health now.
    if (code === grpc.status.UNAVAILABLE) this.checkHealth(r);
    if (r.ejected || r.consecutiveFailures < this.ejectAfterFailures) return;
    const ejectedNow = this.replicas.filter((x) => x.ejected).length;
    const allowed = Math.floor((this.replicas.length * this.maxEjectedPercent) / 100);
    if (ejectedNow + 1 > allowed) {
      this.logger.debug({ target: r.target, ejectedNow, allowed }, 'not ejecting: max ejected percent reached');
      return;
    }
    const now = Date.now();
    const cap = Math.max(MAX_EJECT_MS, this.ejectForMs);
    // A replica that stayed in rotation for a full cap period starts over at the base time.
    if (r.returnedAt > 0 && now - r.returnedAt >= cap) r.ejections = 0;
    const forMs = Math.min(this.ejectForMs * 2 ** r.ejections, cap);
    r.ejections++;
    r.ejected = true;
    r.ejectedUntil = now + forMs;
    this.metrics.ejections.inc({ pool: this.opts.name, target: r.target });
    this.logger.info(
      { target: r.target, consecutiveFailures: r.consecutiveFailures, lastCode: codeName(code), ejectForMs: forMs, ejections: r.ejections },
      'replica ejected',
    );
    // Health-check as soon as the ejection ends, rather than at the next tick.
    if (r.ejectTimer) clearTimeout(r.ejectTimer);
    r.ejectTimer = setTimeout(() => {
      r.ejectTimer = undefined;
      this.checkHealth(r, true);
    }, forMs + 1);
    r.ejectTimer.unref();
    this.refresh(r, 'ejected');
  }

  private checkHealth(r: Replica<C>, force = false): void {
    if (this.closed || r.checkInFlight) return;
    const startedAt = Date.now();
    // Failure-triggered checks (force = false) are rate limited.
    if (!force && startedAt - r.lastCheckStartedAt < Math.min(50, this.healthIntervalMs / 2)) return;
    r.checkInFlight = true;
    r.lastCheckStartedAt = startedAt;
    const timeoutMs = Math.max(250, Math.min(this.healthIntervalMs, 2000));
    try {
      r.health.check({ service: this.healthService }, new grpc.Metadata(), { deadline: startedAt + timeoutMs }, (err, res) => {
        r.checkInFlight = false;
        if (this.closed) return;
        let status: ReplicaHealth;
        let detail: string | undefined;
        if (err) {
          status = err.code === grpc.status.NOT_FOUND ? 'NOT_SERVING' : 'UNREACHABLE';
          detail = `${codeName(err.code)}: ${err.details}`;
        } else {
          status = res?.status === 'SERVING' ? 'SERVING' : 'NOT_SERVING';
          detail = res?.status;
        }
        this.onHealth(r, status, detail, startedAt);
      });
    } catch (err) {
      // check() throws synchronously only on a closed channel.
      r.checkInFlight = false;
      this.onHealth(r, 'UNREACHABLE', (err as Error).message, startedAt);
    }
  }

  private onHealth(r: Replica<C>, status: ReplicaHealth, detail: string | undefined, checkStartedAt: number): void {
    r.healthStatus = status;
    r.healthDetail = detail;
    let reason = `health ${status}${detail && detail !== status ? ` (${detail})` : ''}`;
    if (status !== 'SERVING') r.wentDown = true;
    else if (r.ejected && (r.wentDown || checkStartedAt >= r.ejectedUntil)) {
      if (r.wentDown) {
        // Down and back (a restart, a drain lifted): a new process, not an outlier; its first
        // passing check re-admits it and its backoff starts over.
        r.ejections = 0;
        if (r.ejectTimer) clearTimeout(r.ejectTimer);
        r.ejectTimer = undefined;
        reason = 'recovered: health SERVING again after a failed check';
      } else {
        reason = 'ejection over and health SERVING';
      }
      r.ejected = false;
      r.consecutiveFailures = 0;
      r.returnedAt = Date.now();
      r.wentDown = false;
    } else if (!r.ejected) r.wentDown = false;
    this.refresh(r, reason);
  }

  private stateOf(r: Replica<C>): ReplicaState {
    if (r.ejected) return 'ejected';
    switch (r.healthStatus) {
      case 'SERVING':
        return 'ready';
      case 'UNKNOWN':
        return 'unknown';
      default:
        return 'not_serving';
    }
  }

  /** Publish a state change (gauge + one info line). */
  private refresh(r: Replica<C>, reason: string): void {
    const next = this.stateOf(r);
    if (next === r.state) return;
    const from = r.state;
    r.state = next;
    this.metrics.ready.set({ pool: this.opts.name, target: r.target }, next === 'ready' ? 1 : 0);
    this.logger.info({ target: r.target, from, to: next, reason }, 'replica state changed');
  }
}
