import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CairnError, encodeValue } from '@cairn/protocol';
import { makeMessage } from '@cairn/raft';
import { decodePeerFrame, encodePeerFrame } from './frames.js';

describe('peer frames', () => {
  it('round-trip raft messages with their 64-bit ids and entries', () => {
    const m = makeMessage({
      type: 'MsgApp',
      to: 0xfedcba9876543210n,
      from: 7n,
      term: 3,
      logTerm: 2,
      index: 41,
      commit: 40,
      entries: [{ term: 3, index: 42, type: 'normal', data: new Uint8Array([1, 2, 3]) }],
    });
    const f = decodePeerFrame(encodePeerFrame({ t: 'msgs', c: 0x1234n, m: [m] }));
    expect(f).toMatchObject({ t: 'msgs', c: 0x1234n });
    if (f.t !== 'msgs') throw new Error('not msgs');
    const got = f.m[0]!;
    expect([got.to, got.from, got.term, got.index, got.commit]).toEqual([0xfedcba9876543210n, 7n, 3, 41, 40]);
    expect([...got.entries[0]!.data]).toEqual([1, 2, 3]);
  });

  it('refuse snapshots, local types and bad fields in messages', () => {
    const bad = (m: Record<string, unknown>) => () => decodePeerFrame(encodeValue({ t: 'msgs', c: 1n, m: [{ ...makeMessage({ type: 'MsgHeartbeat', to: 1n, from: 2n }), ...m }] }));
    expect(bad({ type: 'MsgSnap' })).toThrow(CairnError);
    expect(bad({ type: 'MsgHup' })).toThrow(CairnError);
    expect(bad({ term: -1 })).toThrow(CairnError);
    expect(bad({ entries: [{ term: 1, index: 1, type: 'weird', data: new Uint8Array() }] })).toThrow(CairnError);
    expect(bad({ to: 'x' })).toThrow(CairnError);
  });

  it('never throw anything but a typed error, whatever the bytes', () => {
    const anyValue = fc.oneof(fc.anything({ withTypedArray: true, maxDepth: 3 }), fc.bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n }));
    const frameLike = fc.record({
      t: fc.constantFrom('hello', 'challenge', 'proof', 'ok', 'refused', 'msgs', 'rpc', 'rpcres', 'chunk', 'ack', 'end', 'done', 'nope'),
      c: fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.integer(), fc.string()),
      m: fc.oneof(fc.array(anyValue, { maxLength: 3 }), anyValue),
      rows: fc.oneof(fc.array(fc.uint8Array({ maxLength: 4 }), { maxLength: 4 }), anyValue),
      id: anyValue,
      seq: anyValue,
      v: anyValue,
      n: fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), anyValue),
      p: fc.oneof(fc.uint8Array({ maxLength: 80 }), anyValue),
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), frameLike.map((f) => encodeValue(f))), (bytes) => {
        try {
          decodePeerFrame(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(CairnError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
