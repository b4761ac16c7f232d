import type { Registry } from 'prom-client';

/** What prom-client's registry reads from a metric at scrape time. */
interface MetricValue {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly metricName: string;
}

/**
 * A histogram without labels whose `observe` is a bucket search and three additions, for the
 * measurements taken on every raft entry (prom-client's `Histogram.observe` checks and hashes
 * its labels and allocates on each call: about 1% of a member's main thread under load). It
 * registers itself and is exported in the same text format as a prom-client histogram.
 */
export class CountingHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i]! > buckets[i - 1]!)) throw new Error(`${name}: buckets must increase`);
    }
    this.counts = new Float64Array(buckets.length + 1);
    registry.registerMetric(this as never);
  }

  observe(value: number): void {
    const b = this.buckets;
    let lo = 0;
    let hi = b.length;
    // The first bucket whose upper bound is >= value (b.length: +Inf).
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (value <= b[mid]!) hi = mid;
      else lo = mid + 1;
    }
    this.counts[lo]! += 1;
    this.sum += value;
    this.count += 1;
  }

  /** prom-client's Registry calls this on every scrape. */
  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = [];
    let cumulative = 0;
    for (let i = 0; i <= this.buckets.length; i++) {
      cumulative += this.counts[i]!;
      values.push({ value: cumulative, labels: { le: i < this.buckets.length ? this.buckets[i]! : '+Inf' }, metricName: `${this.name}_bucket` });
    }
    values.push({ value: this.sum, labels: {}, metricName: `${this.name}_sum` });
    values.push({ value: this.count, labels: {}, metricName: `${this.name}_count` });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}
