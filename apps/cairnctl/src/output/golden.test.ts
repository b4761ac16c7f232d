// Golden transcripts: fixed responses through every printer, compared with what etcdctl 3.4
// prints for the same data (shared/spec/etcdctl-reference.txt where it has the case).
import { describe, expect, it } from 'vitest';
import type { KeyValue, MemberListResponse, RangeResponse, StatusResponse, TxnResponse } from '@cairn/client';
import { printerFor, type Printer } from './index.js';

const enc = (s: string) => new TextEncoder().encode(s);
const header = { clusterId: 4743318255719025844n, memberId: 10057029971166822686n, revision: 3n, raftTerm: 2n };
const foo: KeyValue = { key: enc('foo'), createRevision: 3n, modRevision: 3n, version: 1n, value: enc('bar'), lease: 0n };
const getFoo: RangeResponse = { header, kvs: [foo], more: false, count: 1 };

function printer(format: string, options: { hex?: boolean; valueOnly?: boolean } = {}): Printer {
  const p = printerFor(format, { hex: options.hex ?? false, valueOnly: options.valueOnly ?? false });
  if ('error' in p) throw new Error(p.error);
  return p;
}

describe('get', () => {
  it('simple', () => {
    expect(printer('simple').get(getFoo)).toBe('foo\nbar\n');
    expect(printer('simple', { valueOnly: true }).get(getFoo)).toBe('bar\n');
    expect(printer('simple', { hex: true }).get(getFoo)).toBe('\\x66\\x6f\\x6f\n\\x62\\x61\\x72\n');
    expect(printer('simple').get({ header, kvs: [], more: false, count: 0 })).toBe('');
    // --keys-only: the server sends empty values; etcdctl prints the key and an empty line.
    expect(printer('simple').get({ header, kvs: [{ ...foo, value: new Uint8Array() }], more: false, count: 1 })).toBe('foo\n\n');
    // --count-only: no kvs, the count.
    expect(printer('simple').get({ header, kvs: [], more: false, count: 5 })).toBe('5\n');
  });

  it('json, as the reference', () => {
    expect(printer('json').get(getFoo)).toBe(
      '{"header":{"cluster_id":4743318255719025844,"member_id":10057029971166822686,"revision":3,"raft_term":2},' +
        '"kvs":[{"key":"Zm9v","create_revision":3,"mod_revision":3,"version":1,"value":"YmFy"}],"count":1}\n',
    );
  });

  it('fields', () => {
    expect(printer('fields').get({ ...getFoo, kvs: [{ ...foo, lease: 0x2be7547fbc6a5afan }], more: true })).toBe(
      [
        '"ClusterID" : 4743318255719025844',
        '"MemberID" : 10057029971166822686',
        '"Revision" : 3',
        '"RaftTerm" : 2',
        '"Key" : "foo"',
        '"CreateRevision" : 3',
        '"ModRevision" : 3',
        '"Version" : 1',
        '"Value" : "bar"',
        '"Lease" : 3163590170849729274',
        '"More" : true',
        '"Count" : 1',
        '',
      ].join('\n'),
    );
  });

  it('table', () => {
    expect(printer('table').get(getFoo)).toBe('+-----+-------+\n| KEY | VALUE |\n+-----+-------+\n| foo |   bar |\n+-----+-------+\n');
  });
});

describe('put and del', () => {
  const prev = { ...foo, value: enc('old') };
  it('simple', () => {
    expect(printer('simple').put({ header })).toBe('OK\n');
    expect(printer('simple').put({ header, prevKv: prev })).toBe('OK\nfoo\nold\n');
    expect(printer('simple').del({ header, deleted: 2 })).toBe('2\n');
    expect(printer('simple').del({ header, deleted: 1, prevKvs: [prev] })).toBe('1\nfoo\nold\n');
  });
  it('json', () => {
    const h = '{"cluster_id":4743318255719025844,"member_id":10057029971166822686,"revision":3,"raft_term":2}';
    expect(printer('json').put({ header })).toBe(`{"header":${h}}\n`);
    expect(printer('json').del({ header, deleted: 0 })).toBe(`{"header":${h}}\n`);
    expect(printer('json').del({ header, deleted: 1, prevKvs: [prev] })).toBe(
      `{"header":${h},"deleted":1,"prev_kvs":[{"key":"Zm9v","create_revision":3,"mod_revision":3,"version":1,"value":"b2xk"}]}\n`,
    );
  });
  it('fields', () => {
    expect(printer('fields').del({ header, deleted: 1, prevKvs: [prev] })).toContain('"Deleted" : 1\n"PrevKey" : "foo"\n');
  });
});

