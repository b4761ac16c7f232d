import type { KeyValue, WatchResponse } from '@cairn/protocol';
import { describe, expect, it } from 'vitest';
import { fragments } from './watch.js';

const kv = (key: string, valueBytes: number): KeyValue => ({
  key: Buffer.from(key),
  value: new Uint8Array(valueBytes),
  createRevision: 2n,
  modRevision: 2n,
  version: 1n,
  lease: 0n,
});
const res: WatchResponse = {
  header: { clusterId: 1n, memberId: 1n, revision: 2n, raftTerm: 1n },
  events: [kv('a', 600), kv('b', 600), kv('c', 600)].map((k) => ({ type: 'put' as const, kv: k })),
};

describe('fragments', () => {
  it('splits a response over the limit when asked, fragment set on all pieces but the last', () => {
    const pieces = fragments(res, true, 1000);
    expect(pieces.map((p) => [p.events.map((e) => Buffer.from(e.kv.key).toString()).join(''), p.fragment === true])).toEqual([
      ['a', true],
      ['b', true],
      ['c', false],
    ]);
  });

  it('sends one response when not asked, or when it fits', () => {
    expect(fragments(res, false, 1000)).toEqual([res]);
    expect(fragments(res, true, 1 << 20)).toEqual([res]);
  });
});
