// Golden output of the membership commands, as etcdctl 3.4 prints them (printer_simple.go's
// `Member %16x added to cluster %16x`, member_command.go's ETCD_* lines, with CAIRN_ names).
import { describe, expect, it } from 'vitest';
import type { MemberAddResponse, StatusResponse } from '@cairn/client';
import { M1, M2, memberAt } from '../testing/members.js';
import { printerFor, type Printer } from './index.js';
import {
  headerOnlyJson,
  memberAddJson,
  memberAddText,
  memberChangeJson,
  memberChangeText,
  moveLeaderText,
  newMemberEnv,
} from './members.js';

const header = { clusterId: 4743318255719025844n, memberId: 10057029971166822686n, revision: 3n, raftTerm: 2n };
const H = '{"cluster_id":4743318255719025844,"member_id":10057029971166822686,"revision":3,"raft_term":2}';
const m = memberAt;
const m1 = M1;
const m2 = M2;
const added = m(0x603b7ac8e4296f63n, '', 24379);
const addRes: MemberAddResponse = { header, member: added, members: [m1, m2, added] };

function printer(format: string): Printer {
  const p = printerFor(format, { hex: false, valueOnly: false });
  if ('error' in p) throw new Error(p.error);
  return p;
}

describe('member add', () => {
  it('simple: the added line, a blank line, then the new member\u2019s settings', () => {
    expect(memberAddText(addRes) + newMemberEnv('m3', ['http://127.0.0.1:24380'], added.id, addRes.members)).toBe(
      [
        'Member 603b7ac8e4296f63 added to cluster 41d3a6d288c20cb4',
        '',
        'CAIRN_NAME="m3"',
        'CAIRN_INITIAL_CLUSTER="m1=http://127.0.0.1:22380,m2=http://127.0.0.1:23380,m3=http://127.0.0.1:24380"',
        'CAIRN_INITIAL_ADVERTISE_PEER_URLS="http://127.0.0.1:24380"',
        'CAIRN_INITIAL_CLUSTER_STATE="existing"',
        '',
      ].join('\n'),
    );
  });

  it('a learner, a member added earlier but not started (empty name), several peer URLs', () => {
    const other = m(0x1234n, '', 25379);
    const two = { ...added, isLearner: true, peerUrls: ['http://127.0.0.1:24380', 'http://10.0.0.3:24380'] };
    const res = { header, member: two, members: [m1, other, two] };
    expect(memberAddText(res)).toBe('Member 603b7ac8e4296f63 added as learner to cluster 41d3a6d288c20cb4\n');
    expect(newMemberEnv('m3', two.peerUrls, two.id, res.members).split('\n').slice(2, 4)).toEqual([
      'CAIRN_INITIAL_CLUSTER="m1=http://127.0.0.1:22380,=http://127.0.0.1:25380,m3=http://127.0.0.1:24380,m3=http://10.0.0.3:24380"',
      'CAIRN_INITIAL_ADVERTISE_PEER_URLS="http://127.0.0.1:24380,http://10.0.0.3:24380"',
    ]);
  });

  it('pads ids like Go\u2019s %16x: spaces, not zeros', () => {
    const short = { ...added, id: 0x3b7ac8e4296f63n };
    expect(memberAddText({ header: { ...header, clusterId: 0xabcn }, member: short, members: [] })).toBe(
      'Member   3b7ac8e4296f63 added to cluster              abc\n',
    );
  });

  it('quotes a name the way Go\u2019s %q does', () => {
    expect(newMemberEnv('a "b"', ['http://h:1'], 9n, []).split('\n')[1]).toBe('CAIRN_NAME="a \\"b\\""');
  });

  it('json: header, member, members; 64-bit ids exact, empty fields left out', () => {
    expect(memberAddJson({ header, member: { ...added, id: 18446744073709551615n }, members: [m1] })).toBe(
      `{"header":${H},"member":{"ID":18446744073709551615,"peerURLs":["http://127.0.0.1:24380"]},` +
        '"members":[{"ID":10057029971166822686,"name":"m1","peerURLs":["http://127.0.0.1:22380"],"clientURLs":["http://127.0.0.1:22379"]}]}\n',
    );
  });
});

describe('member remove, update, promote; move-leader', () => {
  it('simple', () => {
    expect(memberChangeText('removed from', 0x9bce67ee81f1e303n, header)).toBe('Member 9bce67ee81f1e303 removed from cluster 41d3a6d288c20cb4\n');
    expect(memberChangeText('updated in', 0x9bce67ee81f1e303n, header)).toBe('Member 9bce67ee81f1e303 updated in cluster 41d3a6d288c20cb4\n');
    expect(memberChangeText('promoted in', 0x9bce67ee81f1e303n, header)).toBe('Member 9bce67ee81f1e303 promoted in cluster 41d3a6d288c20cb4\n');
    // etcd's types.ID: no padding at all.
    expect(moveLeaderText(0x8b91bf796edb011en, 0x3b7ac8e4296f63n)).toBe('Leadership transferred from 8b91bf796edb011e to 3b7ac8e4296f63\n');
  });

  it('json', () => {
    expect(memberChangeJson({ header, members: [] })).toBe(`{"header":${H}}\n`);
    expect(memberChangeJson({ header, members: [{ ...m2, isLearner: true }] })).toBe(
      `{"header":${H},"members":[{"ID":11227025195161215747,"name":"m2","peerURLs":["http://127.0.0.1:23380"],"clientURLs":["http://127.0.0.1:23379"],"isLearner":true}]}\n`,
    );
    expect(headerOnlyJson(header)).toBe(`{"header":${H}}\n`);
  });
});

