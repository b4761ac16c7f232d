// cairnctl member add/remove/update/promote, move-leader and discovery new against fake members:
// what the user sees (stdout, stderr, exit code) and what is sent.
import { afterEach, describe, expect, it } from 'vitest';
import { CairnError, ErrorCode } from '@cairn/protocol';
import { header, startFakeServer, type FakeServer, type Handler } from '../../../../packages/client/test/fakeServer.js';
import { plain } from '../../../../packages/client/test/helpers.js';
import { M1, M2 } from '../testing/members.js';
import { runForTest as cli } from '../testing/run.js';

const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function fake(handlers: Record<string, Handler>): Promise<FakeServer> {
  const s = await startFakeServer(handlers);
  servers.push(s);
  return s;
}

const CLUSTER = header().clusterId.toString(16);
const m1 = M1;
const m2 = M2;
const NEW_ID = 0x603b7ac8e4296f63n;

/** A member that answers membership changes and records their params. */
async function membershipServer(): Promise<{ s: FakeServer; seen: { method: string; params: unknown }[] }> {
  const seen: { method: string; params: unknown }[] = [];
  const rec = (answer: (params: never) => unknown): Handler => (req) => {
    seen.push({ method: req.method, params: req.params });
    return answer(req.params as never);
  };
  const s = await fake({
    'cluster.memberAdd': rec((p: { peerUrls: string[]; isLearner?: boolean }) => {
      const added = { id: NEW_ID, name: '', peerUrls: p.peerUrls, clientUrls: [], isLearner: p.isLearner === true };
      return { header: header(), member: added, members: [m1, m2, added] };
    }),
    'cluster.memberRemove': rec(() => ({ header: header(), members: [m1] })),
    'cluster.memberUpdate': rec(() => ({ header: header(), members: [m1, m2] })),
    'cluster.memberPromote': rec((p: { id: bigint }) => {
      if (p.id !== m2.id) throw new CairnError(ErrorCode.MemberNotLearner);
      return { header: header(), members: [m1, m2] };
    }),
  });
  return { s, seen };
}

describe('member add', () => {
  it('prints the added line and the new member\u2019s CAIRN_* settings', async () => {
    const { s, seen } = await membershipServer();
    const res = await cli(['member', 'add', 'm3', '--peer-urls=http://127.0.0.1:24380', `--endpoints=${s.endpoint}`]);
    expect(res).toEqual({
      code: 0,
      err: '',
      out: [
        `Member 603b7ac8e4296f63 added to cluster ${CLUSTER}`,
        '',
        'CAIRN_NAME="m3"',
        'CAIRN_INITIAL_CLUSTER="m1=http://127.0.0.1:22380,m2=http://127.0.0.1:23380,m3=http://127.0.0.1:24380"',
        'CAIRN_INITIAL_ADVERTISE_PEER_URLS="http://127.0.0.1:24380"',
        'CAIRN_INITIAL_CLUSTER_STATE="existing"',
        '',
      ].join('\n'),
    });
    expect(seen).toEqual([{ method: 'cluster.memberAdd', params: { peerUrls: ['http://127.0.0.1:24380'] } }]);
  });

  it('--learner, and -w json', async () => {
    const { s, seen } = await membershipServer();
    const learner = await cli(['member', 'add', 'm3', '--peer-urls', 'http://127.0.0.1:24380', '--learner=true', `--endpoints=${s.endpoint}`]);
    expect(learner.out.split('\n')[0]).toBe(`Member 603b7ac8e4296f63 added as learner to cluster ${CLUSTER}`);
    expect(seen[0]?.params).toEqual({ peerUrls: ['http://127.0.0.1:24380'], isLearner: true });
    const json = await cli(['member', 'add', 'm3', '--peer-urls=http://127.0.0.1:24380', '-w', 'json', `--endpoints=${s.endpoint}`]);
    expect(json.code).toBe(0);
    expect(json.out).toBe(
      '{"header":{"cluster_id":4743315843036146612,"member_id":10057029971166822686,"revision":1,"raft_term":2},' +
        '"member":{"ID":6934271054506979171,"peerURLs":["http://127.0.0.1:24380"]},' +
        '"members":[{"ID":10057029971166822686,"name":"m1","peerURLs":["http://127.0.0.1:22380"],"clientURLs":["http://127.0.0.1:22379"]},' +
        '{"ID":11227025195161215747,"name":"m2","peerURLs":["http://127.0.0.1:23380"],"clientURLs":["http://127.0.0.1:23379"]},' +
        '{"ID":6934271054506979171,"peerURLs":["http://127.0.0.1:24380"]}]}\n',
    );
  });

  it.each<[string[], number, string]>([
    [['member', 'add'], 128, 'Error: member name not provided\n'],
    [['member', 'add', 'm3'], 128, 'Error: member peer urls not provided\n'],
    [['member', 'add', 'm3', 'http://127.0.0.1:24380'], 128, 'Error: too many arguments, did you mean --peer-urls=http://127.0.0.1:24380\n'],
    [['member', 'add', 'm3', '--peer-urls=127.0.0.1:24380'], 128, 'Error: --peer-urls: "127.0.0.1:24380" is not a peer URL (expected e.g. http://10.0.0.4:2380)\n'],
    [['member', 'add', 'm3', '--peer-urls=http://h'], 128, 'Error: --peer-urls: "http://h" is not a peer URL (expected e.g. http://10.0.0.4:2380)\n'],
    [['member', 'add', 'm3', '--peer-urls=http://h:1', '-w', 'table'], 4, 'Error: table not supported as output format\n'],
    [['member', 'add', 'm3', '--peer-urls=http://h:1', '-w', 'fields'], 4, 'Error: fields not supported as output format\n'],
  ])('%j -> exit %d, nothing sent', async (argv, code, err) => {
    const { s, seen } = await membershipServer();
    expect(await cli([...argv, `--endpoints=${s.endpoint}`])).toEqual({ code, out: '', err });
    expect(seen).toEqual([]);
  });
});

