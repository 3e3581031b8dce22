// Closed- and open-loop load for any `(i) => Promise<result>` request function: outcomes by gRPC
// status name, degraded answers, a latency histogram, an optional per-request record sink and a
// per-interval timeline. Used by the benches, the integration tests and (next) the drills.
import { status as grpcStatus } from '@grpc/grpc-js';
import { Histogram, type HistogramJSON, type LatencySummary } from './histogram';

/** What a result means beyond "it answered": a degraded answer, or a status of the caller's own. */
export interface Classification {
  degraded?: boolean;
  /** Overrides 'OK' for an answer the caller counts as a failure (e.g. 'WRONG_MODEL'). */
  status?: string;
}

/** One request as the sink sees it. `status` is a gRPC status name, 'ERROR' (a throw without a gRPC code) or 'DROPPED' (open loop: not sent, max in flight reached). */
export interface RequestRecord {
  i: number;
  /** Epoch ms when the request was sent (for DROPPED: when it was due). */
  at: number;
  latencyMs: number;
  status: string;
  degraded: boolean;
}

export interface TimelinePoint {
  /** Start of the interval, ms since the run started; requests are counted in the interval they were sent in. */
  t: number;
  sent: number;
  ok: number;
  degraded: number;
  dropped: number;
  failed: Record<string, number>;
  /** Latency of the OK answers sent in this interval. */
  p50: number;
  p99: number;
  max: number;
}

export interface LoadOptions<R> {
  /** Sends request number i (0, 1, 2 ...). A rejection is an outcome, never a crash of the run. */
  request: (i: number) => Promise<R>;
  classify?: (result: R) => Classification;
  /** Stop issuing after this long (in-flight requests still finish and are counted). */
  durationMs?: number;
  /** Stop after this many requests were issued (open loop: scheduled, dropped ones included). */
  count?: number;
  /** Stop issuing when aborted; the run then resolves once in-flight requests have finished. */
  signal?: AbortSignal;
  onRecord?: (r: RequestRecord) => void;
  /** Keep a timeline, one point per interval (true: 1000 ms). */
  timeline?: boolean | { intervalMs: number };
  /** Relative accuracy of the latency histograms (default 1%). */
  relativeAccuracy?: number;
}

export interface ClosedLoopOptions<R> extends LoadOptions<R> {
  /** Workers, each sending its next request when its previous one answered. */
  concurrency: number;
}

export interface OpenLoopOptions<R> extends LoadOptions<R> {
  /** Arrivals per second, fired on schedule whether or not earlier requests have answered. */
  ratePerSec: number;
  /** A request due while this many are in flight is not sent and is counted as dropped (default 1000). */
  maxInFlight?: number;
}

export interface LoadStats {
  sent: number;
  completed: number;
  inFlight: number;
  ok: number;
  degraded: number;
  dropped: number;
  failed: Record<string, number>;
}

export interface LoadSummary {
  mode: 'closed' | 'open';
  concurrency?: number;
  ratePerSec?: number;
  maxInFlight?: number;
  aborted: boolean;
  /** From the first request to the last answer. */
  elapsedS: number;
  /** Open loop: requests that came due (sent + dropped). */
  scheduled: number;
  sent: number;
  completed: number;
  /** Answers with status OK (degraded ones included). */
  ok: number;
  degraded: number;
  dropped: number;
  failed: Record<string, number>;
  failedTotal: number;
  /** Completed requests per second: of the elapsed time (closed loop), of the arrival window, scheduled / rate (open loop: the drain after the last arrival does not dilute it). */
  qps: number;
  /** OK answers per second, over the same time as qps. */
  goodput: number;
  /** Latency of the OK answers. */
  latencyMs: LatencySummary;
  histogram: HistogramJSON;
  /** Open loop: how late the generator fired its most late request (its own health, not the server's). */
  maxLagMs?: number;
  /** Up to 5 failures with their messages, to say why in a test failure. */
  errorSamples: Array<{ i: number; status: string; message: string }>;
  timeline?: TimelinePoint[];
}

