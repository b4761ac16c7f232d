import {
  CairnError,
  ErrorCode,
  toCairnError,
  type LeaseGrantRequest,
  type LeaseGrantResponse,
  type LeaseId,
  type LeaseLeasesResponse,
  type LeaseRevokeResponse,
  type LeaseTimeToLiveRequest,
  type LeaseTimeToLiveResponse,
  type HashKvResponse,
  type Member as MemberInfo,
  type MemberListResponse,
  type RangeRequest,
  type RangeResponse,
  type ResponseHeader,
  type StatusResponse,
} from '@cairn/protocol';
import { ProposalDroppedError, decodeConfChange, type ConfChange, type ConfState, type Entry, type Message, type SoftState } from '@cairn/raft';
import { Applier, type ApplyOutcome } from './apply/applier.js';
import { checkWriteRequest } from './apply/checks.js';
import {
  decodeConfContext,
  decodeProposal,
  encodeConfContext,
  encodeProposal,
  encodeWriteRequest,
  type ProposalAuth,
  type ResponseFor,
  type WriteRequest,
} from './apply/requests.js';
import type { MemberRecord } from './apply/membership.js';
import { rangeResponse } from './apply/responses.js';
import type { ChangeListener, RevisionEvents, StoreOptions } from './mvcc/store.js';
import type { Backend } from './storage/backend.js';
import { dbSizes, type DbSizes } from './storage/dbSize.js';
import { removedOps, type Identity } from './identity.js';
import { systemClock, systemScheduler, type Clock, type Scheduler } from './clock.js';
import { LeasePrimary } from './lease/primary.js';
import { MAX_LEASE_TTL_SECONDS } from './lease/lessor.js';
import { RaftDriver, type DriverLog } from './raftNode/driver.js';
import type { RaftTransport } from './transport/transport.js';
import type { SnapshotReceiver } from './transport/snapshotStream.js';
import { PeerRefusal } from './transport/frames.js';
import { ClusterAdmin } from './raftNode/admin.js';
import { PeerRpc } from './raftNode/peerRpc.js';
import { checkInbound } from './raftNode/inbound.js';
import { CorruptChecker, PEER_HASHKV_METHOD, PEER_HASH_WAIT_MS } from './integrity/corruptCheck.js';
import { HashService, peerHashResponse } from './integrity/hashService.js';

export const SERVER_VERSION = '0.1.0';
export const CLUSTER_VERSION = '0.1.0';

/**
 * The one write path. A proposal is acknowledged (its promise resolves) only once its entry is
 * committed (on a majority of members' disks) and applied here; it rejects with a CairnError
 * for an expected failure.
 */
export interface Proposer {
  /** `auth`: who the API authorized the request for (the applier re-checks it if auth changed). */
  propose<R extends WriteRequest>(req: R, auth?: ProposalAuth): Promise<ResponseFor<R>>;
}

/** Observations for metrics; every hook optional. */
export interface MemberObserver {
  /** Seconds spent applying one entry. */
  applied?(seconds: number): void;
  /** Seconds one batch write (with fsync) took, and how many entries it carried. */
  committed?(seconds: number, entries: number): void;
  /** Seconds one hashKv took (it reads the whole history up to its revision). */
  hashed?(seconds: number): void;
  /** A raft message from a peer was refused (`safetyViolation`, `unreadableEntry`). */
  peerRefused?(reason: string): void;
}

/** What the member tells the transport layer (the hooks a RaftTransport reports through). */
export interface TransportHooks {
  /** `dropped` certainly never reached the peer. */
  unreachable(peer: bigint, dropped: readonly Message[]): void;
  refused(peer: bigint, code: string, message: string): void;
}

export interface RaftSettings {
  /** One raft tick, etcd's --heartbeat-interval. Default 100. */
  readonly tickMs?: number;
  /** Election timeout in ticks (etcd's --election-timeout / --heartbeat-interval). Default 10. */
  readonly electionTicks?: number;
  /** Applied entries between log compactions (etcd's --snapshot-count). Default 10000. */
  readonly snapshotCount?: number;
}

export interface MemberOptions {
  readonly backend: Backend;
  readonly identity: Identity;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly observer?: MemberObserver;
  /** Passed to the MVCC store. */
  readonly storeOptions?: StoreOptions;
  /**
   * Called with a broken invariant (or a failed disk write): the member must not go on with
   * state it cannot trust. The member is already stopped when this runs; the default exits.
   */
  readonly onFatal?: (err: unknown) => void;
  /** This member was removed from the cluster (it applied its removal, or a peer said so). */
  readonly onRemoved?: () => void;
  /** Wall clock for lease expiry and ids (never used inside apply). */
  readonly clock?: Clock;
  readonly scheduler?: Scheduler;
  /** A grant below this is raised to it. Default 2 s (etcd: 1.5 election timeouts). */
  readonly minLeaseTtlSeconds?: number;
  /** Expired leases revoked per round through the log. Default 1000. */
  readonly maxLeaseRevokesPerRound?: number;
  readonly raft?: RaftSettings;
  /** How this member reaches its peers. Default: nowhere (a single-member cluster). */
  readonly transport?: (hooks: TransportHooks) => RaftTransport;
  /**
   * Peers to reach before the members table knows them: a member that joined and has not yet
   * received its first snapshot (id -> peer URLs).
   */
  readonly peerHints?: ReadonlyMap<bigint, readonly string[]>;
  /** Deadline of a proposal or a linearizable read. Default 5 s + 2 election timeouts (etcd). */
  readonly requestTimeoutMs?: number;
  readonly log?: DriverLog;
  /**
   * Period of the leader's corruption check in ms (etcd's --experimental-corrupt-check-time);
   * 0 or absent: off, as in etcd.
   */
  readonly corruptCheckTimeMs?: number;
}