describe('member remove, update, promote', () => {
  it('print etcdctl\u2019s lines and send the exact 64-bit id', async () => {
    const { s, seen } = await membershipServer();
    const e = `--endpoints=${s.endpoint}`;
    expect(await cli(['member', 'remove', '9bce67ee81f1e303', e])).toEqual({
      code: 0,
      out: `Member 9bce67ee81f1e303 removed from cluster ${CLUSTER}\n`,
      err: '',
    });
    expect(await cli(['member', 'update', '9BCE67EE81F1E303', '--peer-urls=http://127.0.0.1:23390,http://10.0.0.2:23390', e])).toEqual({
      code: 0,
      out: `Member 9bce67ee81f1e303 updated in cluster ${CLUSTER}\n`,
      err: '',
    });
    expect(await cli(['member', 'promote', '9bce67ee81f1e303', e])).toEqual({
      code: 0,
      out: `Member 9bce67ee81f1e303 promoted in cluster ${CLUSTER}\n`,
      err: '',
    });
    // A shorter id is padded with spaces, as Go's %16x does.
    expect((await cli(['member', 'remove', 'abc', e])).out).toBe(`Member              abc removed from cluster ${CLUSTER}\n`);
    expect(seen).toEqual([
      { method: 'cluster.memberRemove', params: { id: 0x9bce67ee81f1e303n } },
      { method: 'cluster.memberUpdate', params: { id: 0x9bce67ee81f1e303n, peerUrls: ['http://127.0.0.1:23390', 'http://10.0.0.2:23390'] } },
      { method: 'cluster.memberPromote', params: { id: 0x9bce67ee81f1e303n } },
      { method: 'cluster.memberRemove', params: { id: 0xabcn } },
    ]);
  });

  it('-w json prints the response', async () => {
    const { s } = await membershipServer();
    const res = await cli(['member', 'remove', '9bce67ee81f1e303', '-w', 'json', `--endpoints=${s.endpoint}`]);
    expect(res.out).toBe(
      '{"header":{"cluster_id":4743315843036146612,"member_id":10057029971166822686,"revision":1,"raft_term":2},' +
        '"members":[{"ID":10057029971166822686,"name":"m1","peerURLs":["http://127.0.0.1:22380"],"clientURLs":["http://127.0.0.1:22379"]}]}\n',
    );
  });

  it('a refusal by the member is one line, exit 1', async () => {
    const { s } = await membershipServer();
    expect(await cli(['member', 'promote', '8b91bf796edb011e', `--endpoints=${s.endpoint}`])).toEqual({
      code: 1,
      out: '',
      err: 'Error: can only promote a learner member\n',
    });
  });

  it.each<[string[], number, string]>([
    [['member', 'remove'], 128, 'Error: member ID is not provided\n'],
    [['member', 'remove', 'a', 'b'], 128, 'Error: member ID is not provided\n'],
    [['member', 'remove', 'xyz'], 128, 'Error: bad member ID arg (strconv.ParseUint: parsing "xyz": invalid syntax), expecting ID in Hex\n'],
    [['member', 'remove', '0x8b91'], 128, 'Error: bad member ID arg (strconv.ParseUint: parsing "0x8b91": invalid syntax), expecting ID in Hex\n'],
    [['member', 'promote', '10000000000000000'], 128, 'Error: bad member ID arg (strconv.ParseUint: parsing "10000000000000000": value out of range), expecting ID in Hex\n'],
    [['member', 'update', '8b91bf796edb011e'], 128, 'Error: member peer urls not provided\n'],
    [['member', 'update', 'zz', '--peer-urls=http://h:1'], 128, 'Error: bad member ID arg (strconv.ParseUint: parsing "zz": invalid syntax), expecting ID in Hex\n'],
    [['member', 'remove', '8b91bf796edb011e', '-w', 'table'], 4, 'Error: table not supported as output format\n'],
    [['member', 'promote', '8b91bf796edb011e', '-w', 'yaml'], 4, 'Error: unsupported output format "yaml" (use simple, json, table or fields)\n'],
  ])('%j -> exit %d, nothing sent', async (argv, code, err) => {
    const { s, seen } = await membershipServer();
    expect(await cli([...argv, `--endpoints=${s.endpoint}`])).toEqual({ code, out: '', err });
    expect(seen).toEqual([]);
  });
});

