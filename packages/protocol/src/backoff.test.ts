import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelayMs, checkBackoffOptions } from './backoff.js';
import { CairnError, ErrorCode } from './errors.js';

const fixed = (r: number) => (): number => r;

describe('backoffDelayMs', () => {
  it('doubles from initialMs up to maxMs when there is no jitter', () => {
    const o = { initialMs: 50, maxMs: 1000, jitter: 0 };
    expect([0, 1, 2, 3, 4, 5, 6, 30].map((n) => backoffDelayMs(o, n))).toEqual([50, 100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('spreads each delay over ±jitter of its nominal value, and never past maxMs', () => {
    const o = { initialMs: 100, maxMs: 1000 };
    // random 0 -> the bottom of the spread, random just under 1 -> the top.
    expect(backoffDelayMs({ ...o, random: fixed(0) }, 0)).toBe(80);
    expect(backoffDelayMs({ ...o, random: fixed(0.999999) }, 0)).toBe(120);
    expect(backoffDelayMs({ ...o, random: fixed(0.5) }, 2)).toBe(400);
    // At the cap the upper half of the spread is cut off: nothing longer than maxMs.
    expect(backoffDelayMs({ ...o, random: fixed(0) }, 10)).toBe(800);
    expect(backoffDelayMs({ ...o, random: fixed(0.999999) }, 10)).toBe(1000);
  });

  it('stays within bounds for any random draw, attempt and factor', () => {
    for (let i = 0; i < 2000; i++) {
      const initialMs = Math.floor(Math.random() * 500);
      const maxMs = initialMs + Math.floor(Math.random() * 5000);
      const factor = 1 + Math.random() * 3;
      const jitter = Math.random();
      const attempt = Math.floor(Math.random() * 200);
      const d = backoffDelayMs({ initialMs, maxMs, factor, jitter }, attempt);
      const nominal = Math.min(maxMs, initialMs * factor ** Math.min(attempt, 64));
      expect(Number.isInteger(d)).toBe(true);
      expect(d).toBeLessThanOrEqual(maxMs);
      expect(d).toBeGreaterThanOrEqual(Math.floor(nominal * (1 - jitter)));
      expect(d).toBeLessThanOrEqual(Math.ceil(nominal * (1 + jitter)));
    }
  });

  it('treats a huge attempt number as the cap, not as Infinity or NaN', () => {
    expect(backoffDelayMs({ initialMs: 1, maxMs: 5000, jitter: 0 }, 1e9)).toBe(5000);
    expect(backoffDelayMs({ initialMs: 0, maxMs: 5000, jitter: 0 }, 1e9)).toBe(0);
  });
});

describe('Backoff', () => {
  it('counts its retries and starts again after reset()', () => {
    const b = new Backoff({ initialMs: 250, maxMs: 5000, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000]);
    expect(b.attempts).toBe(7);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(250);
  });

  it('refuses options that do not describe a back-off, with a typed error', () => {
    const bad = [
      { initialMs: -1, maxMs: 10 },
      { initialMs: 10, maxMs: 5 },
      { initialMs: Number.NaN, maxMs: 5 },
      { initialMs: 1, maxMs: Number.POSITIVE_INFINITY },
      { initialMs: 1, maxMs: 5, factor: 0.5 },
      { initialMs: 1, maxMs: 5, jitter: 1.5 },
      { initialMs: 1, maxMs: 5, jitter: -0.1 },
    ];
    for (const o of bad) {
      expect(() => new Backoff(o), JSON.stringify(o)).toThrow(CairnError);
      try {
        checkBackoffOptions(o);
      } catch (err) {
        expect((err as CairnError).code).toBe(ErrorCode.InvalidArgument);
      }
    }
    expect(() => new Backoff({ initialMs: 0, maxMs: 0, factor: 1, jitter: 1 })).not.toThrow();
  });
});