describe('txn', () => {
  const email = enc('/users/12345/email');
  const failure: TxnResponse = {
    header: { ...header, revision: 10n },
    succeeded: false,
    responses: [
      {
        range: {
          header: { ...header, revision: 10n },
          kvs: [{ key: email, createRevision: 9n, modRevision: 10n, version: 2n, value: enc('new.address@johndoe.com'), lease: 0n }],
          more: false,
          count: 1,
        },
      },
    ],
  };
  const success: TxnResponse = { header, succeeded: true, responses: [{ put: { header } }] };

  it('simple, as the reference', () => {
    expect(printer('simple').txn(success)).toBe('SUCCESS\n\nOK\n');
    expect(printer('simple').txn(failure)).toBe('FAILURE\n\n/users/12345/email\nnew.address@johndoe.com\n');
    expect(printer('table').txn(failure)).toBe(printer('simple').txn(failure));
  });

  it('json, as the reference (inner headers carry only the revision)', () => {
    expect(printer('json').txn(failure)).toBe(
      '{"header":{"cluster_id":4743318255719025844,"member_id":10057029971166822686,"revision":10,"raft_term":2},' +
        '"responses":[{"Response":{"ResponseRange":{"header":{"revision":10},"kvs":[{"key":"L3VzZXJzLzEyMzQ1L2VtYWls",' +
        '"create_revision":9,"mod_revision":10,"version":2,"value":"bmV3LmFkZHJlc3NAam9obmRvZS5jb20="}],"count":1}}}]}\n',
    );
    expect(printer('json').txn(success)).toBe(
      '{"header":{"cluster_id":4743318255719025844,"member_id":10057029971166822686,"revision":3,"raft_term":2},' +
        '"succeeded":true,"responses":[{"Response":{"ResponsePut":{"header":{"revision":3}}}}]}\n',
    );
  });

  it('fields', () => {
    expect(printer('fields').txn(success)).toBe(
      '"ClusterID" : 4743318255719025844\n"MemberID" : 10057029971166822686\n"Revision" : 3\n"RaftTerm" : 2\n"Succeeded" : true\n' +
        '"ClusterID" : 0\n"MemberID" : 0\n"Revision" : 3\n"RaftTerm" : 0\n',
    );
  });
});

describe('member list', () => {
  const m = (id: bigint, name: string, port: number) => ({
    id,
    name,
    peerUrls: [`http://127.0.0.1:${port + 1}`],
    clientUrls: [`http://127.0.0.1:${port}`],
    isLearner: false,
  });
  const res: MemberListResponse = {
    header,
    members: [m(0x603b7ac8e4296f63n, 'm3', 24379), m(0x8b91bf796edb011en, 'm1', 22379), m(0x9bce67ee81f1e303n, 'm2', 23379)],
  };

  it('simple', () => {
    expect(printer('simple').memberList(res).split('\n')[1]).toBe(
      '8b91bf796edb011e, started, m1, http://127.0.0.1:22380, http://127.0.0.1:22379, false',
    );
  });

  it('table, as the reference', () => {
    expect(printer('table').memberList(res)).toBe(
      [
        '+------------------+---------+------+------------------------+------------------------+------------+',
        '|        ID        | STATUS  | NAME |       PEER ADDRS       |      CLIENT ADDRS      | IS LEARNER |',
        '+------------------+---------+------+------------------------+------------------------+------------+',
        '| 603b7ac8e4296f63 | started |   m3 | http://127.0.0.1:24380 | http://127.0.0.1:24379 |      false |',
        '| 8b91bf796edb011e | started |   m1 | http://127.0.0.1:22380 | http://127.0.0.1:22379 |      false |',
        '| 9bce67ee81f1e303 | started |   m2 | http://127.0.0.1:23380 | http://127.0.0.1:23379 |      false |',
        '+------------------+---------+------+------------------------+------------------------+------------+',
        '',
      ].join('\n'),
    );
  });

  it('json', () => {
    expect(printer('json').memberList({ header, members: [{ ...m(1n, '', 2379), isLearner: true }] })).toBe(
      '{"header":{"cluster_id":4743318255719025844,"member_id":10057029971166822686,"revision":3,"raft_term":2},' +
        '"members":[{"ID":1,"peerURLs":["http://127.0.0.1:2380"],"clientURLs":["http://127.0.0.1:2379"],"isLearner":true}]}\n',
    );
  });
});

