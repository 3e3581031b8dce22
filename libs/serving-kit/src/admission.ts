// Admission control: an adaptive concurrency limit with a short, time-bounded queue in front of a
// stage, so that under overload the excess is refused at once (RESOURCE_EXHAUSTED, in a millisecond)
// instead of queueing until it times out deep inside, and no call starts work it cannot finish.
//
// The limit is AIMD on latency, as TCP congestion control and Netflix's concurrency-limits do it:
// while calls finish within `targetMs` and at least half of the limit is in use, it grows by about
// one per limit's worth of completions; a call slower than the target, or one its downstream refused as
// overloaded, shrinks it by `backoff` (at most once per cool-down, the recent latency, so one burst
// does not collapse it). A call that finds every slot taken waits in a FIFO queue only when its
// predicted wait — its place in the queue × the recent latency / the limit — is within `maxQueueMs`
// and leaves enough of its deadline for the work itself; otherwise it is shed at once.

/** Why a call was not admitted. */
export type ShedReason = 'queue_full' | 'deadline';

export class ShedError extends Error {
  constructor(
    readonly reason: ShedReason,
    message: string,
  ) {
    super(message);
    this.name = 'ShedError';
  }
}

export interface AdmissionOptions {
  /** Starting concurrency limit, and its bounds. */
  initialLimit: number;
  minLimit: number;
  maxLimit: number;
  /** A call slower than this (ms, from admission to release) counts as a sign of overload. */
  targetMs: number;
  /** The longest predicted queue wait (ms) a call is admitted to queue for. */
  maxQueueMs: number;
  /** Multiplicative decrease (default 0.9). */
  backoff?: number;
  now?: () => number;
}

/** How a call ended, for the limit: `overload` = its downstream refused it or it timed out. */
export type Outcome = 'ok' | 'error' | 'overload';

export interface Permit {
  /** Milliseconds the call waited in the queue. */
  readonly queuedMs: number;
  release(outcome: Outcome): void;
}

export interface AdmissionStats {
  limit: number;
  inFlight: number;
  queued: number;
  /** Recent latency estimate (ms), what waits and deadlines are predicted with. */
  latencyMs: number;
  admitted: number;
  shed: Record<ShedReason, number>;
}

interface Waiter {
  enqueuedAt: number;
  deadlineAt: number;
  resolve: (p: Permit) => void;
  reject: (e: ShedError) => void;
  timer?: NodeJS.Timeout;
}

export class AdaptiveLimiter {
  private limitF: number;
  private inFlight = 0;
  private readonly queue: Waiter[] = [];
  private latencyMs: number;
  private observed = false;
  private lastDecreaseAt = -Infinity;
  private admitted = 0;
  private readonly shed: Record<ShedReason, number> = { queue_full: 0, deadline: 0 };
  private readonly backoff: number;
  private readonly now: () => number;

  constructor(private readonly o: AdmissionOptions) {
    if (!(o.minLimit >= 1 && o.minLimit <= o.initialLimit && o.initialLimit <= o.maxLimit))
      throw new Error('admission: need 1 <= minLimit <= initialLimit <= maxLimit');
    this.limitF = o.initialLimit;
    this.latencyMs = 0; // unknown until the first call finishes: nothing is refused on a guess
    this.backoff = o.backoff ?? 0.9;
    this.now = o.now ?? (() => performance.now());
  }

  get limit(): number {
    return Math.floor(this.limitF);
  }

  stats(): AdmissionStats {
    return {
      limit: this.limit,
      inFlight: this.inFlight,
      queued: this.queue.length,
      latencyMs: this.latencyMs,
      admitted: this.admitted,
      shed: { ...this.shed },
    };
  }

