import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@cairn/client';
import { parseChecks, worstStatus } from './options.js';

const base = { intervalMs: 1000, timeoutMs: 500 };
const refused = (checks: unknown, message: RegExp): void => {
  let caught: unknown;
  try {
    parseChecks(checks);
  } catch (err) {
    caught = err;
  }
  expect(caught).toMatchObject({ code: ErrorCode.InvalidArgument });
  expect((caught as Error).message).toMatch(message);
};

describe('check options', () => {
  it('accepts the three kinds and names them by their target', () => {
    const specs = parseChecks([
      { http: 'http://127.0.0.1:8080/health', ...base },
      { tcp: '[::1]:5432', ...base, deregisterAfterMs: 60_000 },
      { run: ['/usr/bin/check-disk', '--min=10G'], ...base, name: 'disk' },
    ]);
    expect(specs).toEqual([
      { kind: 'http', name: 'http http://127.0.0.1:8080/health', url: 'http://127.0.0.1:8080/health', intervalMs: 1000, timeoutMs: 500, deregisterAfterMs: undefined },
      { kind: 'tcp', name: 'tcp [::1]:5432', host: '::1', port: 5432, intervalMs: 1000, timeoutMs: 500, deregisterAfterMs: 60_000 },
      { kind: 'run', name: 'disk', argv: ['/usr/bin/check-disk', '--min=10G'], intervalMs: 1000, timeoutMs: 500, deregisterAfterMs: undefined },
    ]);
    expect(parseChecks(undefined)).toEqual([]);
  });

  it('refuses bad options with invalid_argument naming the check and the field', () => {
    refused({}, /checks must be an array/);
    refused([{ ...base }], /checks\[0\] needs exactly one of http, tcp or run, got none/);
    refused([{ http: 'http://h/', tcp: 'h:1', ...base }], /needs exactly one of http, tcp or run, got http and tcp/);
    refused([{ http: 'ftp://h/', ...base }], /checks\[0\]\.http must be an http:\/\/ or https:\/\/ URL/);
    refused([{ http: 'not a url', ...base }], /\.http must be/);
    refused([{ tcp: 'h', ...base }], /\.tcp must be host:port/);
    refused([{ tcp: 'h:70000', ...base }], /\.tcp must be host:port with a port in 1\.\.65535/);
    refused([{ run: [], ...base }], /\.run must be a non-empty array of strings/);
    refused([{ run: 'true', ...base }], /\.run must be a non-empty array/);
    refused([{ http: 'http://h/', intervalMs: 10, timeoutMs: 5 }], /intervalMs must be a whole number of milliseconds in 100\.\./);
    refused([{ http: 'http://h/', intervalMs: 1000 }], /timeoutMs must be a whole number of milliseconds in 1\.\.1000, got undefined/);
    refused([{ http: 'http://h/', intervalMs: 1000, timeoutMs: 2000 }], /timeoutMs .* in 1\.\.1000, got 2000/);
    refused([{ http: 'http://h/', ...base, deregisterAfterMs: 999 }], /deregisterAfterMs .* in 1000\.\./);
    refused([{ http: 'http://h/', ...base, intervalMs: 1.5 }], /intervalMs/);
    refused([{ http: 'http://h/', ...base }, { http: 'http://h/', ...base }], /two checks are named "http http:\/\/h\/"/);
    refused(Array.from({ length: 17 }, (_, i) => ({ tcp: `h:${i + 1}`, ...base })), /at most 16 checks/);
    refused([null], /checks\[0\] must be an object/);
  });

  it('the worst status wins; none is passing', () => {
    expect(worstStatus([])).toBe('passing');
    expect(worstStatus(['passing', 'warning'])).toBe('warning');
    expect(worstStatus(['warning', 'critical', 'passing'])).toBe('critical');
  });
});
