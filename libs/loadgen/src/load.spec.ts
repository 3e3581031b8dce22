import { status } from '@grpc/grpc-js';
import { closedLoop, formatSummary, openLoop, statusName, type RequestRecord } from './load';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (check: () => boolean) => {
  while (!check()) await sleep(2);
};
/** A request function whose calls stay in flight until released, counting the peak in flight. */
function gated() {
  const waiting: Array<() => void> = [];
  let inFlight = 0;
  const g = {
    peak: 0,
    calls: [] as number[],
    request: (i: number) => {
      g.calls.push(i);
      g.peak = Math.max(g.peak, ++inFlight);
      return new Promise<{ degraded: boolean }>((resolve) => waiting.push(() => (inFlight--, resolve({ degraded: i % 3 === 0 }))));
    },
    releaseAll: () => waiting.splice(0).forEach((f) => f()),
  };
  return g;
}
const grpcError = (code: status) => Object.assign(new Error(`${status[code]} from the fake`), { code });

describe('open loop', () => {
  it('fires on schedule while every earlier request is still unanswered', async () => {
    const g = gated();
    const run = openLoop({ request: g.request, ratePerSec: 500, count: 25, maxInFlight: 100 });
    await until(() => run.stats.sent === 25);
    // All 25 went out although none has answered: arrivals do not wait for completions.
    expect(run.stats.completed).toBe(0);
    expect(g.peak).toBe(25);
    g.releaseAll();
    const s = await run.done;
    expect(s).toMatchObject({ mode: 'open', scheduled: 25, sent: 25, completed: 25, ok: 25, dropped: 0, failedTotal: 0 });
  });

  it('keeps its arrival rate when requests are much slower than the interval', async () => {
    const records: RequestRecord[] = [];
    // 200/s for 400 ms = 80 arrivals, each request takes 60 ms (12 intervals).
    const s = await openLoop({ request: () => sleep(60), ratePerSec: 200, durationMs: 400, onRecord: (r) => records.push(r) }).done;
    expect(s.scheduled).toBe(80);
    expect(s.sent).toBe(80);
    expect(s.ok).toBe(80);
    // Per second of the arrival window (80 / 200 s), not diluted by the 60 ms drain after the last arrival.
    expect(s.goodput).toBeCloseTo(200, 6);
    // Never early: request i leaves no sooner than i / rate after the first.
    const t0 = records.find((r) => r.i === 0)!.at;
    for (const r of records) expect(r.at - t0).toBeGreaterThanOrEqual(r.i * 5 - 2);
    // A closed loop of the same width would have sent a handful; this one had many outstanding at once.
    const starts = records.map((r) => [r.at, r.at + r.latencyMs] as const);
    const peak = Math.max(...starts.map(([a]) => starts.filter(([b, e]) => b <= a && e > a).length));
    expect(peak).toBeGreaterThan(4);
  });

  it('drops, and counts apart, requests due while max in flight are outstanding', async () => {
    const g = gated();
    const records: RequestRecord[] = [];
    const run = openLoop({ request: g.request, ratePerSec: 1000, count: 30, maxInFlight: 10, onRecord: (r) => records.push(r) });
    await until(() => run.stats.sent + run.stats.dropped === 30);
    g.releaseAll();
    const s = await run.done;
    expect(s).toMatchObject({ scheduled: 30, sent: 10, dropped: 20, ok: 10, failedTotal: 0 });
    expect(g.calls).toEqual([...Array(10).keys()]);
    expect(records.filter((r) => r.status === 'DROPPED').map((r) => r.i)).toEqual([...Array(20).keys()].map((i) => i + 10));
  });

  it('stops on abort and still counts what was in flight', async () => {
    const g = gated();
    const ac = new AbortController();
    const run = openLoop({ request: g.request, ratePerSec: 1000, signal: ac.signal });
    await until(() => run.stats.sent >= 5);
    ac.abort();
    const sent = run.stats.sent;
    g.releaseAll();
    const s = await run.done;
    expect(s.aborted).toBe(true);
    expect(s.sent).toBe(sent);
    expect(s.completed).toBe(sent);
  });
});

