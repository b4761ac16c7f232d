/** Wall-clock time, injected so that tests and simulations control it. */
export interface Clock {
  /** Milliseconds since the Unix epoch (may jump: only for stamps other members or users read). */
  now(): number;
  /** Milliseconds on a clock that never jumps, with sub-millisecond resolution: durations and deadlines. */
  monotonic(): number;
}

export const systemClock: Clock = { now: () => Date.now(), monotonic: () => performance.now() };

/** Timers, injected next to the Clock so that code using them can run on simulated time. */
export interface Scheduler {
  /** Calls `fn` once after `ms` milliseconds; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void;
  /** Calls `fn` once the I/O callbacks already due have run (Node's setImmediate). */
  defer(fn: () => void): void;
}

/** The longest delay Node's timers take (2^31 - 1 ms, about 24.8 days); longer ones fire after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Timers on Node's clock. A delay past MAX_TIMER_MS (a lease TTL may be up to 9e9 s) is slept
 * in steps of at most MAX_TIMER_MS, re-armed until the whole delay has passed, so it neither
 * overflows (Node would warn and fire after 1 ms) nor fires early.
 */
export const systemScheduler: Scheduler = {
  after(ms, fn) {
    const dueAt = performance.now() + ms;
    let t: NodeJS.Timeout;
    const arm = (delay: number): void => {
      const step = Math.min(Math.max(delay, 0), MAX_TIMER_MS);
      t = setTimeout(() => {
        const left = dueAt - performance.now();
        if (step === MAX_TIMER_MS && left > 0) arm(left);
        else fn();
      }, step);
      t.unref?.();
    };
    arm(ms);
    return () => clearTimeout(t);
  },
  defer(fn) {
    setImmediate(fn);
  },
};
