import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { CairnError, ErrorCode, toCairnError, type Member } from '@cairn/protocol';
import type { Message } from '@cairn/raft';
import type { Logger } from 'pino';
import { WebSocketServer, type WsSocket } from '../api/ws.js';
import { PEER_PROTOCOL_VERSION, PeerRefusal, decodePeerFrame, encodePeerFrame, type PeerFrame } from './frames.js';
import { toBytes } from './peerLink.js';
import type { SnapshotReceiver } from './snapshotStream.js';
import { handshakeProof, newNonce, proofMatches, type PeerKey } from './peerAuth.js';
import { RefusalLog, type PeerRefusalKind } from './peerRefusals.js';
import { MembersEndpoint } from './peerMembersEndpoint.js';

export { PEER_REFUSAL_TEXT, type PeerRefusalKind } from './peerRefusals.js';

/** What the peer endpoint needs from the member. */
export interface PeerServerHost {
  readonly clusterId: bigint;
  readonly selfId: bigint;
  /** The key every member's handshake proves it holds (peerAuth.ts). */
  readonly key: PeerKey;
  /** Whether `id` was removed from the cluster (its frames are refused, and it is told so). */
  isRemoved(id: bigint): boolean;
  /** Whether `id` is a member now (a voter or learner this member knows of). */
  isMember(id: bigint): boolean;
  /** Raft messages from peer `from` (already checked to be for this member, from a member). */
  messages(from: bigint, msgs: readonly Message[]): void;
  /** A peer's request (lease renewals forwarded to the leader ...). */
  rpc(from: bigint, method: string, params: unknown): Promise<unknown>;
  /** A leader wants to send a snapshot; throw a CairnError to refuse. */
  snapshot(from: bigint, term: number): SnapshotReceiver;
  /** For GET /members: the cluster as this member knows it (a joining member asks). */
  clusterMembers(): { clusterId: bigint; members: readonly Member[] };
}

/** A socket that has not finished the handshake in this long is closed. */
const HANDSHAKE_TIMEOUT_MS = 5000;
/** Sockets still in the handshake at once; more are refused (an outsider cannot pile them up). */
const MAX_HANDSHAKING_SOCKETS = 256;
/** How often authenticated sockets are checked against the membership. */
const MEMBERSHIP_SWEEP_MS = 1000;

/**
 * The peer endpoint on every listen-peer-url:
 *   WebSocket /raft      raft messages and RPCs from one peer (see frames.ts)
 *   WebSocket /snapshot  one snapshot transfer from the leader
 *   GET /members         the member list with the cluster id, as JSON (ids in hex); the request
 *                        and the answer are signed with the peer key (peerMembersEndpoint.ts)
 *   GET /health          200 while this member runs; the only thing answered without proof
 *
 * A socket proves it belongs to a member (peerAuth.ts) before any raft message, snapshot chunk
 * or RPC is read; after that every frame is checked against the membership. A bad frame closes
 * that socket, never the member. Every refusal is logged (rate-limited per address and reason).
 */
export class PeerServer {
  private readonly wss: InstanceType<typeof WebSocketServer>;
  private readonly sockets = new Set<WsSocket>();
  /** Authenticated raft and snapshot sockets by peer id, to cut when the peer is removed. */
  private readonly byPeer = new Map<bigint, Set<WsSocket>>();
  private handshaking = 0;
  /** A cluster-id mismatch is logged once per peer, not on every retry. */
  private readonly warned = new Set<string>();
  private readonly refusals: RefusalLog;
  private readonly members: MembersEndpoint;