describe('member list, as etcdctl prints it', () => {
  const res = { header, members: [m1, added, { ...m2, isLearner: true }] };
  it('simple: `<hex id>, started|unstarted, <name>, <peer urls>, <client urls>, <is learner>`', () => {
    expect(printer('simple').memberList(res)).toBe(
      [
        '8b91bf796edb011e, started, m1, http://127.0.0.1:22380, http://127.0.0.1:22379, false',
        '603b7ac8e4296f63, unstarted, , http://127.0.0.1:24380, , false',
        '9bce67ee81f1e303, started, m2, http://127.0.0.1:23380, http://127.0.0.1:23379, true',
        '',
      ].join('\n'),
    );
  });
  it('table, with an unstarted member and a learner', () => {
    expect(printer('table').memberList(res)).toBe(
      [
        '+------------------+-----------+------+------------------------+------------------------+------------+',
        '|        ID        |  STATUS   | NAME |       PEER ADDRS       |      CLIENT ADDRS      | IS LEARNER |',
        '+------------------+-----------+------+------------------------+------------------------+------------+',
        '| 8b91bf796edb011e |   started |   m1 | http://127.0.0.1:22380 | http://127.0.0.1:22379 |      false |',
        '| 603b7ac8e4296f63 | unstarted |      | http://127.0.0.1:24380 |                        |      false |',
        '| 9bce67ee81f1e303 |   started |   m2 | http://127.0.0.1:23380 | http://127.0.0.1:23379 |       true |',
        '+------------------+-----------+------+------------------------+------------------------+------------+',
        '',
      ].join('\n'),
    );
  });
  it('hex ids are not zero-padded (%x), several URLs are comma-joined', () => {
    const one = { ...m1, id: 0xabcn, peerUrls: ['http://a:1', 'http://b:1'] };
    expect(printer('simple').memberList({ header, members: [one] })).toBe('abc, started, m1, http://a:1,http://b:1, http://127.0.0.1:22379, false\n');
  });
});

describe('endpoint status -w json: etcdctl\u2019s [{Endpoint, Status}] shape', () => {
  const status: StatusResponse = {
    header: { clusterId: 4743318255719025844n, memberId: 18446744073709551615n, revision: 9n, raftTerm: 4n },
    version: '0.1.0',
    dbSize: 20480n,
    dbSizeInUse: 16384n,
    leader: 18446744073709551615n,
    raftIndex: 12n,
    raftTerm: 4n,
    raftAppliedIndex: 12n,
    errors: ['memberID:1 alarm:NOSPACE'],
    isLearner: true,
  };
  it('every field in etcd\u2019s order, ids exact past 2^63', () => {
    expect(printer('json').endpointStatus([{ endpoint: '127.0.0.1:2379', status }])).toBe(
      '[{"Endpoint":"127.0.0.1:2379","Status":{' +
        '"header":{"cluster_id":4743318255719025844,"member_id":18446744073709551615,"revision":9,"raft_term":4},' +
        '"version":"0.1.0","dbSize":20480,"leader":18446744073709551615,"raftIndex":12,"raftTerm":4,"raftAppliedIndex":12,' +
        '"errors":["memberID:1 alarm:NOSPACE"],"dbSizeInUse":16384,"isLearner":true}}]\n',
    );
  });
  it('zero and empty fields left out, as Go\u2019s omitempty does', () => {
    const quiet = { ...status, leader: 0n, errors: [], isLearner: false, dbSizeInUse: 0n };
    expect(printer('json').endpointStatus([{ endpoint: 'e', status: quiet }])).toBe(
      '[{"Endpoint":"e","Status":{"header":{"cluster_id":4743318255719025844,"member_id":18446744073709551615,"revision":9,"raft_term":4},' +
        '"version":"0.1.0","dbSize":20480,"raftIndex":12,"raftTerm":4,"raftAppliedIndex":12}}]\n',
    );
  });
  it('table: IS LEADER is leader == header.memberId, one row each', () => {
    const rows = printer('table')
      .endpointStatus([
        { endpoint: 'a', status },
        { endpoint: 'b', status: { ...status, header: { ...status.header, memberId: 5n } } },
      ])
      .split('\n');
    expect(rows[1]).toBe('| ENDPOINT |        ID        | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX |          ERRORS          |');
    expect(rows[3]).toContain('| ffffffffffffffff |   0.1.0 |   20 kB |      true |       true |');
    expect(rows[4]).toContain('|                5 |   0.1.0 |   20 kB |     false |       true |');
  });
});
