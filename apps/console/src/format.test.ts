import { describe, expect, it } from 'vitest';
import { asJson, formatBytes, hexDump, keyTree, lineDiff, relativeTime } from './format.js';

describe('console formatting', () => {
  it('says sizes with units and times relative to now', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(25n * 1024n * 1024n)).toBe('25 MiB');
    expect(relativeTime(10_000, 13_000)).toBe('3 s ago');
    expect(relativeTime(0, 5 * 60_000)).toBe('5 min ago');
  });

  it('pretty-prints JSON, refuses what is not, dumps hex', () => {
    expect(asJson(new TextEncoder().encode('{"a":1}'))).toBe('{\n  "a": 1\n}');
    expect(asJson(new TextEncoder().encode('not json'))).toBeUndefined();
    expect(hexDump(new Uint8Array([0x41, 0x00]))).toBe('00000000  41 00' + ' '.repeat(42) + '  A.');
  });

  it('diffs lines', () => {
    expect(lineDiff('a\nb\nc', 'a\nx\nc')).toEqual([
      { op: ' ', text: 'a' },
      { op: '-', text: 'b' },
      { op: '+', text: 'x' },
      { op: ' ', text: 'c' },
    ]);
  });

  it('counts keys at each level of the prefix tree', () => {
    const t = keyTree(['svc/a/1', 'svc/a/2', 'svc/b', 'top']);
    expect(t.count).toBe(4);
    const svc = t.children.get('svc/')!;
    expect(svc.count).toBe(3);
    expect(svc.children.get('a/')!.count).toBe(2);
    expect(svc.children.get('b')!.isKey).toBe(true);
    expect(t.children.get('top')!.isKey).toBe(true);
  });
});
