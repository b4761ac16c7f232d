import { CairnError, ErrorCode, type Member as MemberInfo } from '@cairn/protocol';
import type { Message } from '@cairn/raft';
import type { Membership } from '../apply/membership.js';
import type { Clock } from '../clock.js';
import { checkInbound } from '../raftNode/inbound.js';
import type { RaftDriver, DriverLog } from '../raftNode/driver.js';
import type { PeerServerHost } from '../transport/peerServer.js';
import type { SnapshotReceiver } from '../transport/snapshotStream.js';

/** What the peer side needs from the member around it. */
export interface PeerSideHost {
  readonly clusterId: bigint;
  readonly memberId: bigint;
  readonly clock: Clock;
  readonly driver: Pick<RaftDriver, 'node' | 'step' | 'receiveSnapshot'>;
  /** Peers to accept before the members table knows them (see MemberOptions.peerHints). */
  readonly peerHints: ReadonlyMap<bigint, readonly string[]> | undefined;
  /** The members table now. */
  membership(): Pick<Membership, 'get' | 'list' | 'isRemoved'>;
  /** The members as the API lists them. */
  members(): MemberInfo[];
  /** A peer's request, served by the member (hashes, forwarded leases and admin requests). */
  rpc(from: bigint, method: string, params: unknown): Promise<unknown>;
  /** A raft message from a peer was refused (`safetyViolation`, `unreadableEntry`). */
  refused?(reason: string): void;
  readonly log: DriverLog;
}

/**
 * What this member serves to its peers (transport/peerServer.ts calls it once a peer proved
 * who it is): their raft messages, checked before raft sees them, their requests, snapshots
 * from the leader, and the cluster as this member knows it. It also remembers when each peer
 * was last heard from (the admin checks count active members with it).
 */
export class PeerSide implements Omit<PeerServerHost, 'key' | 'selfId'> {
  /** When each peer was last heard from (`clock.monotonic()` ms). */
  readonly lastHeard = new Map<bigint, number>();

  constructor(private readonly host: PeerSideHost) {}

  get clusterId(): bigint {
    return this.host.clusterId;
  }

  clusterMembers(): { clusterId: bigint; members: MemberInfo[] } {
    return { clusterId: this.host.clusterId, members: this.host.members() };
  }

  isRemoved(id: bigint): boolean {
    return this.host.membership().isRemoved(id);
  }

  /**
   * Whether `id` is a member (voter or learner) as this member knows it. A member that joined
   * and has not yet received its first snapshot knows the cluster from the hints it was given.
   */
  isMember(id: bigint): boolean {
    const ms = this.host.membership();
    if (ms.get(id) !== undefined) return true;
    return ms.list().length === 0 && this.host.peerHints?.has(id) === true;
  }

  /** Raft messages from an authenticated member, checked (raftNode/inbound.ts) before raft sees them. */
  messages(from: bigint, msgs: readonly Message[]): void {
    const h = this.host;
    this.lastHeard.set(from, h.clock.monotonic());
    const r = h.driver.node.raft;
    const { accepted, refused } = checkInbound(msgs, {
      self: h.memberId,
      term: r.term,
      lead: r.lead,
      committed: r.log.committed,
      termAt: (i) => r.log.term(i),
    });
    for (const x of refused) {
      const fields = { peer: from.toString(16), type: x.message.type, term: x.message.term, index: x.message.index, why: x.why };
      h.refused?.(x.kind === 'safety' ? 'safetyViolation' : 'unreadableEntry');
      const error = (h.log.error ?? h.log.warn).bind(h.log);
      if (x.kind === 'safety') error(fields, 'safety violation: refused a raft message');
      else error(fields, 'refused a raft message carrying an entry this member cannot apply');
    }
    if (accepted.length > 0) h.driver.step(accepted);
  }

  rpc(from: bigint, method: string, params: unknown): Promise<unknown> {
    return this.host.rpc(from, method, params);
  }

  /** A snapshot is taken only from the leader of this member's current term. */
  snapshot(from: bigint, term: number): SnapshotReceiver {
    const r = this.host.driver.node.raft;
    if (term !== r.term || r.lead !== from) {
      throw new CairnError(
        ErrorCode.NotLeader,
        `snapshot from ${from.toString(16)} at term ${term} refused: this member is at term ${r.term} led by ${r.lead === 0n ? 'nobody' : r.lead.toString(16)}`,
      );
    }
    return this.host.driver.receiveSnapshot(from, term);
  }
}