interface Waiter {
  readonly resolve: (v: never) => void;
  readonly reject: (e: unknown) => void;
  timer: NodeJS.Timeout;
  /** When it times out (performance.now() ms). */
  deadlineMs: number;
  /** Raft's term when it was proposed: its entry, if any, has this term (or, rarely, a later one). */
  readonly term: number;
}

/** etcd's default minimum lease TTL with a 1 s election timeout: ceil(1.5 s). */
export const DEFAULT_MIN_LEASE_TTL_SECONDS = 2;

const now = (): number => performance.now() / 1000;
const quietLog: DriverLog = { info: () => undefined, warn: () => undefined, debug: () => undefined };

/** A transport for a member without peers. */
const noPeers: RaftTransport = {
  send: () => undefined,
  rpc: () => Promise.reject(new CairnError(ErrorCode.NoLeader)),
  sendSnapshot: () => Promise.reject(new CairnError(ErrorCode.Unavailable, 'no peers')),
  setPeers: () => undefined,
  close: () => undefined,
};

/**
 * One member of a cluster: backend + MVCC store + applier behind a raft node. Every write is
 * proposed, committed by raft, and applied by every member in log order; the member that
 * proposed it answers the caller when it applies it. Linearizable reads go through ReadIndex;
 * serializable ones read this member's state as it is.
 */
