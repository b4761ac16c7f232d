import { describe, expect, it } from 'vitest';
import { Histogram, Registry } from 'prom-client';
import { CountingHistogram } from './countingHistogram.js';

describe('CountingHistogram', () => {
  it("scrapes exactly as prom-client's Histogram does for the same observations", async () => {
    const buckets = [0.001, 0.01, 0.1, 1];
    const ours = new Registry();
    const theirs = new Registry();
    const h = new CountingHistogram('x_seconds', 'Help text.', buckets, ours);
    const ref = new Histogram({ name: 'x_seconds', help: 'Help text.', buckets, registers: [theirs] });
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // On a bound, between bounds, below the first and above the last.
    for (const v of [0.001, 0.0005, 0.05, 0.1, 3, 0, 1, 0.999, 42]) {
      h.observe(v);
      ref.observe(v);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('x_seconds_bucket{le="0.001"} 3');
    expect(text).toContain('x_seconds_bucket{le="+Inf"} 9');
    ours.resetMetrics();
    expect(await ours.metrics()).toContain('x_seconds_bucket{le="+Inf"} 0\nx_seconds_sum 0\nx_seconds_count 0');
  });

  it('refuses buckets that do not increase', () => {
    expect(() => new CountingHistogram('y', 'y', [1, 1], new Registry())).toThrow('buckets must increase');
  });
});
