import { describe, expect, it } from 'vitest';
import { Inflights } from './inflights.js';
import { Progress } from './progress.js';

describe('progress', () => {
  it('probe sends one message at a time; replicate pipelines within the inflight window', () => {
    const p = new Progress(2, false);
    p.next = 5;
    expect(p.isPaused()).toBe(false);
    p.sentEntries(1, 5, 10);
    expect(p.isPaused()).toBe(true);
    p.maybeUpdate(5);
    p.becomeReplicate();
    expect(p.next).toBe(6);
    p.sentEntries(1, 6, 10);
    p.sentEntries(1, 7, 10);
    expect(p.next).toBe(8);
    expect(p.isPaused()).toBe(true);
    p.maybeUpdate(6);
    p.inflights.freeLE(6);
    expect(p.isPaused()).toBe(false);
  });
  it('a rejection moves next back using the hint, never below match+1, and stale rejections are ignored', () => {
    const p = new Progress(4, false);
    p.match = 3;
    p.next = 10;
    expect(p.maybeDecrTo(5, 4)).toBe(false); // not the probe in flight
    expect(p.maybeDecrTo(9, 6)).toBe(true);
    expect(p.next).toBe(6);
    expect(p.maybeDecrTo(5, 1)).toBe(true);
    expect(p.next).toBe(4);
  });
  it('inflights are bounded by count and bytes', () => {
    const f = new Inflights(3, 100);
    f.add(1, 60);
    expect(f.full()).toBe(false);
    f.add(2, 60);
    expect(f.full()).toBe(true);
    f.freeLE(1);
    expect(f.full()).toBe(false);
    f.freeFirstOne();
    expect(f.count()).toBe(0);
  });
});