export interface LoadRun {
  /** Live counters while the run goes on. */
  readonly stats: LoadStats;
  /** Stop issuing; `done` resolves once in-flight requests have finished. */
  stop(): void;
  readonly done: Promise<LoadSummary>;
}

/** gRPC status name of an error's numeric `code` ('ERROR' when it has none). */
export function statusName(err: unknown): string {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  if (typeof code === 'number' && typeof grpcStatus[code] === 'string') return grpcStatus[code] as string;
  return 'ERROR';
}

class Recorder<R> {
  readonly stats: LoadStats = { sent: 0, completed: 0, inFlight: 0, ok: 0, degraded: 0, dropped: 0, failed: {} };
  readonly histogram: Histogram;
  readonly errorSamples: LoadSummary['errorSamples'] = [];
  private readonly intervalMs: number | undefined;
  private readonly points = new Map<number, { p: Omit<TimelinePoint, 'p50' | 'p99' | 'max'>; h: Histogram }>();
  readonly t0 = performance.now();
  private readonly epoch0 = Date.now();
  lastEnd = this.t0;

  constructor(private readonly opts: LoadOptions<R>) {
    this.histogram = new Histogram(opts.relativeAccuracy ?? 0.01);
    this.intervalMs = opts.timeline ? (opts.timeline === true ? 1000 : opts.timeline.intervalMs) : undefined;
  }

  private point(at: number) {
    if (this.intervalMs === undefined) return undefined;
    const t = Math.floor((at - this.t0) / this.intervalMs) * this.intervalMs;
    let x = this.points.get(t);
    if (!x) this.points.set(t, (x = { p: { t, sent: 0, ok: 0, degraded: 0, dropped: 0, failed: {} }, h: new Histogram(this.histogram.relativeAccuracy) }));
    return x;
  }

  dropped(i: number, due: number): void {
    this.stats.dropped++;
    const x = this.point(due);
    if (x) x.p.dropped++;
    this.opts.onRecord?.({ i, at: this.epoch0 + (due - this.t0), latencyMs: 0, status: 'DROPPED', degraded: false });
  }

  /** Sends request i now and records its outcome; never rejects. */
  send(i: number): Promise<void> {
    const start = performance.now();
    this.stats.sent++;
    this.stats.inFlight++;
    const x = this.point(start);
    if (x) x.p.sent++;
    const finish = (status: string, degraded: boolean, err?: unknown) => {
      const end = performance.now();
      const latencyMs = end - start;
      if (end > this.lastEnd) this.lastEnd = end;
      this.stats.inFlight--;
      this.stats.completed++;
      if (status === 'OK') {
        this.stats.ok++;
        this.histogram.record(latencyMs);
        if (x) {
          x.p.ok++;
          x.h.record(latencyMs);
        }
        if (degraded) {
          this.stats.degraded++;
          if (x) x.p.degraded++;
        }
      } else {
        this.stats.failed[status] = (this.stats.failed[status] ?? 0) + 1;
        if (x) x.p.failed[status] = (x.p.failed[status] ?? 0) + 1;
        if (this.errorSamples.length < 5) this.errorSamples.push({ i, status, message: err instanceof Error ? err.message : String(err ?? status) });
      }
      this.opts.onRecord?.({ i, at: this.epoch0 + (start - this.t0), latencyMs, status, degraded });
    };
    return Promise.resolve()
      .then(() => this.opts.request(i))
      .then(
        (res) => {
          let c: Classification = {};
          try {
            c = this.opts.classify?.(res) ?? {};
          } catch (e) {
            finish('ERROR', false, e);
            return;
          }
          finish(c.status ?? 'OK', c.degraded === true);
        },
        (err: unknown) => finish(statusName(err), false, err),
      );
  }

