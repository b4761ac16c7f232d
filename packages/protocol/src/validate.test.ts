import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CairnError, ErrorCode } from './errors.js';
import { putRequest, rangeRequest, txnRequest } from './validate.js';

const invalid = (f: () => unknown, fragment: string) => {
  try {
    f();
    expect.unreachable('expected an invalid_argument error');
  } catch (err) {
    expect(err).toBeInstanceOf(CairnError);
    expect((err as CairnError).code).toBe(ErrorCode.InvalidArgument);
    expect((err as CairnError).message).toContain(fragment);
  }
};

describe('request validation', () => {
  it('accepts strings for bytes and numbers for 64-bit fields', () => {
    expect(rangeRequest({ key: 'foo', revision: 3, limit: 2 }, '')).toEqual({
      key: new TextEncoder().encode('foo'),
      revision: 3n,
      limit: 2,
    });
  });

  it('names the field that is wrong', () => {
    invalid(() => putRequest({ key: 5 }, ''), 'key must be bytes');
    invalid(() => rangeRequest({ key: 'a', limit: -1 }, ''), 'limit must be a non-negative integer');
    invalid(() => rangeRequest({ key: 'a', sortOrder: 'sideways' }, ''), 'sortOrder must be one of');
    invalid(() => txnRequest({ compare: [], success: [{}], failure: [] }, ''), 'success[0] must hold exactly one of');
    invalid(
      () => txnRequest({ compare: [{ key: 'a', result: 'equal', target: 'version', value: 'x' }], success: [], failure: [] }, ''),
      'compare[0].value must be an integer',
    );
  });

  it('drops unknown fields and keeps absent optional fields absent', () => {
    const r = putRequest({ key: 'k', value: 'v', extra: 1, lease: null }, '');
    expect(Object.keys(r).sort()).toEqual(['key', 'value']);
  });

  it('throws only CairnError on any input', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withTypedArray: true }), (v) => {
        for (const d of [rangeRequest, putRequest, txnRequest]) {
          try {
            d(v, '');
          } catch (err) {
            if (!(err instanceof CairnError)) throw err;
          }
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('prefixEnd', () => {
  it('never changes the key it is given, even a Buffer', async () => {
    const { prefixEnd } = await import('./bytes.js');
    const key = Buffer.from('z');
    expect(Array.from(prefixEnd(key))).toEqual([0x7b]);
    expect(key.toString()).toBe('z');
  });
});
