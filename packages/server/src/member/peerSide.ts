import { CairnError, ErrorCode, validate, type Member as MemberInfo } from '@cairn/protocol';
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
  /** Sends a request to a peer (the transport's rpc). */
  ask(to: bigint, method: string, params: unknown, timeoutMs: number): Promise<unknown>;
  /** A raft message from a peer was refused (`safetyViolation`, `unreadableEntry`). */
  refused?(reason: string): void;
  readonly log: DriverLog;
}

/** The peer method that asks whether a member id is in the answering member's members table. */
export const PEER_VOUCH_METHOD = 'members.vouch';
/** How often one unknown id is asked about, how long an answer may take, and how many ids are remembered. */
const VOUCH_RETRY_MS = 2000;
const VOUCH_TIMEOUT_MS = 2000;
const MAX_VOUCH_IDS = 64;

/**
 * What this member serves to its peers (transport/peerServer.ts calls it once a peer proved
 * who it is): their raft messages, checked before raft sees them, their requests, snapshots
 * from the leader, and the cluster as this member knows it. It also remembers when each peer
 * was last heard from (the admin checks count active members with it).
 */
export class PeerSide implements Omit<PeerServerHost, 'key' | 'selfId'> {
  /** When each peer was last heard from (`clock.monotonic()` ms). */
  readonly lastHeard = new Map<bigint, number>();
  /** Members this member's table does not list yet, vouched for by a member it lists (see isMember). */
  private readonly vouched = new Set<bigint>();
  /** Unknown ids asked about, and when (`clock.monotonic()` ms). */
  private readonly asked = new Map<bigint, number>();

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
    if (ms.list().length === 0) return this.host.peerHints?.has(id) === true;
    if (ms.isRemoved(id)) return false;
    if (this.vouched.has(id)) return true;
    this.askAbout(id);
    return false;
  }

  /**
   * An unknown peer proved it holds the peer secret: it may be a member that joined after the
   * state this member applied (a member that was down, or a learner that is behind). If such
   * a member leads, this member would refuse its appends and never catch up. So ask the
   * members this member knows whether their tables list it; once one does, it is accepted
   * (until it is removed). Each id at most every VOUCH_RETRY_MS, and a stranger is only ever
   * refused.
   */
  private askAbout(id: bigint): void {
    const h = this.host;
    const now = h.clock.monotonic();
    const last = this.asked.get(id);
    if (last !== undefined && now - last < VOUCH_RETRY_MS) return;
    if (this.asked.size >= MAX_VOUCH_IDS) this.asked.clear();
    this.asked.set(id, now);
    for (const m of h.membership().list()) {
      if (m.id === h.memberId) continue;
      h.ask(m.id, PEER_VOUCH_METHOD, { id }, VOUCH_TIMEOUT_MS).then(
        (yes) => {
          if (yes !== true || this.vouched.has(id) || h.membership().isRemoved(id)) return;
          if (this.vouched.size >= MAX_VOUCH_IDS) this.vouched.clear();
          this.vouched.add(id);
          h.log.info({ peer: id.toString(16), vouchedBy: m.id.toString(16) }, 'accepting a member this member does not know yet (its members table is behind)');
        },
        () => undefined,
      );
    }
  }

  /** Answers PEER_VOUCH_METHOD: whether this member's table lists the id. */
  vouch(params: unknown): boolean {
    return this.host.membership().get(validate.memberIdRequest(params, 'params').id) !== undefined;
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