  /** rateWindowS: what qps and goodput are per second of (open loop: the arrival window; default the elapsed time). */
  summary(extra: Pick<LoadSummary, 'mode' | 'aborted' | 'scheduled'> & Partial<LoadSummary>, rateWindowS?: number): LoadSummary {
    const s = this.stats;
    const elapsedS = Math.max(1e-9, (this.lastEnd - this.t0) / 1000);
    const per = Math.max(1e-9, rateWindowS ?? elapsedS);
    const failedTotal = Object.values(s.failed).reduce((a, b) => a + b, 0);
    const timeline =
      this.intervalMs === undefined
        ? undefined
        : [...this.points.values()]
            .sort((a, b) => a.p.t - b.p.t)
            .map(({ p, h }) => ({ ...p, p50: h.percentile(50), p99: h.percentile(99), max: h.count ? h.max : NaN }));
    return {
      elapsedS,
      sent: s.sent,
      completed: s.completed,
      ok: s.ok,
      degraded: s.degraded,
      dropped: s.dropped,
      failed: { ...s.failed },
      failedTotal,
      qps: s.completed / per,
      goodput: s.ok / per,
      latencyMs: this.histogram.summary(),
      histogram: this.histogram.toJSON(),
      errorSamples: this.errorSamples,
      ...(timeline ? { timeline } : {}),
      ...extra,
    };
  }
}

/** Wires a duration timer, the caller's AbortSignal and stop() into one "stop issuing" flag with a wake-up. */
function stopper(opts: LoadOptions<unknown>, durationMs: number | undefined) {
  let stopped = false;
  let aborted = false;
  const wakers = new Set<() => void>();
  const stop = (byAbort = false) => {
    if (byAbort) aborted = true;
    if (stopped) return;
    stopped = true;
    for (const w of wakers) w();
    wakers.clear();
  };
  const onAbort = () => stop(true);
  if (opts.signal?.aborted) stop(true);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = durationMs !== undefined ? setTimeout(() => stop(), durationMs) : undefined;
  return {
    get stopped() {
      return stopped;
    },
    get aborted() {
      return aborted;
    },
    stop: () => stop(),
    /** Resolves after ms, or at once when the run stops. */
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        if (stopped) return resolve();
        const t = setTimeout(() => {
          wakers.delete(w);
          resolve();
        }, ms);
        const w = () => {
          clearTimeout(t);
          resolve();
        };
        wakers.add(w);
      }),
    dispose: () => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    },
  };
}

function checkCommon(opts: LoadOptions<unknown>): void {
  if (opts.durationMs !== undefined && !(opts.durationMs >= 0)) throw new RangeError(`durationMs must be >= 0, got ${opts.durationMs}`);
  if (opts.count !== undefined && !(Number.isInteger(opts.count) && opts.count >= 0)) throw new RangeError(`count must be an integer >= 0, got ${opts.count}`);
}

/** N workers, each sending its next request when its previous one answered. */
export function closedLoop<R>(opts: ClosedLoopOptions<R>): LoadRun {
  checkCommon(opts as LoadOptions<unknown>);
  if (!(Number.isInteger(opts.concurrency) && opts.concurrency >= 1)) throw new RangeError(`concurrency must be an integer >= 1, got ${opts.concurrency}`);
  const rec = new Recorder(opts);
  const stop = stopper(opts as LoadOptions<unknown>, opts.durationMs);
  let next = 0;
  const worker = async () => {
    let n = 0;
    while (!stop.stopped && (opts.count === undefined || next < opts.count)) {
      await rec.send(next++);
      // A request that fails at once (a closed channel rejects inside the call) must not spin this
      // loop on microtasks alone: let timers and I/O (stop(), an abort, the test runner) run.
      if (++n % 16 === 0) await new Promise((r) => setImmediate(r));
    }
  };
  const done = Promise.all(Array.from({ length: opts.concurrency }, worker)).then(() => {
    stop.dispose();
    return rec.summary({ mode: 'closed', concurrency: opts.concurrency, aborted: stop.aborted, scheduled: rec.stats.sent });
  });
  return { stats: rec.stats, stop: stop.stop, done };
}

