import { describe, expect, it } from 'vitest';
import { DurationError, formatDuration, parseDurationMs } from './duration.js';

describe('parseDurationMs', () => {
  it.each([
    ['2s', 2000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['1.5s', 1500],
    ['1h', 3_600_000],
    ['250us', 0.25],
    ['250µs', 0.25],
    ['100ns', 0.0001],
    ['0', 0],
    ['-1s', -1000],
    ['.5s', 500],
  ])('%s -> %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBeCloseTo(ms, 9);
  });

  it.each([
    ['2', 'time: missing unit in duration "2"'],
    ['abc', 'time: invalid duration "abc"'],
    ['', 'time: invalid duration ""'],
    ['5x', 'time: unknown unit "x" in duration "5x"'],
    ['1s2', 'time: missing unit in duration "1s2"'],
  ])('rejects %j with Go wording', (text, message) => {
    expect(() => parseDurationMs(text)).toThrow(DurationError);
    expect(() => parseDurationMs(text)).toThrow(message);
  });
});

describe('formatDuration (Go Duration.String)', () => {
  it.each([
    [0n, '0s'],
    [999n, '999ns'],
    [1500n, '1.5µs'],
    [4_320_139n, '4.320139ms'],
    [4_000_000n, '4ms'],
    [1_000_000_000n, '1s'],
    [1_500_000_000n, '1.5s'],
    [90_000_000_000n, '1m30s'],
    [3_600_000_000_000n, '1h0m0s'],
    [3_723_004_000_000n, '1h2m3.004s'],
    [-1_500_000n, '-1.5ms'],
  ])('%d ns -> %s', (ns, text) => {
    expect(formatDuration(ns)).toBe(text);
  });
});
