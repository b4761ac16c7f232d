import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS, systemScheduler } from './clock.js';

describe('systemScheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sleeps a delay past the timer range in steps, and fires once, on time', () => {
    const fn = vi.fn();
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const ms = 9_000_000_000 * 1000; // the longest lease TTL
    systemScheduler.after(ms, fn);
    for (const call of spy.mock.calls) expect(call[1]).toBeLessThanOrEqual(MAX_TIMER_MS);
    vi.advanceTimersByTime(MAX_TIMER_MS * 3);
    expect(fn).not.toHaveBeenCalled();
    for (const call of spy.mock.calls) expect(call[1]).toBeLessThanOrEqual(MAX_TIMER_MS);
    // Only a handful of timers were armed for three steps, not one per millisecond.
    expect(spy.mock.calls.length).toBeLessThanOrEqual(4);
    spy.mockRestore();
  });

  it('fires a long delay when it is due, and not when cancelled', () => {
    const fn = vi.fn();
    const cancelled = vi.fn();
    const ms = MAX_TIMER_MS * 2 + 5;
    systemScheduler.after(ms, fn);
    const cancel = systemScheduler.after(ms, cancelled);
    vi.advanceTimersByTime(MAX_TIMER_MS + 1);
    cancel();
    vi.advanceTimersByTime(MAX_TIMER_MS - 2);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(10);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(cancelled).not.toHaveBeenCalled();
  });

  it('fires short delays as before', () => {
    const fn = vi.fn();
    systemScheduler.after(50, fn);
    vi.advanceTimersByTime(49);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});