/**
 * Requests fired at a fixed arrival rate on a schedule (request i is due at i / rate s), whether
 * or not earlier ones have answered: a slow server sees the same offered load, not less (no
 * coordinated omission). A generator that fell behind catches up at once; a request due while
 * maxInFlight are outstanding is dropped and counted, not queued.
 */
export function openLoop<R>(opts: OpenLoopOptions<R>): LoadRun {
  checkCommon(opts as LoadOptions<unknown>);
  if (!(opts.ratePerSec > 0 && Number.isFinite(opts.ratePerSec))) throw new RangeError(`ratePerSec must be > 0, got ${opts.ratePerSec}`);
  const maxInFlight = opts.maxInFlight ?? 1000;
  if (!(Number.isInteger(maxInFlight) && maxInFlight >= 1)) throw new RangeError(`maxInFlight must be an integer >= 1, got ${maxInFlight}`);
  const rec = new Recorder(opts);
  // The schedule itself ends at durationMs (the last arrival is the last one due before it), so a
  // late timer cannot cut the run short: no duration timer here.
  const stop = stopper(opts as LoadOptions<unknown>, undefined);
  const interval = 1000 / opts.ratePerSec;
  const pending = new Set<Promise<void>>();
  let maxLagMs = 0;
  let scheduled = 0;
  const schedule = async () => {
    let burst = 0;
    for (let i = 0; !stop.stopped && (opts.count === undefined || i < opts.count); i++) {
      // Compare offsets, not (t0 + offset) - t0: that difference rounds below the offset for some t0
      // (CI scheduled 81 arrivals in 400 ms at 200/s).
      if (opts.durationMs !== undefined && i * interval >= opts.durationMs) break;
      const due = rec.t0 + i * interval;
      const wait = due - performance.now();
      if (wait >= 1) {
        burst = 0;
        await stop.sleep(wait);
        if (stop.stopped) break;
      } else if (++burst % 64 === 0) {
        // Behind schedule: catch up, but let I/O (answers) through now and then.
        await new Promise((r) => setImmediate(r));
        if (stop.stopped) break;
      }
      scheduled++;
      maxLagMs = Math.max(maxLagMs, performance.now() - due);
      if (rec.stats.inFlight >= maxInFlight) {
        rec.dropped(i, due);
        continue;
      }
      const p = rec.send(i);
      pending.add(p);
      void p.then(() => pending.delete(p));
    }
    while (pending.size) await Promise.all([...pending]);
  };
  const done = schedule().then(() => {
    stop.dispose();
    return rec.summary({ mode: 'open', ratePerSec: opts.ratePerSec, maxInFlight, aborted: stop.aborted, scheduled, maxLagMs }, scheduled / opts.ratePerSec);
  });
  return { stats: rec.stats, stop: stop.stop, done };
}

const fmt = (ms: number) => (Number.isNaN(ms) ? '-' : ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

/** One line: "open 50/s 10.0 s: sent 500, ok 498 (degraded 3), failed 2 (UNAVAILABLE 2), dropped 0; 49.8 qps; ok p50 12 p90 20 p99 35 max 40 ms". */
export function formatSummary(s: LoadSummary): string {
  const mode = s.mode === 'open' ? `open ${s.ratePerSec}/s` : `closed c=${s.concurrency}`;
  const failed = s.failedTotal
    ? `failed ${s.failedTotal} (${Object.entries(s.failed)
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')})`
    : 'failed 0';
  const l = s.latencyMs;
  return `${mode} ${s.elapsedS.toFixed(1)} s${s.aborted ? ' (aborted)' : ''}: sent ${s.sent}, ok ${s.ok} (degraded ${s.degraded}), ${failed}, dropped ${s.dropped}; ${s.qps.toFixed(1)} qps; ok p50 ${fmt(l.p50)} p90 ${fmt(l.p90)} p99 ${fmt(l.p99)} max ${fmt(l.max)} ms`;
}