  constructor(
    private readonly host: PeerServerHost,
    private readonly log: Logger,
    maxFrameBytes: number,
    /** Counts refusals by kind (the `cairn_peer_refused_total` metric). */
    onRefused?: (kind: PeerRefusalKind) => void,
    /** Bytes of each frame an authenticated peer sent on its raft socket (etcd_network_peer_received_bytes_total). */
    private readonly onReceived?: (from: bigint, bytes: number) => void,
  ) {
    this.refusals = new RefusalLog(log, onRefused);
    this.members = new MembersEndpoint(host, this.refusals);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: maxFrameBytes, perMessageDeflate: false });
    this.sweeper = setInterval(() => this.sweep(), MEMBERSHIP_SWEEP_MS);
    this.sweeper.unref();
  }

  private readonly sweeper: NodeJS.Timeout;

  /**
   * Cuts the sockets of peers that stopped being members, telling a removed one so: it stops
   * within a sweep even if it sends nothing (a learner, or a member whose sockets were open
   * before its removal and that has nothing to say).
   */
  private sweep(): void {
    for (const id of [...this.byPeer.keys()]) {
      if (this.host.isMember(id)) continue;
      const removed = this.host.isRemoved(id);
      this.log.warn({ peer: id.toString(16), removed }, 'closing the sockets of a peer that is no longer a member');
      this.dropPeer(id, removed ? PeerRefusal.Removed : PeerRefusal.NotMember, removed ? 'the member has been permanently removed from the cluster' : 'not a member of this cluster');
    }
  }

  attach(server: HttpServer | HttpsServer): void {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.members.serve(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/raft' && path !== '/snapshot') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      if (this.handshaking >= MAX_HANDSHAKING_SOCKETS) {
        this.refusal('tooManyHandshakes', req.socket.remoteAddress, {});
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
        return;
      }
      const address = req.socket.remoteAddress ?? '?';
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.sockets.add(ws);
        ws.on('close', () => this.sockets.delete(ws));
        ws.on('error', (err) => this.log.debug({ err: err.message }, 'peer socket error'));
        if (path === '/raft') this.raftSocket(ws, address);
        else this.snapshotSocket(ws, address);
      });
    });
  }

  private refusal(kind: PeerRefusalKind, address: string | undefined, fields: Record<string, unknown>): void {
    this.refusals.refused(kind, address, fields);
  }

  /** Closes every socket of a peer that is no longer a member, telling it why. */
  dropPeer(id: bigint, code: string, message: string): void {
    const set = this.byPeer.get(id);
    if (set === undefined) return;
    this.byPeer.delete(id);
    for (const ws of set) {
      if (ws.readyState === 1) ws.send(encodePeerFrame({ t: 'refused', c: this.host.clusterId, code, message }));
      ws.close(1008, code);
    }
  }

  /**
   * Runs the listener's side of the handshake on a new socket and calls `accepted` with the
   * proven peer and its hello once it passed (every frame before that is the handshake's).
   * `admit` makes the last checks (a refusal code and message, or undefined to accept).
   */
  private handshake(
    ws: WsSocket,
    path: '/raft' | '/snapshot',
    address: string,
    admit: (hello: PeerFrame & { t: 'hello' }) => { code: string; message: string } | undefined,
    accepted: (from: bigint, hello: PeerFrame & { t: 'hello' }) => void,
  ): (f: PeerFrame) => boolean {
    const c = this.host.clusterId;
    let hello: (PeerFrame & { t: 'hello' }) | undefined;
    let listenerNonce: Uint8Array | undefined;
    let done = false;
    this.handshaking++;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.handshaking--;
    };
    const timer = setTimeout(() => {
      this.refusal('handshakeTimeout', address, { path });
      finish();
      ws.terminate();
    }, HANDSHAKE_TIMEOUT_MS);
    ws.on('close', finish);
    const refuse = (code: string, message: string): void => {
      finish();
      ws.send(encodePeerFrame({ t: 'refused', c, code, message }));
      ws.close(1008, code);
    };
    // Returns true while the frame was the handshake's.
    return (f: PeerFrame): boolean => {
      if (done) return false;
      if (hello === undefined) {
        if (f.t !== 'hello') {
          this.refusal('beforeHandshake', address, { path, frame: f.t });
          refuse(PeerRefusal.Unauthenticated, 'expected hello');
          return true;
        }
        if (f.c !== c) {
          const k = `${f.from}/${f.c}`;
          if (!this.warned.has(k)) {
            this.warned.add(k);
            this.log.error(
              { peer: f.from.toString(16), theirCluster: f.c.toString(16), ourCluster: c.toString(16), address },
              'refusing a peer of another cluster (was it started with a different --initial-cluster-token?)',
            );
          }
          refuse(PeerRefusal.ClusterIdMismatch, `this member belongs to cluster ${c.toString(16)}, not ${f.c.toString(16)}`);
          return true;
        }
        if (f.v !== PEER_PROTOCOL_VERSION) {
          refuse(PeerRefusal.UnsupportedVersion, `peer protocol ${f.v} is not ${PEER_PROTOCOL_VERSION}`);
          return true;
        }
        if (f.to !== this.host.selfId) {
          refuse(PeerRefusal.WrongMember, `this is member ${this.host.selfId.toString(16)}, not ${f.to.toString(16)}`);
          return true;
        }
        hello = f;
        listenerNonce = newNonce();
        const claims = { path, clusterId: c, from: f.from, to: f.to, dialerNonce: f.n, listenerNonce };
        ws.send(encodePeerFrame({ t: 'challenge', c, n: listenerNonce, p: handshakeProof(this.host.key, 'listener', claims) }));
        return true;
      }
      const h = hello;
      if (f.t !== 'proof' || listenerNonce === undefined) {
        this.refusal('beforeHandshake', address, { path, frame: f.t, claimed: h.from.toString(16) });
        refuse(PeerRefusal.Unauthenticated, 'expected proof');
        return true;
      }
      const expected = handshakeProof(this.host.key, 'dialer', { path, clusterId: c, from: h.from, to: h.to, dialerNonce: h.n, listenerNonce });
      if (!proofMatches(expected, f.p)) {
        this.refusal('badProof', address, { path, claimed: h.from.toString(16) });
        refuse(PeerRefusal.Unauthenticated, 'the handshake proof does not match: is this member started with the same peer secret (--peer-secret-file, or the same --initial-cluster-token)?');
        return true;
      }
      if (this.host.isRemoved(h.from)) {
        this.log.warn({ peer: h.from.toString(16), address }, 'refusing a removed member');
        refuse(PeerRefusal.Removed, 'the member has been permanently removed from the cluster');
        return true;
      }
      if (!this.host.isMember(h.from)) {
        this.refusal('notMember', address, { path, claimed: h.from.toString(16) });
        refuse(PeerRefusal.NotMember, `${h.from.toString(16)} is not a member of cluster ${c.toString(16)} (as member ${this.host.selfId.toString(16)} knows it)`);
        return true;
      }
      const no = admit(h);
      if (no !== undefined) {
        refuse(no.code, no.message);
        return true;
      }
      finish();
      let set = this.byPeer.get(h.from);
      if (set === undefined) this.byPeer.set(h.from, (set = new Set()));
      set.add(ws);
      ws.on('close', () => {
        set.delete(ws);
        if (set.size === 0 && this.byPeer.get(h.from) === set) this.byPeer.delete(h.from);
      });
      ws.send(encodePeerFrame({ t: 'ok', c }));
      accepted(h.from, h);
      return true;
    };
  }

  private decode(ws: WsSocket, bytes: Uint8Array, address: string): PeerFrame | undefined {
    try {
      const f = decodePeerFrame(bytes);
      if (f.c !== this.host.clusterId && f.t !== 'hello') throw new CairnError(ErrorCode.ClusterIdMismatch);
      return f;
    } catch (err) {
      this.refusal('malformed', address, { err: (err as Error).message });
      ws.terminate();
      return undefined;
    }
  }

  /** A frame from an authenticated peer that is no longer a member: tell it, close, log. */
  private stillMember(ws: WsSocket, peer: bigint, address: string, what: string): boolean {
    if (this.host.isMember(peer)) return true;
    const removed = this.host.isRemoved(peer);
    this.refusal('formerMember', address, { peer: peer.toString(16), removed, what });
    const code = removed ? PeerRefusal.Removed : PeerRefusal.NotMember;
    ws.send(encodePeerFrame({ t: 'refused', c: this.host.clusterId, code, message: removed ? 'the member has been permanently removed from the cluster' : 'not a member of this cluster' }));
    ws.close(1008, code);
    return false;
  }

  private raftSocket(ws: WsSocket, address: string): void {
    let from: bigint | undefined;
    const handshake = this.handshake(ws, '/raft', address, () => undefined, (peer) => (from = peer));
    ws.on('message', (data) => {
      const bytes = toBytes(data);
      const f = this.decode(ws, bytes, address);
      if (f === undefined) return;
      if (from === undefined) {
        handshake(f);
        return;
      }
      const peer = from;
      this.onReceived?.(peer, bytes.length);
      if (f.t === 'msgs') {
        if (!this.stillMember(ws, peer, address, 'raft messages')) return;
        const self = this.host.selfId;
        // Only messages from the proven peer to this member; anything else is dropped.
        const mine = f.m.filter((m) => m.to === self && m.from === peer);
        if (mine.length < f.m.length) this.refusal('wrongSender', address, { peer: peer.toString(16), dropped: f.m.length - mine.length });
        if (mine.length > 0) this.host.messages(peer, mine);
      } else if (f.t === 'rpc') {
        if (!this.stillMember(ws, peer, address, `peer request ${f.method}`)) return;
        const c = this.host.clusterId;
        this.host.rpc(peer, f.method, f.params).then(
          (result) => ws.readyState === 1 && ws.send(encodePeerFrame({ t: 'rpcres', c, id: f.id, result })),
          (err: unknown) => {
            const e = toCairnError(err);
            if (ws.readyState === 1) ws.send(encodePeerFrame({ t: 'rpcres', c, id: f.id, code: e.code, message: e.message }));
          },
        );
      }
    });
  }

  private snapshotSocket(ws: WsSocket, address: string): void {
    let receiver: SnapshotReceiver | undefined;
    let accepted = false;
    let failed = false;
    // Chunks are staged one after another, in order.
    let chain: Promise<void> = Promise.resolve();
    const c = this.host.clusterId;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      receiver?.abort();
      const e = toCairnError(err);
      this.log.warn({ err: e.message, address }, 'snapshot transfer failed');
      if (ws.readyState === 1) ws.send(encodePeerFrame({ t: 'refused', c, code: e.code, message: e.message }));
      ws.close(1011);
    };
    ws.on('close', () => {
      if (!failed && receiver !== undefined) {
        failed = true;
        receiver.abort();
      }
    });
    const handshake = this.handshake(
      ws,
      '/snapshot',
      address,
      (hello) => {
        if (hello.term === undefined) return { code: ErrorCode.InvalidArgument, message: 'a snapshot hello carries the leader term' };
        // The receiver is made (and may refuse: not the leader of the current term) before ok.
        try {
          receiver = this.host.snapshot(hello.from, hello.term);
        } catch (err) {
          const e = toCairnError(err);
          this.refusal('snapshot', address, { peer: hello.from.toString(16), term: hello.term, why: e.message });
          return { code: e.code, message: e.message };
        }
        return undefined;
      },
      () => (accepted = true),
    );
    ws.on('message', (data) => {
      const f = this.decode(ws, toBytes(data), address);
      if (f === undefined || failed) return;
      if (!accepted) {
        handshake(f);
        return;
      }
      const r = receiver;
      if (r === undefined) return;
      if (f.t === 'chunk') {
        chain = chain.then(async () => {
          await r.chunk(f.rows);
          if (ws.readyState === 1) ws.send(encodePeerFrame({ t: 'ack', c, seq: f.seq }));
        });
        chain.catch(fail);
      } else if (f.t === 'end') {
        chain = chain.then(async () => {
          await r.end(f.rows);
          receiver = undefined;
          if (ws.readyState === 1) ws.send(encodePeerFrame({ t: 'done', c }));
        });
        chain.catch(fail);
      }
    });
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    this.wss.close();
  }
}