export class Member implements Proposer {
  private applierRef: Applier;
  readonly driver: RaftDriver;
  private readonly transport: RaftTransport;
  private readonly waiters = new Map<bigint, Waiter>();
  /** Proposal sequence: unique on this member across restarts (it starts from the clock). */
  private seq: bigint;
  /** The newest revision listeners have heard of (committed and applied; maybe not written yet). */
  private visibleRev: bigint;
  /** Proposals applied in the Ready being handled, with their outcomes (answered on reveal). */
  private answers: { readonly waiter: Waiter; readonly outcome: ApplyOutcome }[] = [];
  /** Applied index of the last written batch, and reads waiting for a newer one. */
  private writtenIndex: bigint;
  private writtenWaiters: { index: bigint; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private stopped = false;
  private removedSelf = false;
  private readonly listeners = new Set<ChangeListener>();
  private readonly resetListeners = new Set<() => void>();
  private readonly authListeners = new Set<() => void>();
  /** The auth revision listeners last heard of. */
  private notifiedAuthRev: bigint;
  private unsubscribeStore: () => void = () => undefined;
  /** Lease expiry; runs only while this member is the raft leader. */
  leasePrimary: LeasePrimary;
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private leaseIdSeq = 0n;
  readonly requestTimeoutMs: number;
  readonly electionTimeoutMs: number;
  private readonly log: DriverLog;
  /** When each peer was last heard from (ms, this clock): "active" for membership checks. */
  readonly lastHeard = new Map<bigint, number>();
  private readonly leaderWatchers = new Set<(ss: SoftState) => void>();
  private publishTimer: (() => void) | undefined;
  private lastLead = 0n;
  /** Term of the last entry applied (see endTermWaits). */
  private appliedEntryTerm = 0;
  readonly admin: ClusterAdmin;
  readonly peerRpc: PeerRpc;
  /** The initial and periodic corruption checks (integrity/corruptCheck.ts). */
  readonly integrity: CorruptChecker;
  private readonly hashes: HashService;

  private constructor(private readonly o: MemberOptions) {
    this.clock = o.clock ?? systemClock;
    this.scheduler = o.scheduler ?? systemScheduler;
    this.log = o.log ?? quietLog;
    this.applierRef = this.loadApplier();
    this.visibleRev = BigInt(this.applierRef.store.currentRevision);
    this.writtenIndex = this.applierRef.appliedIndex;
    this.notifiedAuthRev = this.applierRef.auth.revision;
    this.seq = BigInt(Math.floor(this.clock.now())) << 20n;
    const tickMs = o.raft?.tickMs ?? 100;
    const electionTicks = o.raft?.electionTicks ?? 10;
    this.electionTimeoutMs = tickMs * electionTicks;
    this.requestTimeoutMs = o.requestTimeoutMs ?? 5000 + 2 * this.electionTimeoutMs;
    this.leasePrimary = this.newLeasePrimary();
    this.transport = (o.transport ?? (() => noPeers))({
      unreachable: (peer, dropped) => this.undelivered(peer, dropped),
      refused: (peer, code, message) => this.refusedByPeer(peer, code, message),
    });
    this.driver = RaftDriver.open({
      id: this.memberId,
      backend: o.backend,
      transport: this.transport,
      log: this.log,
      tickMs,
      electionTicks,
      snapshotCount: o.raft?.snapshotCount ?? 10_000,
      host: {
        softState: (ss) => this.softStateChanged(ss),
        fatal: (err) => this.fatal(err),
      },
      stateMachine: {
        appliedIndex: () => Number(this.applierRef.appliedIndex),
        applyNormal: (e) => this.applyNormal(e),
        applyConfChange: (e, cc, cs) => this.applyConfChange(e, cc, cs),
        reveal: () => this.reveal(),
        drain: () => this.drain(),
        restored: () => this.restored(),
      },
    });
    this.admin = new ClusterAdmin(this);
    this.peerRpc = new PeerRpc(this, this.transport);
    this.hashes = new HashService({
      stopped: () => this.stopped,
      store: () => this.applierRef.store,
      visibleRevision: () => this.visibleRev,
      writtenRevision: () => this.writtenRevision,
      written: () => this.written(),
      header: () => this.header(),
      onChange: (l) => this.onChange(l),
      hashed: (seconds) => this.o.observer?.hashed?.(seconds),
      log: this.log,
    });
    this.integrity = this.newCorruptChecker();
    this.updatePeers();
  }

  private newCorruptChecker(): CorruptChecker {
    return new CorruptChecker(
      {
        memberId: this.memberId,
        peers: () => this.applierRef.membership.list().map((m) => m.id).filter((id) => id !== this.memberId),
        clusterSize: () => Math.max(1, this.applierRef.membership.list().length),
        isLeader: () => this.isLeader(),
        hashKv: (rev) => this.hashKv(rev),
        peerHash: async (peer, revision) => {
          return peerHashResponse(await this.transport.rpc(peer, PEER_HASHKV_METHOD, { revision }, Math.min(this.requestTimeoutMs, PEER_HASH_WAIT_MS + 2000)));
        },
        corruptAlarmed: (id) => this.applierRef.alarms.hasFor(id, 'corrupt'),
        raiseCorrupt: async (id) => {
          await this.propose({ alarm: { action: 'activate', memberId: id, alarm: 'corrupt' } });
        },
        scheduler: this.scheduler,
        log: this.log,
      },
      this.o.corruptCheckTimeMs ?? 0,
    );
  }

  /** Opens the member on its backend (finishing an interrupted snapshot install) and starts raft. */
  static async open(o: MemberOptions): Promise<Member> {
    await RaftDriver.recover(o.backend);
    const m = new Member(o);
    m.driver.start();
    // The only voter need not wait for an election timeout.
    const cs = m.applierRef.confState;
    if (cs.voters.length === 1 && cs.voters[0] === m.memberId) m.driver.node.campaign();
    m.schedulePublish(0);
    m.integrity.start();
    return m;
  }

  private loadApplier(): Applier {
    const a = Applier.load(this.o.backend, (rev) => this.headerAt(rev), this.o.storeOptions);
    this.unsubscribeStore();
    this.unsubscribeStore = a.store.onChange((revs) => {
      for (const l of this.listeners) l(revs);
    });
    return a;
  }

  private newLeasePrimary(): LeasePrimary {
    return new LeasePrimary({
      lessor: this.applierRef.lessor,
      clock: this.clock,
      scheduler: this.scheduler,
      maxRevokesPerRound: this.o.maxLeaseRevokesPerRound ?? 1000,
      expire: async (ids) => {
        await Promise.all(
          ids.map((id) =>
            this.propose({ leaseRevoke: { id } }).catch((err: unknown) => {
              if (!(err instanceof CairnError && err.code === ErrorCode.LeaseNotFound)) throw err;
            }),
          ),
        );
      },
    });
  }

  /** The state machine (replaced when a snapshot is installed: do not hold on to it). */
  get applier(): Applier {
    return this.applierRef;
  }

  get clusterId(): bigint {
    return this.o.identity.clusterId;
  }
  get memberId(): bigint {
    return this.o.identity.memberId;
  }
  get name(): string {
    return this.o.name;
  }
  /** The store's newest revision. */
  get revision(): bigint {
    return BigInt(this.applierRef.store.currentRevision);
  }
  get appliedIndex(): bigint {
    return this.applierRef.appliedIndex;
  }
  /**
   * The newest revision listeners have heard of and `history` can read: committed (durable on a
   * quorum's logs) and applied here, though perhaps not yet in this member's state tables.
   */
  get visibleRevision(): bigint {
    return this.visibleRev;
  }
  /** The newest revision in this member's state tables on disk (at most visibleRevision). */
  get writtenRevision(): bigint {
    return BigInt(this.applierRef.store.writtenRevision);
  }
  get raftTerm(): bigint {
    return BigInt(this.driver.term);
  }
  /** The leader this member knows of, 0n if none. */
  get leaderId(): bigint {
    return this.driver.softState.lead;
  }

  /** Whether this member is the raft leader (it decides lease expiry). */
  isLeader(): boolean {
    return this.driver.isLeader;
  }

  header(): ResponseHeader {
    return this.headerAt(this.applierRef.store.currentRevision);
  }

  private headerAt(revision: number): ResponseHeader {
    const term = this.driver === undefined ? 0n : this.raftTerm;
    return { clusterId: this.clusterId, memberId: this.memberId, revision: BigInt(revision), raftTerm: term };
  }

  // ---- the write path ----

  propose<R extends WriteRequest>(req: R, auth?: ProposalAuth): Promise<ResponseFor<R>> {
    if (this.stopped) return Promise.reject(new CairnError(ErrorCode.Stopped));
    let data: Uint8Array;
    const seq = this.seq++;
    try {
      checkWriteRequest(req);
      const request = encodeWriteRequest(req);
      data = encodeProposal(auth === undefined ? { origin: this.memberId, seq, request } : { origin: this.memberId, seq, request, auth });
    } catch (err) {
      return Promise.reject(err);
    }
    return this.wait<ResponseFor<R>>(seq, () => this.driver.propose(data));
  }

  /** Proposes a membership change; resolves with the members once it is applied here. */
  proposeConfChange(type: ConfChange['type'], nodeId: bigint, member?: MemberRecord): Promise<{ header: ResponseHeader; members: MemberInfo[] }> {
    if (this.stopped) return Promise.reject(new CairnError(ErrorCode.Stopped));
    const seq = this.seq++;
    const context = encodeConfContext(member === undefined ? { origin: this.memberId, seq } : { origin: this.memberId, seq, member });
    return this.wait(seq, () => this.driver.proposeConfChange({ type, nodeId, context }));
  }

  private wait<T>(seq: bigint, propose: () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const w: Waiter = { resolve: resolve as (v: never) => void, reject, timer: undefined as unknown as NodeJS.Timeout, deadlineMs: 0, term: this.driver.currentTerm };
      this.arm(seq, w, this.requestTimeoutMs, 'request timed out');
      this.waiters.set(seq, w);
      try {
        propose();
      } catch (err) {
        clearTimeout(w.timer);
        this.waiters.delete(seq);
        reject(droppedError(err));
      }
    });
  }

  private arm(seq: bigint, w: Waiter, ms: number, message: string): void {
    clearTimeout(w.timer);
    w.deadlineMs = performance.now() + ms;
    w.timer = setTimeout(() => {
      if (this.waiters.get(seq) !== w) return;
      this.waiters.delete(seq);
      w.reject(new CairnError(ErrorCode.Timeout, message));
    }, ms);
  }

  /**
   * The leader changed: a proposal still waiting may have died with the old leader. One more
   * election timeout gives the new leader time to commit what the old one replicated; after
   * that it fails (its outcome unknown, like etcd's "possibly due to previous leader failure"),
   * so that callers move on instead of waiting out the whole request timeout.
   */
  private shortenWaits(): void {
    const ms = this.electionTimeoutMs;
    const by = performance.now() + ms;
    for (const [seq, w] of this.waiters) {
      if (w.deadlineMs > by) this.arm(seq, w, ms, 'request timed out, possibly due to previous leader failure');
    }
  }

  /**
   * Messages to `peer` never left. Raft is told; proposals among them (forwarded to a leader
   * that is gone) fail now with `unavailable`, which is safe to retry: they were never seen.
   */
  private undelivered(peer: bigint, dropped: readonly Message[]): void {
    this.driver.reportUnreachable(peer);
    for (const m of dropped) {
      if (m.type !== 'MsgProp') continue;
      for (const e of m.entries) {
        const seq = this.proposalSeq(e);
        const w = seq === undefined ? undefined : this.waiters.get(seq);
        if (w === undefined || seq === undefined) continue;
        this.waiters.delete(seq);
        clearTimeout(w.timer);
        w.reject(new CairnError(ErrorCode.Unavailable, `leader ${peer.toString(16)} unreachable; the request was not proposed`));
      }
    }
  }

  /** The sequence number of this member's own proposal in `e`, if it is one. */
  private proposalSeq(e: Entry): bigint | undefined {
    try {
      if (e.type === 'confChange') {
        const ctx = decodeConfContext(decodeConfChange(e.data).context);
        return ctx.origin === this.memberId ? ctx.seq : undefined;
      }
      if (e.data.length === 0) return undefined;
      const p = decodeProposal(e.data);
      return p.origin === this.memberId ? p.seq : undefined;
    } catch {
      return undefined;
    }
  }

  private answer(origin: bigint, seq: bigint, outcome: ApplyOutcome): void {
    if (origin !== this.memberId) return;
    const w = this.waiters.get(seq);
    if (w === undefined) return;
    this.waiters.delete(seq);
    clearTimeout(w.timer);
    // Sent once the Ready's committed entries are all applied (see reveal).
    this.answers.push({ waiter: w, outcome });
  }

  /**
   * An entry of a newer term is being applied. Terms never decrease along the log, so every
   * committed entry of an older term is already applied: a proposal made in an older term and
   * still unanswered was lost with its leader. It fails now (outcome unknown, as after the
   * grace of shortenWaits, since in a rare case a leader re-elected in a term this member had
   * not heard of appended it with that later term) instead of a full election timeout later.
   */
  private endTermWaits(term: number): void {
    if (term <= this.appliedEntryTerm) return;
    this.appliedEntryTerm = term;
    for (const [seq, w] of this.waiters) {
      if (w.term >= term) continue;
      this.waiters.delete(seq);
      clearTimeout(w.timer);
      w.reject(new CairnError(ErrorCode.Timeout, `request timed out, possibly due to previous leader failure (proposed in term ${w.term}, now applying term ${term})`));
    }
  }

  private applyNormal(e: Entry): void {
    const index = BigInt(e.index);
    this.endTermWaits(e.term);
    if (e.data.length === 0) {
      this.applierRef.applyEmpty(index, e.term);
      return;
    }
    const p = decodeProposal(e.data);
    const t0 = now();
    const outcome = this.applierRef.apply(index, p.request, e.term, p.auth);
    this.o.observer?.applied?.(now() - t0);
    if (!outcome.ok && p.auth !== undefined && p.origin === this.memberId && p.auth.authRevision !== this.applierRef.auth.revision) {
      const code = outcome.error.code;
      if (code === ErrorCode.PermissionDenied || code === ErrorCode.UserEmpty) {
        this.log.info(
          { user: p.auth.user, checkedAtAuthRevision: p.auth.authRevision.toString(), authRevision: this.applierRef.auth.revision.toString(), index: index.toString() },
          'request refused at apply: its permission changed between the check and the log (re-checked as etcd does)',
        );
      }
    }
    if (outcome.ok && 'members' in outcome.response) this.updatePeers();
    this.answer(p.origin, p.seq, outcome);
  }

  private applyConfChange(e: Entry, cc: ConfChange, cs: ConfState): void {
    this.endTermWaits(e.term);
    const ctx = decodeConfContext(cc.context);
    const outcome = this.applierRef.applyConfChange(BigInt(e.index), e.term, cc, ctx.member, cs);
    this.updatePeers();
    this.answer(ctx.origin, ctx.seq, outcome);
    if (cc.type === 'removeNode' && cc.nodeId === this.memberId) this.removed('this member applied its own removal');
  }

  /**
   * The entries applied so far are committed, so nothing can take back what they did (a
   * restart replays them from the log): watchers hear of the revisions first, then the
   * proposers get their answers.
   */
  private reveal(): void {
    const a = this.applierRef;
    this.visibleRev = BigInt(a.store.currentRevision);
    a.reveal();
    if (a.auth.revision !== this.notifiedAuthRev) this.authChanged(a.auth.revision);
    const answers = this.answers;
    this.answers = [];
    for (const { waiter, outcome } of answers) {
      if (outcome.ok) waiter.resolve(responseOf(outcome) as never);
      else waiter.reject(outcome.error);
    }
  }

  private drain(): ReturnType<import('./raftNode/driver.js').StateMachine['drain']> {
    const a = this.applierRef;
    if (!a.dirty) return undefined;
    const batch = a.drain();
    return {
      ops: batch.store.ops,
      position: { index: Number(batch.appliedIndex), term: a.appliedTerm, confState: a.confState },
      release: () => {
        this.writtenIndex = batch.appliedIndex;
        a.release(batch);
        if (this.writtenWaiters.length > 0) {
          const ready = this.writtenWaiters.filter((w) => w.index <= batch.appliedIndex);
          this.writtenWaiters = this.writtenWaiters.filter((w) => w.index > batch.appliedIndex);
          for (const w of ready) w.resolve();
        }
      },
    };
  }

  /** A snapshot replaced the state tables: load everything again. */
  private restored(): void {
    this.leasePrimary.stop();
    this.applierRef = this.loadApplier();
    this.visibleRev = BigInt(this.applierRef.store.currentRevision);
    this.writtenIndex = this.applierRef.appliedIndex;
    for (const w of this.writtenWaiters) w.resolve();
    this.writtenWaiters = [];
    this.leasePrimary = this.newLeasePrimary();
    if (this.isLeader()) this.leasePrimary.promote();
    this.updatePeers();
    for (const l of this.resetListeners) l();
    this.authChanged(this.applierRef.auth.revision);
  }

  private authChanged(revision: bigint): void {
    this.notifiedAuthRev = revision;
    for (const l of this.authListeners) l();
  }

  /**
   * Calls `listener` once a change of users, roles, permissions or the enabled flag is
   * written (or a snapshot replaced them): long-lived streams check their callers again.
   */
  onAuthChange(listener: () => void): () => void {
    this.authListeners.add(listener);
    return () => this.authListeners.delete(listener);
  }

  /** The peers the transport should reach: the members table (and hints until it has them). */
  private updatePeers(): void {
    const peers = new Map<bigint, readonly string[]>();
    for (const m of this.applierRef.membership.list()) if (m.id !== this.memberId) peers.set(m.id, m.peerUrls);
    if (peers.size === 0 && this.o.peerHints !== undefined) for (const [id, urls] of this.o.peerHints) if (id !== this.memberId) peers.set(id, urls);
    this.transport.setPeers(peers);
  }

  private softStateChanged(ss: SoftState): void {
    const leader = ss.raftState === 'leader';
    if (leader !== this.leasePrimary.isLeader) {
      // A new leader gives every lease its full TTL: no lease is cut short by the change.
      if (leader) this.leasePrimary.promote();
      else this.leasePrimary.demote();
    }
    this.log.info({ leader: ss.lead.toString(16), state: ss.raftState }, 'raft state changed');
    if (ss.lead !== this.lastLead) {
      if (this.lastLead !== 0n) this.shortenWaits();
      this.lastLead = ss.lead;
    }
    for (const w of this.leaderWatchers) w(ss);
    if (ss.lead !== 0n) this.schedulePublish(0);
  }

  /** Calls `fn` on every leader change until the returned function is called. */
  onLeaderChange(fn: (ss: SoftState) => void): () => void {
    this.leaderWatchers.add(fn);
    return () => this.leaderWatchers.delete(fn);
  }

  /** Publishes this member's name and client URLs through the log until they are recorded. */
  private schedulePublish(delayMs: number): void {
    if (this.publishTimer !== undefined || this.stopped) return;
    this.publishTimer = this.scheduler.after(delayMs, () => {
      this.publishTimer = undefined;
      const rec = this.applierRef.membership.get(this.memberId);
      const clientUrls = [...this.o.clientUrls];
      if (rec === undefined) {
        // Not in the table yet (joining, waiting for a snapshot): try again later.
        this.schedulePublish(1000);
        return;
      }
      if (rec.name === this.o.name && rec.clientUrls.join() === clientUrls.join()) return;
      if (this.leaderId === 0n) return; // the next leader change tries again
      this.propose({ memberAttr: { id: this.memberId, name: this.o.name, clientUrls } }).then(
        () => this.log.info({ name: this.o.name, clientUrls }, 'published member attributes'),
        () => this.schedulePublish(1000),
      );
    });
  }

  // ---- reads ----

  /** Resolves once local state is as new as any write acknowledged anywhere (ReadIndex). */
  linearizable(): Promise<void> {
    if (this.stopped) return Promise.reject(new CairnError(ErrorCode.Stopped));
    // The only voter leads for as long as it lives: nobody can have committed anything it has
    // not, so its applied state (once written) is as new as any. No round needed.
    const cs = this.applierRef.confState;
    if (this.isLeader() && cs.voters.length === 1 && cs.voters[0] === this.memberId && this.applierRef.appliedIndex >= BigInt(this.driver.committed)) {
      return Promise.resolve();
    }
    return this.driver.readBarrier(this.requestTimeoutMs);
  }

  async range(req: RangeRequest): Promise<RangeResponse> {
    if (this.stopped) throw new CairnError(ErrorCode.Stopped);
    this.checkNotCorrupt();
    if (req.serializable !== true) await this.linearizable();
    const store = this.applierRef.store;
    return rangeResponse(store.range(req), this.headerAt(store.currentRevision));
  }

  /**
   * Resolves once everything applied so far is in the state tables on disk (what reads the
   * backend alone needs, such as a hash). Reads need not wait: only committed entries are
   * applied, so nothing they see can be taken back.
   */
  written(): Promise<void> {
    const index = this.applierRef.appliedIndex;
    if (index <= this.writtenIndex) return Promise.resolve();
    return new Promise((resolve, reject) => this.writtenWaiters.push({ index, resolve, reject }));
  }

  /** Listen to every visible revision's events (the watch hub decorates the store this way). */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called when a snapshot replaced the state: revisions may have jumped (watchers resync). */
  onReset(listener: () => void): () => void {
    this.resetListeners.add(listener);
    return () => this.resetListeners.delete(listener);
  }

  /** The events of revisions [from, visibleRevision] (see MvccStore.history). */
  history(from: bigint): RevisionEvents[] {
    if (from > this.visibleRev) return [];
    return this.applierRef.store.history(Number(from), Number(this.visibleRev));
  }

  /** The events of revisions [from, to], to <= visibleRevision (see MvccStore.history). */
  historyRange(from: bigint, to: bigint): RevisionEvents[] {
    const end = to < this.visibleRev ? to : this.visibleRev;
    return this.applierRef.store.history(Number(from), Number(end));
  }

  /**
   * A CORRUPT alarm names this member: its data differs from the cluster's, so it answers no
   * reads (etcd refuses them the same way) until it is replaced and the alarm disarmed.
   */
  checkNotCorrupt(): void {
    if (this.applierRef.alarms.hasFor(this.memberId, 'corrupt')) {
      throw new CairnError(
        ErrorCode.Corrupt,
        `corrupt cluster: member ${this.memberId.toString(16)} holds data that differs from the other members' (CORRUPT alarm); it serves no reads until it is replaced and the alarm disarmed`,
      );
    }
  }

  /** etcd's HashKV on this member (integrity/hashService.ts). */
  hashKv(revision = 0n): Promise<HashKvResponse> {
    return this.hashes.hashKv(revision);
  }

  /** DB SIZE (what the quota compares) and DB SIZE IN USE: see storage/dbSize.ts. */
  dbSizes(): DbSizes {
    return dbSizes(this.o.backend.sizeBytes(), this.driver.log.storedBytes, this.applierRef.store.historyBytes);
  }

  async status(): Promise<StatusResponse> {
    if (this.stopped) throw new CairnError(ErrorCode.Stopped);
    const st = this.driver.status();
    const size = this.dbSizes();
    return {
      header: this.header(),
      version: SERVER_VERSION,
      dbSize: BigInt(size.dbSizeBytes),
      dbSizeInUse: BigInt(size.dbSizeInUseBytes),
      leader: st.softState.lead,
      raftIndex: BigInt(st.hardState.commit),
      raftTerm: BigInt(st.hardState.term),
      raftAppliedIndex: this.applierRef.appliedIndex,
      errors: this.applierRef.alarms.list().map((a) => `memberID:${a.memberId.toString(10)} alarm:${a.alarm.toUpperCase()} `),
      isLearner: st.confState.learners.includes(this.memberId),
    };
  }

  /** The members, with this member's own client URLs filled in before it published them. */
  members(): MemberInfo[] {
    return this.applierRef.membership.list().map((m) =>
      m.id === this.memberId && m.clientUrls.length === 0 ? { ...m, name: m.name || this.o.name, clientUrls: [...this.o.clientUrls] } : m,
    );
  }

  async memberList(linearizable = false): Promise<MemberListResponse> {
    if (linearizable) await this.linearizable();
    return { header: this.header(), members: this.members() };
  }

  // ---- leases ----

  /** A fresh lease id: member bits, then milliseconds and a counter (etcd's idutil layout). */
  private newLeaseId(): LeaseId {
    const prefix = (this.memberId & 0x7fffn) << 48n;
    const ms = BigInt(Math.floor(this.clock.now())) & 0xff_ffff_ffffn;
    for (;;) {
      const id = prefix | (((ms << 8n) + this.leaseIdSeq++) & 0xffff_ffff_ffffn);
      if (id > 0n && !this.applierRef.lessor.exists(id)) return id;
    }
  }

  leaseGrant(req: LeaseGrantRequest, auth?: ProposalAuth): Promise<LeaseGrantResponse> {
    if (req.ttlSeconds > MAX_LEASE_TTL_SECONDS) return Promise.reject(new CairnError(ErrorCode.LeaseTtlTooLarge));
    const ttlSeconds = Math.max(req.ttlSeconds, this.o.minLeaseTtlSeconds ?? DEFAULT_MIN_LEASE_TTL_SECONDS);
    const id = req.id !== undefined && req.id !== 0n ? req.id : this.newLeaseId();
    if (id < 0n) return Promise.reject(new CairnError(ErrorCode.InvalidArgument, 'lease id must be positive'));
    return this.propose({ leaseGrant: { id, ttlSeconds } }, auth);
  }

  leaseRevoke(id: LeaseId, auth?: ProposalAuth): Promise<LeaseRevokeResponse> {
    return this.propose({ leaseRevoke: { id } }, auth);
  }

  async leaseTimeToLive(req: LeaseTimeToLiveRequest): Promise<LeaseTimeToLiveResponse> {
    await this.linearizable();
    const lease = this.applierRef.lessor.get(req.id);
    const header = this.header();
    if (lease === undefined) return { header, id: req.id, ttlSeconds: -1, grantedTtlSeconds: 0, keys: [] };
    const keys = req.keys === true ? [...lease.keys.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, k]) => k) : [];
    // Only the leader knows how long is left.
    const ttlSeconds = this.isLeader() ? this.leasePrimary.remainingSeconds(req.id) : await this.peerRpc.leaseRemaining(req.id);
    return { header, id: req.id, ttlSeconds, grantedTtlSeconds: lease.ttlSeconds, keys };
  }

  async leaseLeases(): Promise<LeaseLeasesResponse> {
    await this.linearizable();
    const ids = this.applierRef.lessor.ids().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return { header: this.header(), leases: ids.map((id) => ({ id })) };
  }

  /** The keys attached to a lease now (empty if it does not exist). */
  leaseKeys(id: LeaseId): Uint8Array[] {
    return [...(this.applierRef.lessor.get(id)?.keys.values() ?? [])];
  }

  /**
   * A keep-alive: the lease's TTL, renewed from now at the leader (forwarded there from a
   * follower), or -1 if the lease is gone. Not logged.
   */
  leaseRenew(id: LeaseId): Promise<number> {
    if (this.stopped) return Promise.reject(new CairnError(ErrorCode.Stopped));
    if (this.isLeader()) return Promise.resolve(this.leasePrimary.renew(id));
    return this.peerRpc.leaseRenew(id);
  }

  // ---- the peer side (what transport/peerServer.ts serves) ----

  clusterMembers(): { clusterId: bigint; members: MemberInfo[] } {
    return { clusterId: this.clusterId, members: this.members() };
  }

  isRemoved(id: bigint): boolean {
    return this.applierRef.membership.isRemoved(id);
  }

  /**
   * Whether `id` is a member (voter or learner) as this member knows it. A member that joined
   * and has not yet received its first snapshot knows the cluster from the hints it was given.
   */
  isMember(id: bigint): boolean {
    const ms = this.applierRef.membership;
    if (ms.get(id) !== undefined) return true;
    return ms.list().length === 0 && this.o.peerHints?.has(id) === true;
  }

  /** Raft messages from an authenticated member, checked (raftNode/inbound.ts) before raft sees them. */
  messages(from: bigint, msgs: readonly Message[]): void {
    this.lastHeard.set(from, this.clock.now());
    const r = this.driver.node.raft;
    const { accepted, refused } = checkInbound(msgs, {
      self: this.memberId,
      term: r.term,
      lead: r.lead,
      committed: r.log.committed,
      termAt: (i) => r.log.term(i),
    });
    for (const x of refused) {
      const fields = { peer: from.toString(16), type: x.message.type, term: x.message.term, index: x.message.index, why: x.why };
      this.o.observer?.peerRefused?.(x.kind === 'safety' ? 'safetyViolation' : 'unreadableEntry');
      const error = (this.log.error ?? this.log.warn).bind(this.log);
      if (x.kind === 'safety') error(fields, 'safety violation: refused a raft message');
      else error(fields, 'refused a raft message carrying an entry this member cannot apply');
    }
    if (accepted.length > 0) this.driver.step(accepted);
  }

  rpc(from: bigint, method: string, params: unknown): Promise<unknown> {
    // Served by every member, not only the leader: the corruption checks ask each one.
    if (method === PEER_HASHKV_METHOD) return this.hashes.servePeer(params);
    return this.peerRpc.serve(from, method, params);
  }

  /** A snapshot is taken only from the leader of this member's current term. */
  snapshot(from: bigint, term: number): SnapshotReceiver {
    const r = this.driver.node.raft;
    if (term !== r.term || r.lead !== from) {
      throw new CairnError(
        ErrorCode.NotLeader,
        `snapshot from ${from.toString(16)} at term ${term} refused: this member is at term ${r.term} led by ${r.lead === 0n ? 'nobody' : r.lead.toString(16)}`,
      );
    }
    return this.driver.receiveSnapshot(from, term);
  }

  // ---- stopping ----

  private refusedByPeer(peer: bigint, code: string, message: string): void {
    if (code === PeerRefusal.Removed) this.removed(`peer ${peer.toString(16)} says: ${message}`);
    else this.log.warn({ peer: peer.toString(16), code, message }, 'peer refused this member');
  }

  /** This member is out of the cluster for good: mark the data dir, then stop. */
  private removed(why: string): void {
    if (this.removedSelf) return;
    this.removedSelf = true;
    this.log.warn({ why }, 'the member has been permanently removed from the cluster; shutting down');
    this.o.backend.write(removedOps(), { sync: true }).then(
      () => this.o.onRemoved?.(),
      (err: unknown) => this.fatal(err),
    );
  }

  private fatal(err: unknown): void {
    this.stopped = true;
    this.failWaiters(new CairnError(ErrorCode.Stopped, 'member stopped'));
    if (this.o.onFatal !== undefined) this.o.onFatal(err);
    else {
      console.error('cairn: fatal:', err);
      process.exit(70);
    }
  }

  private failWaiters(err: CairnError): void {
    for (const w of this.writtenWaiters) w.reject(err);
    this.writtenWaiters = [];
    for (const a of this.answers) a.waiter.reject(err);
    this.answers = [];
    for (const w of this.waiters.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.waiters.clear();
  }

  /** Stops taking requests, writes what was applied, closes the transport and the backend. */
  async close(): Promise<void> {
    if (this.stopped && this.closing !== undefined) return this.closing;
    this.stopped = true;
    this.closing = (async () => {
      this.publishTimer?.();
      this.integrity.stop();
      this.leasePrimary.stop();
      await this.driver.close();
      this.failWaiters(new CairnError(ErrorCode.Stopped, 'member stopped'));
      this.transport.close();
      this.unsubscribeStore();
      await this.o.backend.close();
    })();
    return this.closing;
  }
  private closing: Promise<void> | undefined;
}

/** A proposal raft would not take, as the client's error. */
function droppedError(err: unknown): CairnError {
  if (!(err instanceof ProposalDroppedError)) return toCairnError(err);
  switch (err.reason) {
    case 'noLeader':
      return new CairnError(ErrorCode.NoLeader);
    case 'transferring':
      return new CairnError(ErrorCode.LeaderChanged, 'leadership transfer in progress');
    case 'tooManyUncommitted':
      return new CairnError(ErrorCode.Unavailable, 'too many requests');
    case 'confChangePending':
      return new CairnError(ErrorCode.Unavailable, 'a membership change is in progress; try again');
    case 'notMember':
      return new CairnError(ErrorCode.NotCapable, 'this member was removed from the cluster');
  }
}

function responseOf(o: ApplyOutcome & { ok: true }): unknown {
  const r = o.response;
  if ('put' in r) return r.put;
  if ('deleteRange' in r) return r.deleteRange;
  if ('txn' in r) return r.txn;
  if ('auth' in r) return r.auth;
  if ('alarm' in r) return r.alarm;
  if ('leaseGrant' in r) return r.leaseGrant;
  if ('leaseRevoke' in r) return r.leaseRevoke;
  if ('members' in r) return r.members;
  return r.compact;
}

