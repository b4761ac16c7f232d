import { Backoff, CairnError, ErrorCode } from '@cairn/protocol';
import type { Message } from '@cairn/raft';
import { WebSocket, type RawData, type WsClientOptions, type WsSocket } from '../api/ws.js';
import { PEER_PROTOCOL_VERSION, PeerRefusal, decodePeerFrame, encodePeerFrame, type PeerFrame } from './frames.js';
import { dialerProof, newNonce, type PeerKey } from './peerAuth.js';
import { PeerOutbox } from './peerOutbox.js';

/** What a link needs from the transport around it. */
export interface LinkHost {
  readonly clusterId: bigint;
  readonly selfId: bigint;
  readonly tls: WsClientOptions;
  /** The peer key this member proves it holds, and checks the peer's proof with. */
  readonly key: PeerKey;
  readonly maxFrameBytes: number;
  /**
   * Messages to this peer were dropped without being written to a socket (not connected, or
   * its socket is backed up): they certainly did not arrive.
   */
  unreachable(peer: bigint, dropped: readonly Message[]): void;
  /** The peer refused us for good (we were removed, or we are of another cluster). */
  refused(peer: bigint, code: string, message: string): void;
  /** Traffic figures for metrics (absent: not counted). */
  readonly observer?: PeerTrafficObserver | undefined;
  log: { info(o: object, msg: string): void; warn(o: object, msg: string): void; error(o: object, msg: string): void; debug(o: object, msg: string): void };
}

/** What a link reports for metrics. */
export interface PeerTrafficObserver {
  /** A frame of `bytes` was written to the socket to `to`. */
  sent(to: bigint, bytes: number): void;
  /** `messages` raft messages to `to` were dropped unsent. */
  sendFailed(to: bigint, messages: number): void;
  /** A ping on the raft connection to `to` was answered after `seconds`. */
  roundTrip(to: bigint, seconds: number): void;
  /** The raft connection to `to` completed its handshake (true) or dropped after one (false). */
  connection(to: bigint, up: boolean): void;
}

/** Between round-trip probes (a WebSocket ping) on a raft connection; the first goes at once. */
const RTT_PROBE_MS = 5000;

/** Messages queued while a socket is being dialled; beyond this they are dropped (raft resends). */
const MAX_QUEUED_MESSAGES = 4096;
/** A socket holding more unsent bytes than this is too slow: drop rather than pile up. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
/** Between dials of a peer that is down: quick at first (a restart), then every ~2 s. */
const REDIAL_BACKOFF = { initialMs: 50, maxMs: 2000 } as const;

/**
 * The masking key of every frame a member sends on a socket it dialled: all zeros, which `ws`
 * takes as "send the payload as it is". RFC 6455 masks client frames so that a script in a
 * browser cannot make a proxy cache forged responses; between members there is no browser,
 * and the handshake already proved both ends hold the peer key. Masking cost a copy and an
 * XOR of every byte on both sides of each AppendEntries and each snapshot chunk.
 */
export const zeroMask = (mask: Buffer): void => {
  mask.fill(0);
};

export const toBytes = (data: RawData): Uint8Array => (Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data);

/** `http://h:p` -> `ws://h:p/<path>`. */
export function peerSocketUrl(url: string, path: string): string {
  return `${url.replace(/^http/, 'ws').replace(/\/+$/, '')}/${path}`;
}

interface PendingRpc {
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The outgoing half of the conversation with one peer: one WebSocket to its `/raft` endpoint,
 * dialled on demand, re-dialled with exponential back-off (over its peer URLs in turn) when it
 * drops. Messages are batched: everything sent in one JS turn leaves in as few frames as the
 * frame size allows. Nothing here blocks the caller: a message that cannot leave is dropped
 * and raft is told (`unreachable`), since raft retransmits what matters.
 *
 * Ownership: `ws` is the current socket (open or opening) or undefined; `ready` says the
 * handshake completed. Only `connect` creates sockets.
 */
export class PeerLink {
  private ws: WsSocket | undefined;
  private ready = false;
  private queue: Message[] = [];
  private flushScheduled = false;
  private readonly backoff = new Backoff(REDIAL_BACKOFF);
  private retryTimer: NodeJS.Timeout | undefined;
  private urlIndex = 0;
  private closed = false;
  private nextRpcId = 1;
  private readonly rpcs = new Map<number, PendingRpc>();
  private readonly waitingOpen: (() => void)[] = [];
  /** Logged once per outage, not once per attempt. */
  private reportedDown = false;
  private reportedUntrusted = false;
  private probeTimer: NodeJS.Timeout | undefined;
  /** When the ping in flight left (performance.now() ms), if one is. */
  private pingAt: number | undefined;
  private readonly outbox = new PeerOutbox((m) => {
    if (this.ready) this.write({ t: 'msgs', c: this.host.clusterId, m: [m] });
  });