describe('move-leader', () => {
  /** Three members; `leader` is the one whose status says it leads. */
  async function cluster(leader: number | undefined): Promise<{ endpoints: string; moves: { at: number; targetId: bigint }[]; ids: bigint[] }> {
    const ids = [0x8b91bf796edb011en, 0x9bce67ee81f1e303n, 0x603b7ac8e4296f63n];
    const moves: { at: number; targetId: bigint }[] = [];
    const list: FakeServer[] = [];
    for (let i = 0; i < ids.length; i++) {
      const h = { ...header(), memberId: ids[i]! };
      list.push(
        await fake({
          'maintenance.status': () => ({
            header: h,
            version: '0.1.0',
            dbSize: 1n,
            dbSizeInUse: 1n,
            leader: leader === undefined ? 0n : ids[leader]!,
            raftIndex: 1n,
            raftTerm: 2n,
            raftAppliedIndex: 1n,
            errors: [],
            isLearner: false,
          }),
          'maintenance.moveLeader': (req) => {
            moves.push({ at: i, targetId: (req.params as { targetId: bigint }).targetId });
            if (i !== leader) throw new CairnError(ErrorCode.NotLeader);
            return { header: h };
          },
        }),
      );
    }
    return { endpoints: `--endpoints=${list.map((s) => s.endpoint).join(',')}`, moves, ids };
  }

  it('finds the leader among the endpoints and asks it to transfer', async () => {
    const c = await cluster(1);
    expect(await cli(['move-leader', '603b7ac8e4296f63', c.endpoints])).toEqual({
      code: 0,
      out: 'Leadership transferred from 9bce67ee81f1e303 to 603b7ac8e4296f63\n',
      err: '',
    });
    expect(c.moves).toEqual([{ at: 1, targetId: 0x603b7ac8e4296f63n }]);
    const json = await cli(['move-leader', '603b7ac8e4296f63', '-w', 'json', c.endpoints]);
    expect(json.out).toBe('{"header":{"cluster_id":4743315843036146612,"member_id":11227025195161215747,"revision":1,"raft_term":2}}\n');
  });

  it('skips endpoints that do not answer', async () => {
    const c = await cluster(0);
    const res = await cli(['move-leader', '603b7ac8e4296f63', '--dial-timeout=200ms', `--endpoints=127.0.0.1:1,${c.endpoints.slice('--endpoints='.length)}`]);
    expect(res).toMatchObject({ code: 0, out: 'Leadership transferred from 8b91bf796edb011e to 603b7ac8e4296f63\n' });
  });

  it('says so when no endpoint is the leader, or none answers', async () => {
    const c = await cluster(undefined);
    const res = await cli(['move-leader', '603b7ac8e4296f63', c.endpoints]);
    expect(res.code).toBe(128);
    expect(res.err).toMatch(/^Error: no leader endpoint given at \[127\.0\.0\.1:\d+ 127\.0\.0\.1:\d+ 127\.0\.0\.1:\d+\]\n$/);
    expect(c.moves).toEqual([]);
    expect(await cli(['move-leader', '603b7ac8e4296f63', '--dial-timeout=200ms', '--endpoints=127.0.0.1:1'])).toEqual({
      code: 2,
      out: '',
      err: 'Error: cannot connect to 127.0.0.1:1: connection refused\n',
    });
  });

  it.each<[string[], number, string]>([
    [['move-leader'], 128, 'Error: move-leader command needs 1 argument\n'],
    [['move-leader', 'nothex'], 128, 'Error: bad member ID arg (strconv.ParseUint: parsing "nothex": invalid syntax), expecting ID in Hex\n'],
    [['move-leader', 'abc', '-w', 'fields'], 4, 'Error: fields not supported as output format\n'],
  ])('%j -> exit %d', async (argv, code, err) => {
    const c = await cluster(0);
    expect(await cli([...argv, c.endpoints])).toEqual({ code, out: '', err });
    expect(c.moves).toEqual([]);
  });
});

