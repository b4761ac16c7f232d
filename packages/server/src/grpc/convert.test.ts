import { describe, expect, it } from 'vitest';
import { rangeRequest, txnRequest, txnResponse } from './convert.js';

const b = (s: string): Buffer => Buffer.from(s);
const header = { clusterId: 1n, memberId: 2n, revision: 3n, raftTerm: 4n };

describe('etcd messages to Cairn params', () => {
  it('maps a range with its enums, 64-bit strings and absent zero fields', () => {
    expect(
      rangeRequest({ key: b('a'), range_end: b('b'), limit: '10', revision: '0', sort_order: 'DESCEND', sort_target: 'MOD', keys_only: true, serializable: false, min_mod_revision: '5' }),
    ).toEqual({ key: b('a'), rangeEnd: b('b'), limit: 10, sortOrder: 'descend', sortTarget: 'mod', keysOnly: true, minModRevision: 5n });
  });

  it('maps a txn with compares of each target and a nested txn', () => {
    const t = txnRequest({
      compare: [
        { key: b('k'), target: 'VALUE', result: 'NOT_EQUAL', value: b('v'), range_end: b('') },
        { key: b('k'), target: 'CREATE', result: 'EQUAL', create_revision: '0' },
        { key: b('k'), target: 'MOD', result: 'LESS', mod_revision: '9' },
      ],
      success: [{ request: 'request_txn', request_txn: { compare: [], success: [{ request: 'request_put', request_put: { key: b('x'), value: b('1') } }], failure: [] } }],
      failure: [{ request: 'request_delete_range', request_delete_range: { key: b('x'), prev_kv: true } }, {}],
    });
    expect(t).toEqual({
      compare: [
        { key: b('k'), result: 'not_equal', target: 'value', value: b('v') },
        { key: b('k'), result: 'equal', target: 'create', value: 0n },
        { key: b('k'), result: 'less', target: 'mod', value: 9n },
      ],
      success: [{ txn: { compare: [], success: [{ put: { key: b('x'), value: b('1') } }], failure: [] } }],
      // an op with nothing set stays empty: Cairn's decoder refuses it
      failure: [{ deleteRange: { key: b('x'), prevKv: true } }, {}],
    });
  });

  it("answers a txn with etcd's shapes: inner headers carry only the revision", () => {
    const r = txnResponse({ header, succeeded: true, responses: [{ put: { header } }] });
    expect(r).toEqual({
      header: { cluster_id: '1', member_id: '2', revision: '3', raft_term: '4' },
      succeeded: true,
      responses: [{ response_put: { header: { revision: '3' } } }],
    });
  });
});