  constructor(
    private readonly host: LinkHost,
    readonly peer: bigint,
    private peerUrls: readonly string[],
  ) {}

  get urls(): readonly string[] {
    return this.peerUrls;
  }

  setUrls(urls: readonly string[]): void {
    if (urls.join() === this.peerUrls.join()) return;
    this.peerUrls = urls;
    this.urlIndex = 0;
    // The peer moved: drop the old socket, the next send dials the new address.
    if (this.ws !== undefined) this.ws.terminate();
  }

  send(msgs: readonly Message[]): void {
    if (this.closed) return;
    if (!this.ready && this.retryTimer !== undefined) {
      // Backing off after a failure: nowhere to put them.
      this.host.unreachable(this.peer, msgs);
      return;
    }
    for (const m of msgs) this.queue.push(m);
    if (this.queue.length > MAX_QUEUED_MESSAGES) this.dropQueue();
    else if (this.ready) this.scheduleFlush();
    else this.connect();
  }

  private dropQueue(): void {
    const dropped = this.queue;
    this.queue = [];
    if (dropped.length > 0) this.host.unreachable(this.peer, dropped);
  }


  /** A request to the peer, answered on the same socket. */
  rpc(method: string, params: unknown, timeoutMs: number): Promise<unknown> {
    if (this.closed) return Promise.reject(new CairnError(ErrorCode.Stopped));
    return new Promise((resolve, reject) => {
      const id = this.nextRpcId++;
      const timer = setTimeout(() => {
        this.rpcs.delete(id);
        reject(new CairnError(ErrorCode.Timeout, `peer ${this.peer.toString(16)} did not answer ${method} in time`));
      }, timeoutMs);
      this.rpcs.set(id, { resolve, reject, timer });
      const go = (): void => {
        if (!this.rpcs.has(id) || this.ws === undefined || !this.ready) return;
        this.write({ t: 'rpc', c: this.host.clusterId, id, method, params });
      };
      if (this.ready) go();
      else {
        this.waitingOpen.push(go);
        if (this.retryTimer === undefined) this.connect();
      }
    });
  }

  private connect(): void {
    if (this.ws !== undefined || this.closed || this.retryTimer !== undefined) return;
    const base = this.peerUrls[this.urlIndex % Math.max(1, this.peerUrls.length)];
    if (base === undefined) return;
    const url = peerSocketUrl(base, 'raft');
    const ws = new WebSocket(url, { ...this.host.tls, maxPayload: this.host.maxFrameBytes, perMessageDeflate: false, handshakeTimeout: 2000, generateMask: zeroMask });
    this.ws = ws;
    const nonce = newNonce();
    // Set once the listener proved it holds the key: an `ok` before that is not believed.
    const proven = { value: false };
    ws.on('open', () => {
      this.write({ t: 'hello', c: this.host.clusterId, from: this.host.selfId, to: this.peer, v: PEER_PROTOCOL_VERSION, n: nonce });
    });
    ws.on('message', (data) => this.receive(ws, toBytes(data), nonce, proven));
    ws.on('pong', () => {
      if (this.ws !== ws || this.pingAt === undefined) return;
      this.host.observer?.roundTrip(this.peer, (performance.now() - this.pingAt) / 1000);
      this.pingAt = undefined;
    });
    ws.on('error', (err) => {
      if (!this.reportedDown) this.host.log.debug({ peer: this.peer.toString(16), url, err: err.message }, 'peer connection failed');
    });
    ws.on('close', () => this.dropped(ws));
  }