describe('endpoint status and health', () => {
  const st = (memberId: bigint, leader: bigint): StatusResponse => ({
    header: { ...header, memberId },
    version: '3.4.23',
    dbSize: 20480n,
    dbSizeInUse: 20480n,
    leader,
    raftIndex: 10n,
    raftTerm: 2n,
    raftAppliedIndex: 10n,
    errors: [],
    isLearner: false,
  });
  const leader = 0x9bce67ee81f1e303n;
  const list = [
    { endpoint: '127.0.0.1:22379', status: st(0x8b91bf796edb011en, leader) },
    { endpoint: '127.0.0.1:23379', status: st(leader, leader) },
    { endpoint: '127.0.0.1:24379', status: st(0x603b7ac8e4296f63n, leader) },
  ];

  it('table, as the reference', () => {
    expect(printer('table').endpointStatus(list)).toBe(
      [
        '+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+',
        '|    ENDPOINT     |        ID        | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX | ERRORS |',
        '+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+',
        '| 127.0.0.1:22379 | 8b91bf796edb011e |  3.4.23 |   20 kB |     false |      false |         2 |         10 |                 10 |        |',
        '| 127.0.0.1:23379 | 9bce67ee81f1e303 |  3.4.23 |   20 kB |      true |      false |         2 |         10 |                 10 |        |',
        '| 127.0.0.1:24379 | 603b7ac8e4296f63 |  3.4.23 |   20 kB |     false |      false |         2 |         10 |                 10 |        |',
        '+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+',
        '',
      ].join('\n'),
    );
  });

  it('simple: one comma-separated line per endpoint', () => {
    expect(printer('simple').endpointStatus(list.slice(1, 2))).toBe(
      '127.0.0.1:23379, 9bce67ee81f1e303, 3.4.23, 20 kB, true, false, 2, 10, 10, \n',
    );
  });

  it('health in every format', () => {
    const health = [
      { endpoint: '127.0.0.1:24379', health: true, tookNs: 4_320_139n, error: '' },
      { endpoint: '127.0.0.1:1', health: false, tookNs: 0n, error: 'cannot connect to 127.0.0.1:1: connection refused' },
    ];
    expect(printer('simple').endpointHealth(health)).toEqual({
      out: '127.0.0.1:24379 is healthy: successfully committed proposal: took = 4.320139ms\n',
      err: '127.0.0.1:1 is unhealthy: failed to commit proposal: cannot connect to 127.0.0.1:1: connection refused\n',
    });
    expect(printer('json').endpointHealth(health).out).toBe(
      '[{"endpoint":"127.0.0.1:24379","health":true,"took":"4.320139ms"},' +
        '{"endpoint":"127.0.0.1:1","health":false,"took":"0s","error":"cannot connect to 127.0.0.1:1: connection refused"}]\n',
    );
    expect(printer('table').endpointHealth(health.slice(0, 1)).out).toBe(
      '+-----------------+--------+------------+-------+\n' +
        '|    ENDPOINT     | HEALTH |    TOOK    | ERROR |\n' +
        '+-----------------+--------+------------+-------+\n' +
        '| 127.0.0.1:24379 |   true | 4.320139ms |       |\n' +
        '+-----------------+--------+------------+-------+\n',
    );
  });
});

describe('endpoint hashkv', () => {
  const list = [
    { endpoint: '127.0.0.1:22379', hashKv: { header, hash: 1084519789, compactRevision: 0n, hashRevision: 3n } },
    { endpoint: '127.0.0.1:23379', hashKv: { header, hash: 1084519789, compactRevision: 0n, hashRevision: 3n } },
  ];
  it('simple and table, as etcdctl prints them', () => {
    expect(printer('simple').endpointHashKv(list)).toBe('127.0.0.1:22379, 1084519789\n127.0.0.1:23379, 1084519789\n');
    expect(printer('table').endpointHashKv(list)).toBe(
      [
        '+-----------------+------------+',
        '|    ENDPOINT     |    HASH    |',
        '+-----------------+------------+',
        '| 127.0.0.1:22379 | 1084519789 |',
        '| 127.0.0.1:23379 | 1084519789 |',
        '+-----------------+------------+',
        '',
      ].join('\n'),
    );
  });
  it('json: Endpoint and HashKV, zero fields left out', () => {
    expect(printer('json').endpointHashKv(list.slice(0, 1))).toBe(
      '[{"Endpoint":"127.0.0.1:22379","HashKV":{"header":{"cluster_id":4743318255719025844,"member_id":10057029971166822686,"revision":3,"raft_term":2},' +
        '"hash":1084519789,"hash_revision":3}}]\n',
    );
  });
  it('fields', () => {
    expect(printer('fields').endpointHashKv(list.slice(0, 1))).toContain('"Endpoint" : "127.0.0.1:22379"\n"Hash" : 1084519789\n"HashRevision" : 3\n"CompactRevision" : 0\n\n');
  });
});

describe('formats', () => {
  it('refuses protobuf and unknown formats with a message', () => {
    expect(printerFor('protobuf', { hex: false, valueOnly: false })).toHaveProperty('error');
    expect(printerFor('yaml', { hex: false, valueOnly: false })).toHaveProperty('error');
  });
});
