import { afterEach, describe, expect, it } from 'vitest';
import { CairnError, ErrorCode } from '@cairn/protocol';
import { NEVER, header, startFakeServer, type FakeServer, type Handler } from '../test/fakeServer.js';
import { rejectionOf } from '../test/helpers.js';
import { CairnClient } from './index.js';

const servers: FakeServer[] = [];
const clients: CairnClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(handlers: Record<string, Handler>): Promise<FakeServer> {
  const s = await startFakeServer(handlers);
  servers.push(s);
  return s;
}

function client(endpoints: string[]): CairnClient {
  const c = new CairnClient({ endpoints, dialTimeoutMs: 1000, requestTimeoutMs: 2000 });
  clients.push(c);
  return c;
}

const rejection = (p: Promise<unknown>): Promise<CairnError> => rejectionOf(p, CairnError);

const BIG = 0xfedcba9876543210n;
const member = (id: bigint, name: string, peer: string, isLearner = false) => ({
  id,
  name,
  peerUrls: [peer],
  clientUrls: name === '' ? [] : [peer.replace('80', '79')],
  isLearner,
});

describe('membership changes', () => {
  it('sends exactly the typed requests, 64-bit ids intact, and returns the typed answers', async () => {
    const seen: { method: string; params: unknown }[] = [];
    const record = (answer: unknown): Handler => (req) => {
      seen.push({ method: req.method, params: req.params });
      return answer;
    };
    const added = member(BIG, '', 'http://127.0.0.1:4380', true);
    const s = await server({
      'cluster.memberAdd': record({ header: header(), member: added, members: [added] }),
      'cluster.memberRemove': record({ header: header(), members: [] }),
      'cluster.memberUpdate': record({ header: header(), members: [] }),
      'cluster.memberPromote': record({ header: header(), members: [{ ...added, isLearner: false }] }),
      'maintenance.moveLeader': record({ header: header() }),
    });
    const c = client([s.endpoint]);
    const add = await c.cluster.memberAdd(['http://127.0.0.1:4380'], { isLearner: true });
    expect(add.member.id).toBe(BIG);
    expect(add.member.isLearner).toBe(true);
    await c.cluster.memberAdd([' http://127.0.0.1:5380 ', 'http://127.0.0.2:5380']);
    await c.cluster.memberRemove(BIG);
    await c.cluster.memberUpdate(0x8b91bf796edb011en, ['http://127.0.0.1:6380']);
    const promoted = await c.cluster.memberPromote(BIG);
    expect(promoted.members[0]?.isLearner).toBe(false);
    const moved = await c.maintenance.moveLeader(42);
    expect(moved.header.clusterId).toBe(header().clusterId);
    expect(seen).toEqual([
      { method: 'cluster.memberAdd', params: { peerUrls: ['http://127.0.0.1:4380'], isLearner: true } },
      { method: 'cluster.memberAdd', params: { peerUrls: ['http://127.0.0.1:5380', 'http://127.0.0.2:5380'] } },
      { method: 'cluster.memberRemove', params: { id: BIG } },
      { method: 'cluster.memberUpdate', params: { id: 0x8b91bf796edb011en, peerUrls: ['http://127.0.0.1:6380'] } },
      { method: 'cluster.memberPromote', params: { id: BIG } },
      { method: 'maintenance.moveLeader', params: { targetId: 42n } },
    ]);
  });

  it('refuses bad arguments before sending anything', async () => {
    const s = await server({});
    const c = client([s.endpoint]);
    const bad = [
      c.cluster.memberAdd([]),
      c.cluster.memberAdd(['']),
      c.cluster.memberUpdate(1n, []),
      c.cluster.memberRemove(0n),
      c.cluster.memberRemove(-1n),
      c.cluster.memberPromote(1n << 64n),
      c.cluster.memberRemove(2 ** 60),
      c.maintenance.moveLeader(0),
    ];
    for (const p of bad) expect((await rejection(p)).code).toBe(ErrorCode.InvalidArgument);
    expect(s.frames.filter((f) => f.t === 'req')).toEqual([]);
  });

  it('passes the member\u2019s refusal through as a typed error', async () => {
    const s = await server({
      'cluster.memberRemove': () => {
        throw new CairnError(ErrorCode.MemberNotFound);
      },
      'cluster.memberPromote': () => {
        throw new CairnError(ErrorCode.LearnerNotReady);
      },
      'maintenance.moveLeader': () => {
        throw new CairnError(ErrorCode.NotLeader);
      },
    });
    const c = client([s.endpoint]);
    expect(await rejection(c.cluster.memberRemove(7n))).toMatchObject({ code: 'member_not_found', message: 'member not found' });
    expect((await rejection(c.cluster.memberPromote(7n))).code).toBe(ErrorCode.LearnerNotReady);
    expect((await rejection(c.maintenance.moveLeader(7n))).code).toBe(ErrorCode.NotLeader);
  });

  it('does not resend a change to the next member when the connection is lost with it in flight', async () => {
    const calls: Record<string, number> = {};
    const dropAfterReceiving = (): Handler => (req) => {
      calls[req.method] = (calls[req.method] ?? 0) + 1;
      setTimeout(() => a.dropAll(), 10);
      return NEVER;
    };
    const a = await server({
      'cluster.memberAdd': dropAfterReceiving(),
      'cluster.memberRemove': dropAfterReceiving(),
      'cluster.memberUpdate': dropAfterReceiving(),
      'cluster.memberPromote': dropAfterReceiving(),
      'maintenance.moveLeader': dropAfterReceiving(),
    });
    const answered: string[] = [];
    const answer = (r: unknown): Handler => (req) => {
      answered.push(req.method);
      return r;
    };
    const b = await server({
      'cluster.memberAdd': answer({ header: header(), member: member(1n, '', 'http://x:1'), members: [] }),
      'cluster.memberRemove': answer({ header: header(), members: [] }),
      'cluster.memberUpdate': answer({ header: header(), members: [] }),
      'cluster.memberPromote': answer({ header: header(), members: [] }),
      'maintenance.moveLeader': answer({ header: header() }),
    });
    b.memberId = 2n;
    const changes: [string, (c: CairnClient) => Promise<unknown>][] = [
      ['cluster.memberAdd', (c) => c.cluster.memberAdd(['http://127.0.0.1:4380'])],
      ['cluster.memberRemove', (c) => c.cluster.memberRemove(5n)],
      ['cluster.memberUpdate', (c) => c.cluster.memberUpdate(5n, ['http://127.0.0.1:4380'])],
      ['cluster.memberPromote', (c) => c.cluster.memberPromote(5n)],
      ['maintenance.moveLeader', (c) => c.maintenance.moveLeader(5n)],
    ];
    for (const [method, change] of changes) {
      // A fresh client each time, so each starts on member a.
      const err = await rejection(change(client([a.endpoint, b.endpoint])));
      expect(err.code).toBe(ErrorCode.ConnectionClosed);
      expect(calls[method]).toBe(1);
    }
    expect(answered).toEqual([]);
    // With retry: true the caller accepts a possible repeat, and the next member answers.
    await client([a.endpoint, b.endpoint]).cluster.memberRemove(5n, { retry: true });
    expect(answered).toEqual(['cluster.memberRemove']);
  });
});