  private receive(ws: WsSocket, bytes: Uint8Array, nonce: Uint8Array, proven: { value: boolean }): void {
    let f: PeerFrame;
    try {
      f = decodePeerFrame(bytes);
    } catch (err) {
      this.host.log.warn({ peer: this.peer.toString(16), err: (err as Error).message }, 'bad frame from peer; reconnecting');
      ws.terminate();
      return;
    }
    if (f.c !== this.host.clusterId) {
      this.host.refused(this.peer, PeerRefusal.ClusterIdMismatch, `peer ${this.peer.toString(16)} belongs to cluster ${f.c.toString(16)}`);
      ws.terminate();
      return;
    }
    if (!this.ready && f.t !== 'challenge' && f.t !== 'ok' && f.t !== 'refused') {
      ws.terminate();
      return;
    }
    switch (f.t) {
      case 'challenge': {
        const p = dialerProof(this.host.key, '/raft', { clusterId: this.host.clusterId, from: this.host.selfId, to: this.peer, dialerNonce: nonce }, f);
        if (p === undefined) {
          // Once per outage: the link keeps retrying with back-off (the key may be fixed by a restart).
          if (this.reportedUntrusted) {
            ws.terminate();
            return;
          }
          this.reportedUntrusted = true;
          this.host.log.error({ peer: this.peer.toString(16), url: this.peerUrls[this.urlIndex % Math.max(1, this.peerUrls.length)] }, 'the peer could not prove it holds the peer secret: not talking to it (same --peer-secret-file / --initial-cluster-token on every member?)');
          ws.terminate();
          return;
        }
        proven.value = true;
        this.write({ t: 'proof', c: this.host.clusterId, p });
        return;
      }
      case 'ok': {
        if (this.ready) return;
        if (!proven.value) {
          this.host.log.warn({ peer: this.peer.toString(16) }, 'the peer said ok without proving it holds the peer secret; reconnecting');
          ws.terminate();
          return;
        }
        this.ready = true;
        this.reportedUntrusted = false;
        this.backoff.reset();
        if (this.reportedDown) this.host.log.info({ peer: this.peer.toString(16) }, 'peer connection restored');
        this.reportedDown = false;
        this.host.observer?.connection(this.peer, true);
        this.probe(ws);
        for (const go of this.waitingOpen.splice(0)) go();
        this.scheduleFlush();
        return;
      }
      case 'refused':
        this.host.refused(this.peer, f.code, f.message);
        ws.terminate();
        return;
      case 'rpcres': {
        const p = this.rpcs.get(f.id);
        if (p === undefined) return;
        this.rpcs.delete(f.id);
        clearTimeout(p.timer);
        if (f.code === undefined) p.resolve(f.result);
        else p.reject(new CairnError(f.code as ErrorCode, f.message));
        return;
      }
      case 'proof':
      case 'ack':
      case 'chunk':
      case 'done':
      case 'end':
      case 'hello':
      case 'msgs':
      case 'rpc':
        // Not sent on this socket by a well-behaved peer; ignored.
        return;
    }
  }

  /** Pings the peer now and every RTT_PROBE_MS while `ws` is the link's socket. */
  private probe(ws: WsSocket): void {
    if (this.ws !== ws || !this.ready) return;
    this.pingAt = performance.now();
    try {
      ws.ping();
    } catch {
      this.pingAt = undefined;
    }
    this.probeTimer = setTimeout(() => this.probe(ws), RTT_PROBE_MS);
    this.probeTimer.unref();
  }

  private stopProbe(): void {
    if (this.probeTimer !== undefined) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    this.pingAt = undefined;
  }

  private dropped(ws: WsSocket): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    this.outbox.reset();
    const wasReady = this.ready;
    this.ready = false;
    this.stopProbe();
    if (wasReady) this.host.observer?.connection(this.peer, false);
    this.dropQueue();
    for (const [id, p] of this.rpcs) {
      // Requests already written may or may not have been served; the caller decides.
      if (wasReady) {
        this.rpcs.delete(id);
        clearTimeout(p.timer);
        // Not `unavailable`: that promises the request was not served.
        p.reject(new CairnError(ErrorCode.Timeout, `connection to peer ${this.peer.toString(16)} lost; the request may or may not have been served`));
      }
    }
    if (this.closed) return;
    if (!this.reportedDown) {
      this.reportedDown = true;
      this.host.log.warn({ peer: this.peer.toString(16) }, 'peer unreachable; retrying with back-off');
    }
    this.urlIndex++;
    const delay = this.backoff.next();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      // Keep dialling a peer that is down: raft needs to reach it the moment it is back.
      this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const ws = this.ws;
    if (ws === undefined || !this.ready || ws.readyState !== 1 || this.queue.length === 0) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.dropQueue();
      return;
    }
    const msgs = this.queue;
    this.queue = [];
    // Frames of about a quarter of the limit: a batch of appends splits, a message never does.
    const budget = this.host.maxFrameBytes / 4;
    let batch: Message[] = [];
    let bytes = 0;
    for (const m of msgs) {
      if (!this.outbox.admit(m)) continue;
      let size = 64;
      for (const e of m.entries) size += e.data.length + 24;
      if (batch.length > 0 && bytes + size > budget) {
        this.write({ t: 'msgs', c: this.host.clusterId, m: batch });
        batch = [];
        bytes = 0;
      }
      batch.push(m);
      bytes += size;
    }
    if (batch.length > 0) this.write({ t: 'msgs', c: this.host.clusterId, m: batch });
  }

  private write(f: PeerFrame): void {
    const ws = this.ws;
    if (ws === undefined || ws.readyState !== 1) return;
    const bytes = encodePeerFrame(f);
    ws.send(bytes);
    this.host.observer?.sent(this.peer, bytes.length);
  }

  close(): void {
    this.closed = true;
    this.stopProbe();
    if (this.ready) this.host.observer?.connection(this.peer, false);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.outbox.reset();
    for (const p of this.rpcs.values()) {
      clearTimeout(p.timer);
      p.reject(new CairnError(ErrorCode.Stopped));
    }
    this.rpcs.clear();
    this.ws?.terminate();
    this.ws = undefined;
  }
}
