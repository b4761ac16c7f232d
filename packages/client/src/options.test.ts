import { describe, expect, it } from 'vitest';
import { CairnError } from '@cairn/protocol';
import { endpointToUrl } from './endpoints.js';
import { resolveKeyRange, toInt64, toPutRequest, toRangeRequest } from './options.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('endpointToUrl', () => {
  it.each([
    ['127.0.0.1:2379', 'ws://127.0.0.1:2379/'],
    ['localhost:2379', 'ws://localhost:2379/'],
    ['http://10.0.0.5:2379', 'ws://10.0.0.5:2379/'],
    ['https://db.example:2379/some/path', 'wss://db.example:2379/'],
    ['ws://[::1]:2379', 'ws://[::1]:2379/'],
    ['WSS://h:1', 'wss://h:1/'],
  ])('%s -> %s', (ep, url) => {
    expect(endpointToUrl(ep)).toBe(url);
  });

  it.each(['', 'ftp://h:1', 'http://'])('refuses %j', (ep) => {
    expect(() => endpointToUrl(ep)).toThrow(CairnError);
  });
});

describe('key ranges', () => {
  it('turns prefix, fromKey and rangeEnd into [key, rangeEnd)', () => {
    expect(resolveKeyRange('k', {})).toEqual({ key: enc('k') });
    expect(resolveKeyRange('k', { prefix: true })).toEqual({ key: enc('k'), rangeEnd: enc('l') });
    expect(resolveKeyRange(new Uint8Array([0x61, 0xff]), { prefix: true })).toEqual({
      key: new Uint8Array([0x61, 0xff]),
      rangeEnd: enc('b'),
    });
    expect(resolveKeyRange('k', { fromKey: true })).toEqual({ key: enc('k'), rangeEnd: new Uint8Array([0]) });
    expect(resolveKeyRange('', { prefix: true })).toEqual({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) });
    expect(resolveKeyRange('a', { rangeEnd: 'c' })).toEqual({ key: enc('a'), rangeEnd: enc('c') });
    expect(() => resolveKeyRange('a', { rangeEnd: 'c', prefix: true })).toThrow(/at most one/);
  });

  it('sends only what was asked, sorting ascending by default when a target is given', () => {
    expect(toRangeRequest('a', { limit: 0, revision: 0n, keysOnly: false })).toEqual({ key: enc('a') });
    expect(toRangeRequest('a', { revision: 7 })).toEqual({ key: enc('a'), revision: 7n });
    expect(toRangeRequest('a', { sortTarget: 'value' })).toEqual({ key: enc('a'), sortTarget: 'value', sortOrder: 'ascend' });
    expect(() => toRangeRequest('a', { limit: -1 })).toThrow(CairnError);
  });

  it('puts without a value when ignoreValue, and without a zero lease', () => {
    expect(toPutRequest('k', 'v', { lease: 0 })).toEqual({ key: enc('k'), value: enc('v') });
    expect(toPutRequest('k', 'ignored', { ignoreValue: true })).toEqual({ key: enc('k'), ignoreValue: true });
  });

  it('accepts safe-integer numbers for 64-bit fields and refuses the rest', () => {
    expect(toInt64(5, 'revision')).toBe(5n);
    expect(toInt64(2n ** 63n - 1n, 'revision')).toBe(2n ** 63n - 1n);
    expect(() => toInt64(2 ** 60, 'revision')).toThrow(/bigint/);
    expect(() => toInt64(1.5, 'revision')).toThrow(CairnError);
  });
});
