// The adaptive limiter on a fake clock: admission up to the limit, a queue bounded by its predicted
// wait, shedding at once past it or when a deadline cannot be met, AIMD on latency and overload.
import { AdaptiveLimiter, ShedError, type Permit } from './admission';

/** A limiter on a fake clock that has seen one call of 50 ms (its recent latency). */
async function limiter(over: Partial<ConstructorParameters<typeof AdaptiveLimiter>[0]> = {}) {
  const clock = { t: 0 };
  const l = new AdaptiveLimiter({ initialLimit: 4, minLimit: 1, maxLimit: 64, targetMs: 100, maxQueueMs: 50, now: () => clock.t, ...over });
  const first = await l.acquire();
  clock.t += 50;
  first.release('ok');
  return { l, clock };
}
const shedOf = async (p: Promise<unknown>): Promise<ShedError> => {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ShedError);
    return e as ShedError;
  }
  throw new Error('expected the call to be shed');
};

describe('AdaptiveLimiter', () => {
  afterEach(() => jest.useRealTimers());

  it('admits up to its limit at once, queues what a short wait will serve, and sheds the rest at once', async () => {
    const { l } = await limiter();
    const held = await Promise.all([1, 2, 3, 4].map(() => l.acquire()));
    expect(l.stats()).toMatchObject({ limit: 4, inFlight: 4, queued: 0 });
    // Recent latency 50 ms, limit 4: each queued call waits ~12.5 ms more; up to 4 fit within 50 ms.
    const queued = [1, 2, 3, 4].map(() => l.acquire());
    expect(l.stats().queued).toBe(4);
    const shed = await shedOf(l.acquire());
    expect(shed.reason).toBe('queue_full');
    expect(shed.message).toMatch(/^overloaded: 4 in flight at a limit of 4, 4 queued.*retry with backoff/);
    // Each release lets the oldest waiter in.
    held[0]!.release('ok');
    const first = await queued[0]!;
    expect(l.stats()).toMatchObject({ inFlight: 4, queued: 3 });
    for (const p of [first, ...held.slice(1)]) p.release('ok');
    for (const p of queued.slice(1)) (await p).release('ok');
    expect(l.stats()).toMatchObject({ inFlight: 0, queued: 0, admitted: 9, shed: { queue_full: 1, deadline: 0 } }); // 8 + the first call of 50 ms
  });

  it('refuses work that cannot finish within the caller deadline, now or when the deadline passes in the queue', async () => {
    jest.useFakeTimers();
    const { l } = await limiter({ initialLimit: 1, maxLimit: 1, maxQueueMs: 1000 });
    expect((await shedOf(l.acquire(10))).reason).toBe('deadline'); // 10 ms left, the work takes ~50
    const held = await l.acquire(1000);
    const waiting = l.acquire(200);
    jest.advanceTimersByTime(200);
    const e = await shedOf(waiting);
    expect(e).toMatchObject({ reason: 'deadline' });
    expect(l.stats().queued).toBe(0);
    held.release('ok');
    expect(l.stats()).toMatchObject({ inFlight: 0, shed: { deadline: 2, queue_full: 0 } });
  });

  it('grows by about one per limit of completions while the limit holds calls back and they finish within the target', async () => {
    const { l, clock } = await limiter();
    for (let round = 0; round < 40; round++) {
      const permits: Permit[] = [];
      while (l.stats().inFlight < l.limit) permits.push(await l.acquire());
      clock.t += 20;
      for (const p of permits) p.release('ok');
    }
    // From 4, up to one per round (the calls admitted below half the limit do not count).
    expect(l.limit).toBeGreaterThanOrEqual(25);
    expect(l.limit).toBeLessThanOrEqual(44);
  });

  it('does not grow while less than half of it is in use', async () => {
    const { l, clock } = await limiter();
    for (let i = 0; i < 100; i++) {
      const p = await l.acquire();
      clock.t += 20;
      p.release('ok');
    }
    expect(l.limit).toBe(4);
  });

  it('shrinks on calls slower than the target or refused downstream, at most once per recent latency, never below the minimum', async () => {
    const { l, clock } = await limiter({ initialLimit: 40 });
    const slow = await Promise.all([1, 2, 3].map(() => l.acquire()));
    clock.t += 500;
    for (const p of slow) p.release('ok'); // three slow completions at once: one decrease
    expect(l.limit).toBe(36);
    clock.t += 1000;
    (await l.acquire()).release('overload');
    expect(l.limit).toBe(32);
    for (let i = 0; i < 200; i++) {
      clock.t += 1000;
      (await l.acquire()).release('overload');
    }
    expect(l.limit).toBe(1);
  });

  it('predicts waits from the recent latency: a slower stage queues fewer calls', async () => {
    const { l, clock } = await limiter({ initialLimit: 2, maxLimit: 2 });
    for (let i = 0; i < 30; i++) {
      const p = await l.acquire();
      clock.t += 90; // slower than before, within the target
      p.release('ok');
    }
    const held = await Promise.all([l.acquire(), l.acquire()]);
    // ~90 ms a call over 2 slots: one queued call waits ~45 ms, a second would wait ~90.
    const q = l.acquire();
    expect((await shedOf(l.acquire())).reason).toBe('queue_full');
    held[0]!.release('ok');
    (await q).release('ok');
    held[1]!.release('ok');
  });

  it('refuses nothing on a guess before it has seen a call finish', async () => {
    const l = new AdaptiveLimiter({ initialLimit: 1, minLimit: 1, maxLimit: 1, targetMs: 100, maxQueueMs: 50 });
    const p = await l.acquire(1);
    expect(l.stats().latencyMs).toBe(0);
    p.release('ok');
  });

  it('refuses bad bounds', () => {
    expect(() => new AdaptiveLimiter({ initialLimit: 0, minLimit: 1, maxLimit: 2, targetMs: 1, maxQueueMs: 1 })).toThrow(/minLimit <= initialLimit/);
  });
});
