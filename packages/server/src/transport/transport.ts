import type { Message } from '@cairn/raft';
import type { WsClientOptions } from '../api/ws.js';
import { PeerLink, type LinkHost, type PeerTrafficObserver } from './peerLink.js';
import { sendSnapshot } from './snapshotStream.js';
import type { PeerKey } from './peerAuth.js';

/**
 * How a member reaches its peers: the contract the raft driver is written against. The
 * production implementation is `PeerTransport` (WebSockets); tests may wire members of one
 * process directly. Every method returns at once: delivery is best effort, and raft copes
 * with loss (it is told through `unreachable`).
 */
export interface RaftTransport {
  /** Sends each message to `m.to`; what cannot leave is reported through the hooks. */
  send(msgs: readonly Message[]): void;
  /** A request to one peer (lease renewals at the leader ...). */
  rpc(to: bigint, method: string, params: unknown, timeoutMs: number): Promise<unknown>;
  /** Streams a snapshot to `to` (see snapshotStream.ts); resolves once the peer took it. */
  sendSnapshot(to: bigint, term: number, next: () => Uint8Array[] | undefined): Promise<{ rows: number }>;
  /** The current peers and their peer URLs (this member excluded). */
  setPeers(peers: ReadonlyMap<bigint, readonly string[]>): void;
  close(): void;
}

export interface PeerTransportOptions {
  readonly clusterId: bigint;
  readonly selfId: bigint;
  /** Client-side TLS for peer connections (CA to trust, certificate to present). */
  readonly tls?: WsClientOptions;
  /** The cluster's peer key (peerAuth.ts). */
  readonly key: PeerKey;
  readonly maxFrameBytes: number;
  readonly unreachable: (peer: bigint, dropped: readonly Message[]) => void;
  readonly refused: (peer: bigint, code: string, message: string) => void;
  readonly log: LinkHost['log'];
  /** Traffic figures for metrics. */
  readonly observer?: PeerTrafficObserver;
}

/** The production RaftTransport: one PeerLink per peer. */
export class PeerTransport implements RaftTransport {
  private readonly links = new Map<bigint, PeerLink>();
  private readonly host: LinkHost;

  constructor(private readonly o: PeerTransportOptions) {
    this.host = {
      clusterId: o.clusterId,
      selfId: o.selfId,
      tls: o.tls ?? {},
      key: o.key,
      maxFrameBytes: o.maxFrameBytes,
      unreachable: (peer, dropped) => {
        o.observer?.sendFailed(peer, dropped.length);
        o.unreachable(peer, dropped);
      },
      refused: o.refused,
      log: o.log,
      observer: o.observer,
    };
  }

  setPeers(peers: ReadonlyMap<bigint, readonly string[]>): void {
    for (const [id, link] of this.links) {
      if (!peers.has(id)) {
        link.close();
        this.links.delete(id);
      }
    }
    for (const [id, urls] of peers) {
      if (id === this.o.selfId) continue;
      const link = this.links.get(id);
      if (link === undefined) this.links.set(id, new PeerLink(this.host, id, urls));
      else link.setUrls(urls);
    }
  }

  send(msgs: readonly Message[]): void {
    // Grouped by destination, keeping each peer's order.
    const byPeer = new Map<bigint, Message[]>();
    for (const m of msgs) {
      let list = byPeer.get(m.to);
      if (list === undefined) byPeer.set(m.to, (list = []));
      list.push(m);
    }
    for (const [to, list] of byPeer) {
      const link = this.links.get(to);
      if (link === undefined) this.host.unreachable(to, list);
      else link.send(list);
    }
  }

  rpc(to: bigint, method: string, params: unknown, timeoutMs: number): Promise<unknown> {
    const link = this.links.get(to);
    if (link === undefined) return Promise.reject(new Error(`no peer ${to.toString(16)}`));
    return link.rpc(method, params, timeoutMs);
  }

  sendSnapshot(to: bigint, term: number, next: () => Uint8Array[] | undefined): Promise<{ rows: number }> {
    const url = this.links.get(to)?.urls[0];
    if (url === undefined) return Promise.reject(new Error(`no peer ${to.toString(16)}`));
    return sendSnapshot({ url, tls: this.host.tls, key: this.o.key, clusterId: this.o.clusterId, from: this.o.selfId, to, term, maxFrameBytes: this.o.maxFrameBytes, next });
  }

  close(): void {
    for (const l of this.links.values()) l.close();
    this.links.clear();
  }
}
