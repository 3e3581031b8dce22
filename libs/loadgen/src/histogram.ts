/**
 * A log-bucketed latency histogram (the DDSketch layout): a value v > 0 falls in bucket
 * ceil(log_γ v) with γ = (1 + α) / (1 − α), and a bucket answers with the one value that is within
 * the relative accuracy α of every value it holds. Memory grows with the log of the value range,
 * not with the sample count; two histograms with the same α merge by adding bucket counts, so
 * per-second or per-worker histograms roll up into one without keeping samples.
 *
 * Percentiles are nearest-rank (the smallest value with at least p% of the samples at or below
 * it), the same definition as ranking-core's `percentile` over raw samples; min and max are exact.
 */
export interface HistogramJSON {
  relativeAccuracy: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  /** Samples at or below MIN_VALUE (0 ms, clock granularity). */
  zero: number;
  buckets: Record<string, number>;
}

export interface LatencySummary {
  count: number;
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Smallest value told apart from zero (1 µs when values are milliseconds). */
const MIN_VALUE = 1e-3;

export class Histogram {
  private readonly gamma: number;
  private readonly logGamma: number;
  private readonly buckets = new Map<number, number>();
  private zero = 0;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  constructor(readonly relativeAccuracy = 0.01) {
    if (!(relativeAccuracy > 0 && relativeAccuracy < 1)) throw new RangeError(`relativeAccuracy must be in (0, 1), got ${relativeAccuracy}`);
    this.gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy);
    this.logGamma = Math.log(this.gamma);
  }

  record(value: number, times = 1): void {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`histogram values must be finite and >= 0, got ${value}`);
    this.count += times;
    this.sum += value * times;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (value <= MIN_VALUE) {
      this.zero += times;
      return;
    }
    const i = Math.ceil(Math.log(value) / this.logGamma);
    this.buckets.set(i, (this.buckets.get(i) ?? 0) + times);
  }

  /** Adds every sample of `other` (same relative accuracy) into this histogram. */
  merge(other: Histogram): this {
    if (other.relativeAccuracy !== this.relativeAccuracy)
      throw new RangeError(`cannot merge histograms of accuracy ${this.relativeAccuracy} and ${other.relativeAccuracy}`);
    for (const [i, n] of other.buckets) this.buckets.set(i, (this.buckets.get(i) ?? 0) + n);
    this.zero += other.zero;
    this.count += other.count;
    this.sum += other.sum;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
    return this;
  }

  /** Nearest-rank p-th percentile (0..100), within the relative accuracy; NaN when empty. */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    if (p >= 100) return this.max;
    if (p <= 0) return this.min;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = this.zero;
    if (seen >= rank) return this.min;
    for (const i of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(i)!;
      if (seen >= rank) {
        const estimate = (2 * this.gamma ** i) / (this.gamma + 1);
        return Math.min(this.max, Math.max(this.min, estimate));
      }
    }
    return this.max;
  }

  summary(): LatencySummary {
    const empty = this.count === 0;
    return {
      count: this.count,
      mean: empty ? NaN : this.sum / this.count,
      min: empty ? NaN : this.min,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      max: empty ? NaN : this.max,
    };
  }

  toJSON(): HistogramJSON {
    return {
      relativeAccuracy: this.relativeAccuracy,
      count: this.count,
      sum: this.sum,
      min: this.min,
      max: this.max,
      zero: this.zero,
      buckets: Object.fromEntries([...this.buckets].sort((a, b) => a[0] - b[0])),
    };
  }

  static fromJSON(j: HistogramJSON): Histogram {
    const h = new Histogram(j.relativeAccuracy);
    for (const [i, n] of Object.entries(j.buckets)) h.buckets.set(Number(i), n);
    h.zero = j.zero;
    h.count = j.count;
    h.sum = j.sum;
    h.min = j.count ? j.min : Infinity;
    h.max = j.count ? j.max : -Infinity;
    return h;
  }
}
