import { DynamicBatcher, ExpiredError, QueueFullError } from './batcher';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** A batch function that records its batches and finishes when released. */
function controllable() {
  const batches: number[][] = [];
  const releases: Array<() => void> = [];
  const run = (items: number[]) => {
    batches.push(items);
    return new Promise<number[]>((resolve) => releases.push(() => resolve(items.map((x) => x * 10))));
  };
  return { run, batches, releaseAll: () => releases.splice(0).forEach((r) => r()) };
}

describe('DynamicBatcher', () => {
  it('merges concurrent submissions into one batch up to maxBatchSize', async () => {
    const c = controllable();
    const b = new DynamicBatcher(c.run, { maxBatchSize: 4, maxQueueDelayMs: 1000, maxQueueSize: 100 });
    const r1 = b.submit([1, 2]);
    const r2 = b.submit([3, 4]); // reaches 4: runs at once, without waiting for the delay
    await tick();
    expect(c.batches).toEqual([[1, 2, 3, 4]]);
    c.releaseAll();
    expect(await r1).toEqual([10, 20]);
    expect(await r2).toEqual([30, 40]);
  });

  it('runs a partial batch after maxQueueDelayMs', async () => {
    const c = controllable();
    const b = new DynamicBatcher(c.run, { maxBatchSize: 8, maxQueueDelayMs: 50, maxQueueSize: 100 });
    const t0 = performance.now();
    const r = b.submit([7]);
    await tick();
    expect(c.batches).toEqual([]);
    while (c.batches.length === 0) await tick(5);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(49); // not before the delay (a lower bound only)
    expect(c.batches).toEqual([[7]]);
    c.releaseAll();
    expect(await r).toEqual([70]);
  });

  it('queues while a batch runs and merges what arrived meanwhile', async () => {
    const c = controllable();
    const b = new DynamicBatcher(c.run, { maxBatchSize: 2, maxQueueDelayMs: 1, maxQueueSize: 100 });
    const r1 = b.submit([1, 2]);
    await tick();
    const r2 = b.submit([3]);
    const r3 = b.submit([4, 5]);
    await tick(10);
    expect(c.batches).toEqual([[1, 2]]); // concurrency 1: the rest waits
    c.releaseAll();
    await r1;
    await tick(10);
    expect(c.batches[1]).toEqual([3, 4]);
    c.releaseAll();
    await tick(10);
    expect(c.batches[2]).toEqual([5]);
    c.releaseAll();
    expect(await r2).toEqual([30]);
    expect(await r3).toEqual([40, 50]);
  });

  it('refuses a submission that does not fit, whole, and counts it', async () => {
    const c = controllable();
    const b = new DynamicBatcher(c.run, { maxBatchSize: 2, maxQueueDelayMs: 5, maxQueueSize: 3 });
    const first = b.submit([1, 2]); // full: runs at once
    await tick();
    const waiting = b.submit([3, 4, 5]); // queue: 3 of 3
    await expect(b.submit([6])).rejects.toBeInstanceOf(QueueFullError);
    expect(b.stats.rejected).toBe(1);
    let settled = false;
    void waiting.finally(() => (settled = true));
    while (!settled) {
      c.releaseAll();
      await tick(10);
    }
    expect(await first).toEqual([10, 20]);
    expect(await waiting).toEqual([30, 40, 50]);
  });

  it('drops items whose deadline passed before inference', async () => {
    let now = 1000;
    const c = controllable();
    const b = new DynamicBatcher(c.run, { maxBatchSize: 4, maxQueueDelayMs: 10, maxQueueSize: 100 }, () => now);
    const late = b.submit([1], 1005).catch((e: unknown) => e);
    const fine = b.submit([2], 5000);
    now = 1006;
    while (c.batches.length === 0) await tick(5);
    expect(await late).toBeInstanceOf(ExpiredError);
    expect(c.batches).toEqual([[2]]);
    c.releaseAll();
    expect(await fine).toEqual([20]);
    expect(b.stats.expired).toBe(1);
  });

  it('fails every item of a batch whose run fails, and keeps working', async () => {
    let fail = true;
    const b = new DynamicBatcher(
      async (items: number[]) => {
        if (fail) throw new Error('onnx exploded');
        return items;
      },
      { maxBatchSize: 2, maxQueueDelayMs: 1, maxQueueSize: 10 },
    );
    await expect(b.submit([1, 2])).rejects.toThrow('onnx exploded');
    fail = false;
    await expect(b.submit([3])).resolves.toEqual([3]);
  });

  it('drains what is queued, then refuses new work', async () => {
    const b = new DynamicBatcher(async (items: number[]) => items, { maxBatchSize: 2, maxQueueDelayMs: 50, maxQueueSize: 10 });
    const r = b.submit([1, 2, 3]);
    await b.drain();
    expect(await r).toEqual([1, 2, 3]);
    await expect(b.submit([4])).rejects.toBeInstanceOf(QueueFullError);
  });
});
