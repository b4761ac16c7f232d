import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { makeMessage, type Message } from '@cairn/raft';
import { PeerServer, type PeerServerHost } from './peerServer.js';
import { PeerTransport } from './transport.js';
import { peerKeyFromToken } from './peerAuth.js';

const CLUSTER = 0xc2n;
const key = peerKeyFromToken('peer link test');
const quiet = pino({ level: 'silent' });

const open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

/** Member 2's peer endpoint on a real socket; what member 1 sends it lands in `got`. */
async function leaderEndpoint(): Promise<{ url: string; got: Message[]; server: PeerServer }> {
  const got: Message[] = [];
  const host: PeerServerHost = {
    clusterId: CLUSTER,
    selfId: 2n,
    key,
    isRemoved: () => false,
    isMember: (id) => id === 1n || id === 2n,
    messages: (_from, msgs) => void got.push(...msgs),
    rpc: () => Promise.resolve(null),
    snapshot: () => {
      throw new Error('no snapshots here');
    },
    clusterMembers: () => ({ clusterId: CLUSTER, members: [] }),
  };
  const server = new PeerServer(host, quiet, 1 << 20);
  const http: Server = createServer();
  server.attach(http);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  open.push({ close: () => (server.close(), http.close()) });
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, got, server };
}

function follower(url: string): PeerTransport {
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
  const t = new PeerTransport({ clusterId: CLUSTER, selfId: 1n, key, maxFrameBytes: 1 << 20, unreachable: () => undefined, refused: () => undefined, log });
  t.setPeers(new Map([[2n, [url]]]));
  open.push(t);
  return t;
}

const ack = (term: number, index: number, reject = false): Message => makeMessage({ type: 'MsgAppResp', from: 1n, to: 2n, term, index, reject });
const seen = (msgs: readonly Message[]): string[] => msgs.map((m) => `${m.type} ${m.term}/${m.index}${m.reject ? ' reject' : ''}`);

async function until(what: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!what()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('a link to the leader', () => {
  it('leaves out acknowledgements that repeat one already sent on its socket, and nothing else', async () => {
    const l = await leaderEndpoint();
    const t = follower(l.url);
    t.send([ack(2, 10)]);
    await until(() => l.got.length === 1);
    // The answers to commit-only appends repeat index 10; a heartbeat answer, a rejection,
    // a higher index and a new term always go.
    t.send([ack(2, 10), ack(2, 9)]);
    t.send([makeMessage({ type: 'MsgHeartbeatResp', from: 1n, to: 2n, term: 2 }), ack(2, 10), ack(2, 7, true), ack(2, 11), ack(2, 11), ack(3, 5)]);
    await until(() => l.got.length === 5);
    expect(seen(l.got)).toEqual(['MsgAppResp 2/10', 'MsgHeartbeatResp 2/0', 'MsgAppResp 2/7 reject', 'MsgAppResp 2/11', 'MsgAppResp 3/5']);
  });

  it('sends an acknowledgement again on a new socket', async () => {
    const l = await leaderEndpoint();
    const t = follower(l.url);
    t.send([ack(2, 10)]);
    await until(() => l.got.length === 1);
    // The leader's end cuts every socket of member 1 (as when it restarts); the link redials.
    l.server.dropPeer(1n, 'test', 'cut');
    await until(() => {
      t.send([ack(2, 10)]);
      return l.got.length === 2;
    });
    expect(seen(l.got)).toEqual(['MsgAppResp 2/10', 'MsgAppResp 2/10']);
  });
});
