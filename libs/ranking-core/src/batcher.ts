/** The queue is full: the caller should answer RESOURCE_EXHAUSTED and let the client back off. */
export class QueueFullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueFullError';
  }
}

/** The item's deadline passed while it waited: it was dropped before inference. */
export class ExpiredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExpiredError';
  }
}

export interface BatcherOptions {
  /** Most items in one call of `run`. */
  maxBatchSize: number;
  /** Longest an item waits for company before its batch runs anyway. */
  maxQueueDelayMs: number;
  /** Most items waiting; beyond it submissions are refused whole. */
  maxQueueSize: number;
  /** Batches running at once (1 suits one ONNX session that already uses every core). */
  concurrency?: number;
}

export interface BatcherStats {
  queued: number;
  running: number;
  batches: number;
  items: number;
  expired: number;
  rejected: number;
}

interface Pending<I, O> {
  item: I;
  deadline: number;
  enqueuedAt: number;
  resolve: (o: O) => void;
  reject: (e: Error) => void;
}

/**
 * Dynamic batching: items submitted by concurrent requests are merged into batches of up to
 * maxBatchSize, or whatever has arrived after maxQueueDelayMs, and run together. The queue is
 * bounded; items whose deadline has passed are dropped before they reach `run`.
 */
export class DynamicBatcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = 0;
  private closed = false;
  private counters = { batches: 0, items: 0, expired: 0, rejected: 0 };

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly opts: BatcherOptions,
    private readonly now: () => number = Date.now,
  ) {
    if (opts.maxBatchSize < 1) throw new Error('maxBatchSize must be >= 1');
    if (opts.maxQueueSize < opts.maxBatchSize) throw new Error('maxQueueSize must be >= maxBatchSize');
  }

  /** A snapshot of the queue and the counters since start. */
  get stats(): BatcherStats {
    return { queued: this.queue.length, running: this.running, ...this.counters };
  }

  /**
   * Queue `items` (all or none) and resolve with their outputs in order. `deadline` is an
   * absolute time in the clock of `now` (Infinity = none).
   */
  submit(items: I[], deadline = Infinity): Promise<O[]> {
    if (this.closed) return Promise.reject(new QueueFullError('batcher is closed'));
    if (items.length === 0) return Promise.resolve([]);
    if (this.queue.length + items.length > this.opts.maxQueueSize) {
      this.counters.rejected += items.length;
      return Promise.reject(new QueueFullError(`queue full: ${this.queue.length} waiting, ${items.length} more would exceed ${this.opts.maxQueueSize}`));
    }
    const enqueuedAt = performance.now();
    const promises = items.map((item) => new Promise<O>((resolve, reject) => this.queue.push({ item, deadline, enqueuedAt, resolve, reject })));
    this.pump();
    return Promise.all(promises);
  }

  /** Stop taking items; resolves when everything queued has run. */
  async drain(): Promise<void> {
    this.closed = true;
    this.pump();
    while (this.queue.length > 0 || this.running > 0) await new Promise((r) => setTimeout(r, 5));
  }

  /**
   * Start batches while a slot is free and a batch is due: full, or its oldest item has waited
   * maxQueueDelayMs, or the batcher is draining. Otherwise arm one timer for when it will be due.
   */
  private pump(): void {
    const concurrency = this.opts.concurrency ?? 1;
    while (this.queue.length > 0 && this.running < concurrency) {
      const waited = performance.now() - this.queue[0]!.enqueuedAt;
      if (this.queue.length < this.opts.maxBatchSize && !this.closed && waited < this.opts.maxQueueDelayMs) {
        if (!this.timer) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.pump();
          }, this.opts.maxQueueDelayMs - waited);
        }
        return;
      }
      this.startBatch();
    }
  }

  private startBatch(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const now = this.now();
    const batch: Pending<I, O>[] = [];
    while (batch.length < this.opts.maxBatchSize && this.queue.length > 0) {
      const p = this.queue.shift()!;
      if (p.deadline <= now) {
        this.counters.expired++;
        p.reject(new ExpiredError('deadline passed while queued; dropped before inference'));
      } else batch.push(p);
    }
    if (batch.length === 0) return;
    this.running++;
    this.counters.batches++;
    this.counters.items += batch.length;
    this.run(batch.map((p) => p.item))
      .then(
        (outs) => {
          if (outs.length !== batch.length) {
            const e = new Error(`batch function returned ${outs.length} outputs for ${batch.length} inputs`);
            for (const p of batch) p.reject(e);
          } else batch.forEach((p, i) => p.resolve(outs[i]!));
        },
        (err: Error) => {
          for (const p of batch) p.reject(err);
        },
      )
      .finally(() => {
        this.running--;
        this.pump();
      });
  }
}
