import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { PeerServer, type PeerServerHost } from './peerServer.js';
import { WebSocketServer } from '../api/ws.js';
import { decodePeerFrame, encodePeerFrame } from './frames.js';
import { toBytes } from './peerLink.js';
import { PeerTransport } from './transport.js';
import { fetchMembers } from './peerHttp.js';
import { peerKeyFromSecret, peerKeyFromToken, type PeerKey } from './peerAuth.js';

const CLUSTER = 0xc1n;
const quiet = pino({ level: 'silent' });

interface Logged {
  readonly lines: string[];
  readonly log: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void; debug(o: object, m: string): void };
}
function recorder(): Logged {
  const lines: string[] = [];
  const rec = (_o: object, m: string): void => void lines.push(m);
  return { lines, log: { info: rec, warn: rec, error: rec, debug: () => undefined } };
}

const open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

/** A peer endpoint of member 2 on a real socket, with `key`; member 1 is its only peer. */
async function listener(key: PeerKey, members: bigint[] = [1n, 2n]): Promise<{ url: string; served: string[] }> {
  const served: string[] = [];
  const host: PeerServerHost = {
    clusterId: CLUSTER,
    selfId: 2n,
    key,
    isRemoved: () => false,
    isMember: (id) => members.includes(id),
    messages: () => undefined,
    rpc: (from, method) => {
      served.push(`${from}:${method}`);
      return Promise.resolve('pong');
    },
    snapshot: () => {
      throw new Error('no snapshots here');
    },
    clusterMembers: () => ({ clusterId: CLUSTER, members: members.map((id) => ({ id, name: `m${id}`, peerUrls: [], clientUrls: [], isLearner: false })) }),
  };
  const ps = new PeerServer(host, quiet, 1 << 20);
  const http: Server = createServer();
  ps.attach(http);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  open.push({ close: () => (ps.close(), http.close()) });
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, served };
}

function dialler(key: PeerKey, url: string, rec = recorder(), selfId = 1n): PeerTransport {
  const t = new PeerTransport({ clusterId: CLUSTER, selfId, key, maxFrameBytes: 1 << 20, unreachable: () => undefined, refused: (_p, code) => rec.lines.push(`refused ${code}`), log: rec.log });
  t.setPeers(new Map([[2n, [url]]]));
  open.push(t);
  return t;
}

describe('the peer handshake on real sockets', () => {
  it('lets members with the same key talk, and serves their requests', async () => {
    const key = peerKeyFromSecret('a secret of at least sixteen bytes');
    const l = await listener(key);
    expect(await dialler(key, l.url).rpc(2n, 'ping', {}, 3000)).toBe('pong');
    expect(l.served).toEqual(['1:ping']);
  });

  it('serves nothing to a dialler with another key, and the dialler does not trust the listener', async () => {
    const l = await listener(peerKeyFromSecret('a secret of at least sixteen bytes'));
    const rec = recorder();
    await expect(dialler(peerKeyFromToken('cairn-cluster'), l.url, rec).rpc(2n, 'ping', {}, 1500)).rejects.toThrow(/did not answer/);
    expect(l.served).toEqual([]);
    // The listener's proof was wrong for this dialler's key: it stops there.
    expect(rec.lines).toContain('the peer could not prove it holds the peer secret: not talking to it (same --peer-secret-file / --initial-cluster-token on every member?)');
  });

  it('does not believe a listener that says ok without proving it holds the key', async () => {
    const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20, perMessageDeflate: false });
    const http: Server = createServer();
    const got: string[] = [];
    http.on('upgrade', (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (data) => {
          const f = decodePeerFrame(toBytes(data));
          got.push(f.t);
          if (f.t === 'hello') ws.send(encodePeerFrame({ t: 'ok', c: CLUSTER }));
        });
      }),
    );
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    open.push({ close: () => (wss.close(), http.close()) });
    const rec = recorder();
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    await expect(dialler(peerKeyFromToken('t'), url, rec).rpc(2n, 'secret.please', {}, 1000)).rejects.toThrow(/did not answer/);
    expect(got.filter((t) => t !== 'hello')).toEqual([]);
    expect(rec.lines).toContain('the peer said ok without proving it holds the peer secret; reconnecting');
  });

  it('refuses a proven peer that is not a member', async () => {
    const key = peerKeyFromToken('t');
    const l = await listener(key);
    const rec = recorder();
    await expect(dialler(key, l.url, rec, 7n).rpc(2n, 'ping', {}, 1500)).rejects.toThrow();
    expect(rec.lines).toContain('refused not_member');
    expect(l.served).toEqual([]);
  });

  it('answers GET /members only to a signed request, signed back', async () => {
    const key = peerKeyFromToken('t');
    const l = await listener(key);
    expect((await fetch(`${l.url}/members`)).status).toBe(401);
    expect((await fetch(`${l.url}/health`)).status).toBe(200);
    const got = await fetchMembers([l.url], {}, key, 3000);
    expect(got.members.map((m) => m.id)).toEqual([1n, 2n]);
    await expect(fetchMembers([l.url], {}, peerKeyFromToken('other'), 500)).rejects.toThrow(/refused our signature/);
  });
});