describe('closed loop', () => {
  it('keeps exactly N in flight and sends each index once', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    const s = await closedLoop({
      concurrency: 3,
      count: 30,
      request: async (i) => {
        seen.push(i);
        peak = Math.max(peak, ++inFlight);
        await sleep(1);
        inFlight--;
      },
    }).done;
    expect(peak).toBe(3);
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(30).keys()]);
    expect(s).toMatchObject({ mode: 'closed', concurrency: 3, sent: 30, completed: 30, ok: 30, dropped: 0 });
  });

  it('runs until stopped, then drains', async () => {
    const g = gated();
    const run = closedLoop({ concurrency: 4, request: g.request });
    await until(() => run.stats.sent === 4);
    run.stop();
    g.releaseAll();
    const s = await run.done;
    expect(s).toMatchObject({ sent: 4, completed: 4, aborted: false });
  });
  it('lets timers run while every request fails at once, so a stop() on a timer still lands', async () => {
    const run = closedLoop({ concurrency: 2, request: () => Promise.reject(Object.assign(new Error('channel closed'), { code: 14 })) });
    setTimeout(() => run.stop(), 20);
    const s = await run.done;
    expect(s.failed.UNAVAILABLE).toBe(s.sent);
    expect(s.sent).toBeGreaterThan(0);
  });
});

describe('outcomes', () => {
  it('counts failures by gRPC status name, degraded answers through classify, and keeps the timeline', async () => {
    const codes = [status.OK, status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED, status.RESOURCE_EXHAUSTED];
    const records: RequestRecord[] = [];
    const s = await closedLoop({
      concurrency: 2,
      count: 20,
      timeline: { intervalMs: 60_000 },
      onRecord: (r) => records.push(r),
      request: async (i) => {
        if (i === 19) throw new TypeError('not a gRPC error');
        const code = codes[i % codes.length]!;
        if (code !== status.OK) throw grpcError(code);
        return { degraded: i % 10 === 0 };
      },
      classify: (r) => ({ degraded: r.degraded }),
    }).done;
    expect(s.ok).toBe(4);
    expect(s.degraded).toBe(2); // i = 0, 10
    expect(s.failed).toEqual({ UNAVAILABLE: 4, DEADLINE_EXCEEDED: 4, RESOURCE_EXHAUSTED: 7, ERROR: 1 });
    expect(s.failedTotal).toBe(16);
    expect(s.latencyMs.count).toBe(4);
    expect(s.errorSamples).toHaveLength(5);
    expect(records).toHaveLength(20);
    expect(records.filter((r) => r.degraded).map((r) => r.i)).toEqual([0, 10]);
    expect(s.timeline).toHaveLength(1);
    expect(s.timeline![0]).toMatchObject({ t: 0, sent: 20, ok: 4, degraded: 2, failed: s.failed });
    expect(formatSummary(s)).toMatch(
      /^closed c=2 [\d.]+ s: sent 20, ok 4 \(degraded 2\), failed 16 \(RESOURCE_EXHAUSTED 7, UNAVAILABLE 4, DEADLINE_EXCEEDED 4, ERROR 1\), dropped 0; /,
    );
  });

  it('names statuses from the error code', () => {
    expect(statusName(grpcError(status.UNAVAILABLE))).toBe('UNAVAILABLE');
    expect(statusName({ code: 4 })).toBe('DEADLINE_EXCEEDED');
    expect(statusName({ code: 'ECONNREFUSED' })).toBe('ERROR');
    expect(statusName({ code: 99 })).toBe('ERROR');
    expect(statusName(undefined)).toBe('ERROR');
  });

  it('lets classify turn an answer into a failure of its own', async () => {
    const s = await closedLoop({ concurrency: 1, count: 4, request: async (i) => i, classify: (i) => (i % 2 ? { status: 'WRONG_MODEL' } : {}) }).done;
    expect(s).toMatchObject({ ok: 2, failed: { WRONG_MODEL: 2 } });
  });
});