  /**
   * A slot now, or after a short wait in the queue; or a ShedError at once. `remainingMs` is the
   * caller's deadline (Infinity = none): a call whose deadline leaves less than the recent latency
   * after its predicted wait is refused now rather than started.
   */
  acquire(remainingMs = Infinity): Promise<Permit> {
    const t = this.now();
    if (this.inFlight < this.limit && this.queue.length === 0) {
      if (remainingMs < this.latencyMs) return Promise.reject(this.refuse('deadline', remainingMs, 0));
      return Promise.resolve(this.grant(t));
    }
    // Before any call has finished, a call is taken to last a quarter of maxQueueMs: 4 wait per slot.
    const perCallMs = this.observed ? this.latencyMs : this.o.maxQueueMs / 4;
    const predictedWaitMs = ((this.queue.length + 1) * perCallMs) / Math.max(1, this.limit);
    if (this.o.maxQueueMs <= 0 || predictedWaitMs > this.o.maxQueueMs) return Promise.reject(this.refuse('queue_full', remainingMs, predictedWaitMs));
    if (remainingMs < predictedWaitMs + this.latencyMs) return Promise.reject(this.refuse('deadline', remainingMs, predictedWaitMs));
    return new Promise<Permit>((resolve, reject) => {
      const w: Waiter = { enqueuedAt: t, deadlineAt: t + remainingMs, resolve, reject };
      // The deadline passes in the queue: refuse then (the caller stops waiting anyway).
      if (Number.isFinite(remainingMs))
        w.timer = setTimeout(
          () => {
            const i = this.queue.indexOf(w);
            if (i >= 0) this.queue.splice(i, 1);
            reject(this.refuse('deadline', 0, this.now() - w.enqueuedAt));
          },
          Math.max(0, remainingMs - this.latencyMs),
        );
      this.queue.push(w);
    });
  }

  private refuse(reason: ShedReason, remainingMs: number, waitMs: number): ShedError {
    this.shed[reason]++;
    const where = `${this.inFlight} in flight at a limit of ${this.limit}, ${this.queue.length} queued, recent latency ${Math.round(this.latencyMs)} ms`;
    return new ShedError(
      reason,
      reason === 'queue_full'
        ? `overloaded: ${where} (a wait of ~${Math.round(waitMs)} ms is over ${this.o.maxQueueMs} ms); retry with backoff`
        : `cannot finish within the deadline (${Math.round(remainingMs)} ms left; ${where})`,
    );
  }

  private grant(startedAt: number, queuedMs = 0): Permit {
    this.inFlight++;
    this.admitted++;
    // The limit is what holds calls back when at least half of it is in use (as Netflix's AIMD limit judges it).
    const busy = this.inFlight * 2 >= this.limit;
    let released = false;
    return {
      queuedMs,
      release: (outcome: Outcome) => {
        if (released) return;
        released = true;
        this.inFlight--;
        this.onDone(this.now() - startedAt, outcome, busy);
        this.drain();
      },
    };
  }

  private onDone(ms: number, outcome: Outcome, limited: boolean): void {
    if (outcome !== 'error') {
      this.latencyMs = this.observed ? this.latencyMs + 0.1 * (ms - this.latencyMs) : ms;
      this.observed = true;
    }
    const t = this.now();
    if (outcome === 'overload' || ms > this.o.targetMs) {
      if (t - this.lastDecreaseAt >= Math.max(this.latencyMs, 1)) {
        this.limitF = Math.max(this.o.minLimit, this.limitF * this.backoff);
        this.lastDecreaseAt = t;
      }
    } else if (limited) {
      this.limitF = Math.min(this.o.maxLimit, this.limitF + 1 / this.limitF);
    }
  }

  private drain(): void {
    while (this.queue.length && this.inFlight < this.limit) {
      const w = this.queue.shift()!;
      if (w.timer) clearTimeout(w.timer);
      const t = this.now();
      if (w.deadlineAt - t < this.latencyMs) {
        w.reject(this.refuse('deadline', w.deadlineAt - t, t - w.enqueuedAt));
        continue;
      }
      w.resolve(this.grant(t, t - w.enqueuedAt));
    }
  }
}