describe('discovery new', () => {
  it('creates a random token with its size, only if absent, and prints its URL', async () => {
    const txns: unknown[] = [];
    const s = await fake({
      'kv.txn': (req) => {
        txns.push(req.params);
        return { header: header(2n), succeeded: true, responses: [{ put: { header: header(2n) } }] };
      },
    });
    const res = await cli(['discovery', 'new', '--size=3', `--endpoints=${s.endpoint}`]);
    expect(res.code).toBe(0);
    expect(res.err).toBe('');
    const m = new RegExp(`^cairn://${s.endpoint.replace(/\./g, '\\.')}/discovery/([0-9a-f]{16})\\n$`).exec(res.out);
    expect(m).not.toBeNull();
    const sizeKey = new TextEncoder().encode(`/_cairn/discovery/${m![1]}/_config/size`);
    expect(plain(txns[0])).toEqual({
      compare: [{ key: sizeKey, target: 'create', result: 'equal', value: 0n }],
      success: [{ put: { key: sizeKey, value: new TextEncoder().encode('3') } }],
      failure: [],
    });
    // A fresh token each time.
    const again = await cli(['discovery', 'new', `--endpoints=http://${s.endpoint}`, '-w', 'json']);
    expect(again.out).toMatch(/^\{"url":"cairn:\/\/127\.0\.0\.1:\d+\/discovery\/[0-9a-f]{16}","token":"[0-9a-f]{16}","size":3\}\n$/);
    expect(again.out).not.toContain(m![1]);
  });

  it('refuses to overwrite a token, and a bad size', async () => {
    const s = await fake({ 'kv.txn': () => ({ header: header(2n), succeeded: false, responses: [] }) });
    const taken = await cli(['discovery', 'new', '--size=3', `--endpoints=${s.endpoint}`]);
    expect(taken.code).toBe(1);
    expect(taken.err).toMatch(/^Error: discovery token [0-9a-f]{16} already exists; run the command again\n$/);
    for (const size of ['0', 'x', '100', '-1']) {
      expect(await cli(['discovery', 'new', `--size=${size}`, `--endpoints=${s.endpoint}`])).toEqual({
        code: 128,
        out: '',
        err: `Error: invalid argument "${size}" for "--size" flag: must be a whole number from 1 to 99\n`,
      });
    }
  });
});
