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

/** What the peer endpoint needs from the member. */
export interface PeerServerHost {
  readonly clusterId: bigint;
  readonly selfId: bigint;
  /** Whether `id` was removed from the cluster (its frames are refused, and it is told so). */
  isRemoved(id: bigint): boolean;
  /** Raft messages from peer `from` (already checked to be for this member). */
  messages(from: bigint, msgs: readonly Message[]): void;
  /** A peer's request (lease renewals forwarded to the leader ...). */
  rpc(from: bigint, method: string, params: unknown): Promise<unknown>;
  /** A leader wants to send a snapshot; throw a CairnError to refuse. */
  snapshot(from: bigint, term: number): SnapshotReceiver;
  /** For GET /members: the cluster as this member knows it (a joining member asks). */
  clusterMembers(): { clusterId: bigint; members: readonly Member[] };
}

/**
 * The peer endpoint on every listen-peer-url:
 *   WebSocket /raft      raft messages and RPCs from one peer (see frames.ts)
 *   WebSocket /snapshot  one snapshot transfer from the leader
 *   GET /members         the member list with the cluster id, as JSON (ids in hex)
 *   GET /health          200 while this member runs
 *
 * A peer's frames are trusted no further than their checked shape: a bad frame closes that
 * socket, never the member.
 */
export class PeerServer {
  private readonly wss: InstanceType<typeof WebSocketServer>;
  private readonly sockets = new Set<WsSocket>();
  /** A cluster-id mismatch is logged once per peer, not on every retry. */
  private readonly warned = new Set<string>();

  constructor(
    private readonly host: PeerServerHost,
    private readonly log: Logger,
    maxFrameBytes: number,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: maxFrameBytes, perMessageDeflate: false });
  }

  attach(server: HttpServer | HttpsServer): void {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.http(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/raft' && path !== '/snapshot') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.sockets.add(ws);
        ws.on('close', () => this.sockets.delete(ws));
        ws.on('error', (err) => this.log.debug({ err: err.message }, 'peer socket error'));
        if (path === '/raft') this.raftSocket(ws);
        else this.snapshotSocket(ws);
      });
    });
  }

  private http(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method !== 'GET') return json(405, { message: 'method not allowed' });
    if (path === '/health') return json(200, { health: 'true' });
    if (path === '/members') {
      const { clusterId, members } = this.host.clusterMembers();
      return json(200, {
        clusterId: clusterId.toString(16),
        members: members.map((m) => ({ id: m.id.toString(16), name: m.name, peerUrls: m.peerUrls, clientUrls: m.clientUrls, isLearner: m.isLearner })),
      });
    }
    json(404, { message: 'not found' });
  }

  /** Checks a hello; answers `ok` or a refusal (and closes). Returns the peer's id if accepted. */
  private greet(ws: WsSocket, f: PeerFrame): bigint | undefined {
    const c = this.host.clusterId;
    const refuse = (code: string, message: string): undefined => {
      ws.send(encodePeerFrame({ t: 'refused', c, code, message }));
      ws.close(1008, code);
      return undefined;
    };
    if (f.t !== 'hello') return refuse(ErrorCode.InvalidArgument, 'expected hello');
    if (f.c !== c) {
      const k = `${f.from}/${f.c}`;
      if (!this.warned.has(k)) {
        this.warned.add(k);
        this.log.error(
          { peer: f.from.toString(16), theirCluster: f.c.toString(16), ourCluster: c.toString(16) },
          'refusing a peer of another cluster (was it started with a different --initial-cluster-token?)',
        );
      }
      return refuse(PeerRefusal.ClusterIdMismatch, `this member belongs to cluster ${c.toString(16)}, not ${f.c.toString(16)}`);
    }
    if (f.v !== PEER_PROTOCOL_VERSION) return refuse(PeerRefusal.UnsupportedVersion, `peer protocol ${f.v} is not ${PEER_PROTOCOL_VERSION}`);
    if (f.to !== this.host.selfId) return refuse(PeerRefusal.WrongMember, `this is member ${this.host.selfId.toString(16)}, not ${f.to.toString(16)}`);
    if (this.host.isRemoved(f.from)) {
      this.log.warn({ peer: f.from.toString(16) }, 'refusing a removed member');
      return refuse(PeerRefusal.Removed, 'the member has been permanently removed from the cluster');
    }
    ws.send(encodePeerFrame({ t: 'ok', c }));
    return f.from;
  }

  private decode(ws: WsSocket, bytes: Uint8Array): PeerFrame | undefined {
    try {
      const f = decodePeerFrame(bytes);
      if (f.c !== this.host.clusterId && f.t !== 'hello') throw new CairnError(ErrorCode.ClusterIdMismatch);
      return f;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'closing a peer socket after a bad frame');
      ws.terminate();
      return undefined;
    }
  }

  private raftSocket(ws: WsSocket): void {
    let from: bigint | undefined;
    ws.on('message', (data) => {
      const f = this.decode(ws, toBytes(data));
      if (f === undefined) return;
      if (from === undefined) {
        from = this.greet(ws, f);
        return;
      }
      const peer = from;
      if (f.t === 'msgs') {
        const self = this.host.selfId;
        // Only messages from the greeted peer to this member; anything else is dropped.
        const mine = f.m.filter((m) => m.to === self && m.from === peer);
        if (mine.length > 0) this.host.messages(peer, mine);
      } else if (f.t === 'rpc') {
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

  private snapshotSocket(ws: WsSocket): void {
    let receiver: SnapshotReceiver | undefined;
    let greeted = false;
    let failed = false;
    // Chunks are staged one after another, in order.
    let chain: Promise<void> = Promise.resolve();
    const c = this.host.clusterId;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      receiver?.abort();
      const e = toCairnError(err);
      this.log.warn({ err: e.message }, 'snapshot transfer failed');
      if (ws.readyState === 1) ws.send(encodePeerFrame({ t: 'refused', c, code: e.code, message: e.message }));
      ws.close(1011);
    };
    ws.on('close', () => {
      if (!failed && receiver !== undefined) {
        failed = true;
        receiver.abort();
      }
    });
    ws.on('message', (data) => {
      const f = this.decode(ws, toBytes(data));
      if (f === undefined || failed) return;
      if (!greeted) {
        greeted = true;
        if (f.t !== 'hello' || f.term === undefined) return fail(new CairnError(ErrorCode.InvalidArgument, 'expected a snapshot hello'));
        // greet() answers ok only after every check; the receiver is made before that.
        try {
          if (f.c === c && f.to === this.host.selfId) receiver = this.host.snapshot(f.from, f.term);
        } catch (err) {
          return fail(err);
        }
        if (this.greet(ws, f) === undefined) receiver?.abort();
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
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    this.wss.close();
  }
}
