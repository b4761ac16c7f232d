import { describe, expect, it } from 'vitest';
import { CairnError, ErrorCode, encodeValue, validate } from '@cairn/protocol';
import { b } from '../testing/harness.js';
import { checkEntryData, decodeProposal, decodeTrustedWriteRequest, decodeWriteRequest, encodeProposal, encodeWriteRequest, takeCheckedEntry, type WriteRequest } from './requests.js';

// Requests as the client edge hands them over (checked, numbers already bigint).
const requests: WriteRequest[] = [
  { put: validate.putRequest({ key: 'k', value: 'v', lease: 7, prevKv: true }, '') },
  { put: validate.putRequest({ key: 'k', ignoreValue: true }, '') },
  { deleteRange: validate.deleteRangeRequest({ key: 'a', rangeEnd: 'z', prevKv: true }, '') },
  {
    txn: validate.txnRequest(
      {
        compare: [
          { key: 'a', result: 'equal', target: 'value', value: 'x' },
          { key: 'b', result: 'greater', target: 'mod', value: 3 },
        ],
        success: [{ put: { key: 'a', value: 'y' } }, { txn: { compare: [], success: [{ range: { key: 'b', limit: 2 } }], failure: [] } }],
        failure: [{ deleteRange: { key: 'c' } }],
      },
      '',
    ),
  },
  { compact: { revision: 12n, physical: true } },
  { leaseGrant: { id: 5n, ttlSeconds: 9_000_000_000 } },
  { leaseRevoke: { id: 5n } },
  { alarm: { action: 'activate', memberId: 3n, alarm: 'nospace' } },
  { memberAttr: { id: 3n, name: 'm1', clientUrls: ['http://127.0.0.1:1'] } },
  { auth: { op: 'roleGrantPermission', name: 'r', perm: { permType: 'read', key: b('a'), rangeEnd: b('b') } } },
];

describe('log entry decoding', () => {
  it('the trusted decode (apply) gives what the checked decode (peer edge) gives, for every kind', () => {
    for (const req of requests) {
      const data = encodeWriteRequest(req);
      expect(decodeTrustedWriteRequest(data)).toEqual(decodeWriteRequest(data));
    }
  });

  it('entries written before (packed with records) decode as the ones written now, both ways', () => {
    for (const req of requests) {
      const old = encodeValue(req);
      const now = encodeWriteRequest(req);
      expect(Buffer.from(now).equals(Buffer.from(old))).toBe(false);
      expect(decodeTrustedWriteRequest(old)).toEqual(decodeTrustedWriteRequest(now));
      expect(decodeWriteRequest(old)).toEqual(decodeWriteRequest(now));
    }
  });

  it('an entry that is not one known request is corrupt, for both decodes', () => {
    for (const bad of [encodeValue([1, 2]), encodeValue({}), encodeValue({ put: {}, txn: {} }), encodeValue({ nope: 1 }), new Uint8Array([0xc1])]) {
      for (const decode of [decodeTrustedWriteRequest, decodeWriteRequest]) {
        const err = (() => {
          try {
            decode(bad);
          } catch (e) {
            return e;
          }
          return undefined;
        })();
        expect(err).toBeInstanceOf(CairnError);
        expect([ErrorCode.Corrupt, ErrorCode.MalformedFrame]).toContain((err as CairnError).code);
      }
    }
  });

  it('the checked decode refuses a request with a bad field', () => {
    expect(() => decodeWriteRequest(encodeValue({ put: { key: 3 } }))).toThrow(/put.key must be bytes/);
  });

  it('an entry checked at the peer edge is applied from the value it was checked with, once, the same as a trusted decode', () => {
    for (const req of requests) {
      const data = encodeProposal({ origin: 9n, seq: 4n, request: encodeWriteRequest(req), auth: { user: 'u', authRevision: 3n } });
      checkEntryData(data);
      const kept = takeCheckedEntry(data);
      expect(kept?.request).toEqual(decodeTrustedWriteRequest(decodeProposal(data).request));
      const { origin, seq, auth } = decodeProposal(data);
      expect(kept?.proposal).toMatchObject({ origin, seq, auth });
      expect(takeCheckedEntry(data)).toBeUndefined();
    }
  });

  it('an entry the peer edge refuses is not kept for the applier', () => {
    const data = encodeProposal({ origin: 9n, seq: 4n, request: encodeValue({ put: { key: 3 } }) });
    expect(() => checkEntryData(data)).toThrow(/put.key must be bytes/);
    expect(takeCheckedEntry(data)).toBeUndefined();
  });
});
