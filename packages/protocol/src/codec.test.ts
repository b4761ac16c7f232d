import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeClientFrame, decodeServerFrame, encodeFrame } from './codec.js';
import { CairnError, ErrorCode } from './errors.js';
import type { ClientFrame } from './frames.js';

describe('frame codec', () => {
  it('round-trips a request with bytes and 64-bit integers exactly', () => {
    const frame: ClientFrame = {
      t: 'req',
      id: 7,
      method: 'kv.range',
      params: { key: new Uint8Array([0, 1, 255]), revision: 18446744073709551615n, limit: 3 },
    };
    const back = decodeClientFrame(encodeFrame(frame));
    expect(back).toEqual({ ...frame, params: { key: Buffer.from([0, 1, 255]), revision: 18446744073709551615n, limit: 3 } });
  });

  it('keeps bigint ids as bigint and small numbers as numbers', () => {
    const back = decodeServerFrame(
      encodeFrame({ t: 'hello', version: 1, clusterId: 289318470931837780n, memberId: 14947050114012957595n, serverVersion: 'x' }),
    );
    expect(back).toMatchObject({ t: 'hello', version: 1, clusterId: 289318470931837780n, memberId: 14947050114012957595n });
  });

  it('rejects a frame of an unknown type with a typed error naming the request id', () => {
    const bytes = encodeFrame({ t: 'bogus', id: 5 } as unknown as ClientFrame);
    try {
      decodeClientFrame(bytes);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(CairnError);
      expect((err as CairnError).code).toBe(ErrorCode.MalformedFrame);
      expect((err as CairnError).details).toEqual({ id: 5 });
    }
  });

  it('never throws anything but a CairnError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        try {
          decodeClientFrame(bytes);
        } catch (err) {
          if (!(err instanceof CairnError)) throw err;
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('never throws anything but a CairnError on mutated valid frames', () => {
    const valid = encodeFrame({ t: 'req', id: 1, method: 'kv.put', params: { key: new Uint8Array([1]), value: new Uint8Array(20) } });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), (edits) => {
        const b = Uint8Array.from(valid);
        for (const [i, v] of edits) b[i] = v;
        try {
          decodeClientFrame(b);
        } catch (err) {
          if (!(err instanceof CairnError)) throw err;
        }
      }),
      { numRuns: 5000 },
    );
  });
});
