import {
  CairnError,
  ErrorCode,
  type HashKvResponse,
  type Member as MemberInfo,
  type MemberListResponse,
  type RangeRequest,
  type RangeResponse,
  type ResponseHeader,
  type StatusResponse,
} from '@cairn/protocol';
import type { ConfChange, Message, SoftState } from '@cairn/raft';
import type { Applier } from './apply/applier.js';
import { checkWriteRequest } from './apply/kinds.js';
import { encodeConfContext, encodeProposal, encodeWriteRequest, type ProposalAuth, type ResponseFor, type WriteRequest } from './apply/requests.js';
import type { MemberRecord } from './apply/membership.js';
import type { ChangeListener, RevisionEvents } from './mvcc/store.js';
import type { WatchSource } from './watch/hub.js';
import type { DbSizes } from './storage/dbSize.js';
import { removedOps } from './identity.js';
import { systemClock, systemScheduler, type Clock, type Scheduler } from './clock.js';
import { RaftDriver, type DriverLog } from './raftNode/driver.js';
import type { RaftTransport } from './transport/transport.js';
import { PeerRefusal } from './transport/frames.js';
import { ClusterAdmin } from './raftNode/admin.js';
import { PeerRpc } from './raftNode/peerRpc.js';
import { CorruptChecker, PEER_HASHKV_METHOD, PEER_HASH_WAIT_MS } from './integrity/corruptCheck.js';
import { HashService, peerHashResponse } from './integrity/hashService.js';
import { ProposalTracker } from './member/proposals.js';
import { MemberStateMachine } from './member/stateMachine.js';
import { LeaseService, minLeaseTtlSeconds } from './member/leases.js';
import { AttributePublisher } from './member/publisher.js';
import { PEER_VOUCH_METHOD, PeerSide } from './member/peerSide.js';
import { MemberReads } from './member/reads.js';
import type { MemberOptions, Proposer } from './member/options.js';

export type { MemberObserver, MemberOptions, PlantedBugs, Proposer, RaftSettings, TransportHooks } from './member/options.js';
export { CLUSTER_VERSION, SERVER_VERSION } from './version.js';

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
 * One member of a cluster: a raft driver feeding a state machine (applier, MVCC store, leases,
 * auth, membership), and the parts around it: the proposal tracker (callers waiting for their
 * entries), the lease service, the attribute publisher, the admin and peer requests, the hash
 * and corruption checks. Every write is proposed, committed by raft, and applied by every
 * member in log order; the member that proposed it answers the caller once it is applied.
 * Linearizable reads go through ReadIndex; serializable ones read this member's state as it is.
 * This class only wires the parts together and keeps the life cycle (docs/architecture.md).
 * It is the one file of packages/server/src over 400 lines by intent: the constructor is the
 * composition root of ten parts, and the rest is the member's public surface, one delegating
 * line per call, so that callers see one object while each part stays under member/.
 */
export class Member implements Proposer {
  readonly driver: RaftDriver;
  private readonly transport: RaftTransport;
  private readonly proposals: ProposalTracker;
  private readonly state: MemberStateMachine;
  readonly leases: LeaseService;
  private readonly publisher: AttributePublisher;
  private stopped = false;
  private removedSelf = false;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly requestTimeoutMs: number;
  readonly electionTimeoutMs: number;
  private readonly log: DriverLog;
  /** What this member serves to its peers (transport/peerServer.ts). */
  readonly peer: PeerSide;
  private readonly leaderWatchers = new Set<(ss: SoftState) => void>();
  private lastLead = 0n;
  readonly admin: ClusterAdmin;
  readonly peerRpc: PeerRpc;
  /** The initial and periodic corruption checks (integrity/corruptCheck.ts). */
  readonly integrity: CorruptChecker;
  private readonly hashes: HashService;
  private readonly reads: MemberReads;

  private constructor(private readonly o: MemberOptions) {
    const clock = (this.clock = o.clock ?? systemClock);
    const scheduler = (this.scheduler = o.scheduler ?? systemScheduler);
    const log = (this.log = o.log ?? quietLog);
    const memberId = this.memberId;
    const tickMs = o.raft?.tickMs ?? 100;
    const electionTicks = o.raft?.electionTicks ?? 10;
    this.electionTimeoutMs = tickMs * electionTicks;
    this.requestTimeoutMs = o.requestTimeoutMs ?? 5000 + 2 * this.electionTimeoutMs;
    this.proposals = new ProposalTracker({
      memberId,
      clock,
      scheduler,
      requestTimeoutMs: this.requestTimeoutMs,
      electionTimeoutMs: this.electionTimeoutMs,
      currentTerm: () => this.driver.currentTerm,
      failed: () => o.observer?.proposalFailed?.(),
    });
    this.state = new MemberStateMachine({
      memberId,
      backend: o.backend,
      storeOptions: o.storeOptions,
      clock,
      header: (rev) => this.headerAt(rev),
      termApplied: (term) => this.proposals.termApplied(term),
      applied: (origin, seq, outcome) => this.proposals.applied(origin, seq, outcome),
      revealed: () => this.proposals.release(),
      membersChanged: () => this.updatePeers(),
      removedSelf: () => this.removed('this member applied its own removal'),
      restored: () => {
        this.leases.restored();
        this.updatePeers();
      },
      appliedIn: (seconds) => o.observer?.applied?.(seconds),
      info: (fields, msg) => log.info(fields, msg),
      ...(o.plantedBugs?.skipAppliedIndex === true ? { skipAppliedIndex: true } : {}),
      ...(o.plantedBugs?.skipAuthRecheck === true ? { skipAuthRecheck: true } : {}),
    });
    this.leases = new LeaseService({
      memberId,
      clock,
      scheduler,
      minTtlSeconds: o.minLeaseTtlSeconds ?? minLeaseTtlSeconds(this.electionTimeoutMs),
      maxRevokesPerRound: o.maxLeaseRevokesPerRound ?? 1000,
      lessor: () => this.applier.lessor,
      isLeader: () => this.isLeader(),
      stopped: () => this.stopped,
      header: () => this.header(),
      linearizable: () => this.linearizable(),
      propose: (req, auth) => this.propose(req, auth),
      proposeAsLeader: (req) => this.propose(req, undefined, true),
      leaderRenew: (id) => this.peerRpc.leaseRenew(id),
      leaderRemaining: (id) => this.peerRpc.leaseRemaining(id),
    });
    this.publisher = new AttributePublisher({
      memberId,
      name: o.name,
      clientUrls: o.clientUrls,
      scheduler,
      record: () => this.applier.membership.get(memberId),
      leaderId: () => this.leaderId,
      stopped: () => this.stopped,
      propose: (req, auth) => this.propose(req, auth),
      info: (fields, msg) => log.info(fields, msg),
    });
    this.transport = (o.transport ?? (() => noPeers))({
      unreachable: (peer, dropped) => this.undelivered(peer, dropped),
      refused: (peer, code, message) => this.refusedByPeer(peer, code, message),
      linkLost: (peer) => this.driver.leaderLinkLost(peer),
    });
    this.driver = RaftDriver.open({
      id: memberId,
      backend: o.backend,
      transport: this.transport,
      log,
      clock,
      scheduler,
      tickMs,
      electionTicks,
      snapshotCount: o.raft?.snapshotCount ?? 10_000,
      ...(o.raft?.rngSeed === undefined ? {} : { rngSeed: o.raft.rngSeed }),
      ...(o.raft?.pipelineDepth === undefined ? {} : { pipelineDepth: o.raft.pipelineDepth }),
      ...(o.plantedBugs?.ackBeforeDurable === true ? { ackBeforeDurable: true } : {}),
      host: {
        softState: (ss) => this.softStateChanged(ss),
        fatal: (err) => this.fatal(err),
        wrote: (seconds, entries) => o.observer?.committed?.(seconds, entries),
        heartbeatLate: () => o.observer?.heartbeatLate?.(),
      },
      stateMachine: this.state,
    });
    this.admin = new ClusterAdmin(this);
    this.peerRpc = new PeerRpc(this, this.transport);
    this.hashes = new HashService({
      stopped: () => this.stopped,
      store: () => this.applier.store,
      visibleRevision: () => this.visibleRevision,
      writtenRevision: () => this.writtenRevision,
      written: () => this.state.written(),
      header: () => this.header(),
      onChange: (l) => this.onChange(l),
      hashed: (seconds) => o.observer?.hashed?.(seconds),
      clock,
      scheduler,
      log,
    });
    this.peer = new PeerSide({
      clusterId: this.clusterId,
      memberId,
      clock,
      driver: this.driver,
      peerHints: o.peerHints,
      membership: () => this.applier.membership,
      members: () => this.members(),
      rpc: (from, method, params) => this.servePeer(from, method, params),
      ask: (to, method, params, timeoutMs) => this.transport.rpc(to, method, params, timeoutMs),
      refused: (reason) => o.observer?.peerRefused?.(reason),
      log,
    });
    this.reads = new MemberReads({
      memberId,
      name: o.name,
      clientUrls: o.clientUrls,
      requestTimeoutMs: this.requestTimeoutMs,
      applier: () => this.applier,
      stopped: () => this.stopped,
      isLeader: () => this.isLeader(),
      header: (rev) => (rev === undefined ? this.header() : this.headerAt(rev)),
      raftStatus: () => this.driver.status(),
      committed: () => this.driver.committed,
      readBarrier: (ms) => this.driver.readBarrier(ms),
      backendBytes: () => o.backend.sizeBytes(),
      logBytes: () => this.driver.log.storedBytes,
      ...(o.plantedBugs?.leaderLocalReads === true ? { leaderLocalReads: true } : {}),
    });
    this.integrity = this.newCorruptChecker();
    this.updatePeers();
  }

  private newCorruptChecker(): CorruptChecker {
    return new CorruptChecker(
      {
        memberId: this.memberId,
        peers: () => this.applier.membership.list().map((m) => m.id).filter((id) => id !== this.memberId),
        clusterSize: () => Math.max(1, this.applier.membership.list().length),
        isLeader: () => this.isLeader(),
        hashKv: (rev) => this.hashKv(rev),
        peerHash: async (peer, revision) => {
          return peerHashResponse(await this.transport.rpc(peer, PEER_HASHKV_METHOD, { revision }, Math.min(this.requestTimeoutMs, PEER_HASH_WAIT_MS + 2000)));
        },
        corruptAlarmed: (id) => this.applier.alarms.hasFor(id, 'corrupt'),
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
    const cs = m.applier.confState;
    if (cs.voters.length === 1 && cs.voters[0] === m.memberId) m.driver.node.campaign();
    m.publisher.schedule();
    m.integrity.start();
    return m;
  }

  /** The state machine (replaced when a snapshot is installed: do not hold on to it). */
  get applier(): Applier {
    return this.state.applier;
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
    return BigInt(this.applier.store.currentRevision);
  }
  get appliedIndex(): bigint {
    return this.applier.appliedIndex;
  }
  /**
   * The newest revision listeners have heard of and `history` can read: committed (durable on a
   * quorum's logs) and applied here, though perhaps not yet in this member's state tables.
   */
  get visibleRevision(): bigint {
    return this.state.visibleRevision;
  }
  /** The newest revision in this member's state tables on disk (at most visibleRevision). */
  get writtenRevision(): bigint {
    return BigInt(this.applier.store.writtenRevision);
  }
  get raftTerm(): bigint {
    return BigInt(this.driver.term);
  }
  /** The leader this member knows of, 0n if none. */
  get leaderId(): bigint {
    return this.driver.softState.lead;
  }
  /** When each peer was last heard from (`clock.monotonic()` ms): "active" for membership checks. */
  get lastHeard(): ReadonlyMap<bigint, number> {
    return this.peer.lastHeard;
  }
  /** This member's proposals waiting for their answers (etcd_server_proposals_pending). */
  get proposalsPending(): number {
    return this.proposals.pending;
  }
  /** The expiry side of leases (what the peer RPCs serve on the leader). */
  get leasePrimary(): LeaseService['primary'] {
    return this.leases.primary;
  }

  /** Whether this member is the raft leader (it decides lease expiry). */
  isLeader(): boolean {
    return this.driver.isLeader;
  }

  header(): ResponseHeader {
    return this.headerAt(this.applier.store.currentRevision);
  }

  private headerAt(revision: number): ResponseHeader {
    const term = this.driver === undefined ? 0n : this.raftTerm;
    return { clusterId: this.clusterId, memberId: this.memberId, revision: BigInt(revision), raftTerm: term };
  }

  // ---- the write path ----

  /** `asLeader`: only if this member leads when raft takes the entry (see LeaseServiceHost.proposeAsLeader). */
  propose<R extends WriteRequest>(req: R, auth?: ProposalAuth, asLeader = false): Promise<ResponseFor<R>> {
    if (this.stopped) return Promise.reject(new CairnError(ErrorCode.Stopped));
    let data: Uint8Array;
    const seq = this.proposals.next();
    try {
      checkWriteRequest(req);
      const request = encodeWriteRequest(req);
      data = encodeProposal(auth === undefined ? { origin: this.memberId, seq, request } : { origin: this.memberId, seq, request, auth });
    } catch (err) {
      return Promise.reject(err);
    }
    return this.proposals.wait<ResponseFor<R>>(seq, () => this.driver.propose(data, asLeader));
  }

  /** Proposes a membership change; resolves with the members once it is applied here. */
  proposeConfChange(type: ConfChange['type'], nodeId: bigint, member?: MemberRecord): Promise<{ header: ResponseHeader; members: MemberInfo[] }> {
    if (this.stopped) return Promise.reject(new CairnError(ErrorCode.Stopped));
    const seq = this.proposals.next();
    const context = encodeConfContext(member === undefined ? { origin: this.memberId, seq } : { origin: this.memberId, seq, member });
    return this.proposals.wait(seq, () => this.driver.proposeConfChange({ type, nodeId, context }));
  }

  /** Messages to `peer` never left: raft is told, and proposals among them fail (see ProposalTracker). */
  private undelivered(peer: bigint, dropped: readonly Message[]): void {
    this.driver.reportUnreachable(peer);
    this.proposals.undelivered(peer, dropped);
  }

  /**
   * Calls `listener` once a change of users, roles, permissions or the enabled flag is
   * written (or a snapshot replaced them): long-lived streams check their callers again.
   */
  onAuthChange(listener: () => void): () => void {
    return this.state.onAuthChange(listener);
  }

  /** The peers the transport should reach: the members table (and hints until it has them). */
  private updatePeers(): void {
    const peers = new Map<bigint, readonly string[]>();
    for (const m of this.applier.membership.list()) if (m.id !== this.memberId) peers.set(m.id, m.peerUrls);
    if (peers.size === 0 && this.o.peerHints !== undefined) for (const [id, urls] of this.o.peerHints) if (id !== this.memberId) peers.set(id, urls);
    this.transport.setPeers(peers);
  }

  private softStateChanged(ss: SoftState): void {
    this.leases.roleChanged(ss.raftState === 'leader' || this.o.plantedBugs?.expireLeasesOnFollowers === true);
    this.log.info({ leader: ss.lead.toString(16), state: ss.raftState }, 'raft state changed');
    if (ss.lead !== this.lastLead) {
      if (this.lastLead !== 0n) this.proposals.leaderChanged();
      if (ss.lead !== 0n) this.o.observer?.leaderChanged?.();
      this.lastLead = ss.lead;
    }
    for (const w of this.leaderWatchers) w(ss);
    if (ss.lead !== 0n) this.publisher.schedule();
  }

  /** Calls `fn` on every leader change until the returned function is called. */
  onLeaderChange(fn: (ss: SoftState) => void): () => void {
    this.leaderWatchers.add(fn);
    return () => this.leaderWatchers.delete(fn);
  }

  // ---- reads ----

  /** Resolves once local state is as new as any write acknowledged anywhere (ReadIndex). */
  linearizable(): Promise<void> {
    return this.reads.linearizable();
  }

  range(req: RangeRequest): Promise<RangeResponse> {
    return this.reads.range(req);
  }

  /** See MemberStateMachine.written. */
  written(): Promise<void> {
    return this.state.written();
  }

  /** Listen to every visible revision's events (the watch hub decorates the store this way). */
  onChange(listener: ChangeListener): () => void {
    return this.state.onChange(listener);
  }

  /** Called when a snapshot replaced the state: revisions may have jumped (watchers resync). */
  onReset(listener: () => void): () => void {
    return this.state.onReset(listener);
  }

  /** The events of revisions [from, visibleRevision] (see MvccStore.history). */
  history(from: bigint): RevisionEvents[] {
    return this.state.history(from);
  }

  /** The events of revisions [from, to], to <= visibleRevision (see MvccStore.history). */
  historyRange(from: bigint, to: bigint): RevisionEvents[] {
    return this.state.history(from, to);
  }

  /** What a watch hub reads from this member (watch/hub.ts). */
  watchSource(): WatchSource {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getters below are the source's, not the member's
    const m = this;
    return {
      onChange: (l) => m.onChange(l),
      historyRange: (from, to) => m.historyRange(from, to),
      readKvs: (revs) => m.applier.store.readKvs(revs),
      get visibleRevision() {
        return m.visibleRevision;
      },
      get compactRevision() {
        return BigInt(m.applier.store.compactRevision);
      },
      header: () => m.header(),
    };
  }

  /** A CORRUPT alarm names this member: it serves no reads (MemberReads.checkNotCorrupt). */
  checkNotCorrupt(): void {
    this.reads.checkNotCorrupt();
  }

  /** etcd's HashKV on this member (integrity/hashService.ts). */
  hashKv(revision = 0n): Promise<HashKvResponse> {
    return this.hashes.hashKv(revision);
  }

  /** DB SIZE (what the quota compares) and DB SIZE IN USE: see storage/dbSize.ts. */
  dbSizes(): DbSizes {
    return this.reads.dbSizes();
  }

  async status(): Promise<StatusResponse> {
    return this.reads.status();
  }

  /** The members, with this member's own client URLs filled in before it published them. */
  members(): MemberInfo[] {
    return this.reads.members();
  }

  memberList(linearizable = false): Promise<MemberListResponse> {
    return this.reads.memberList(linearizable);
  }

  /** Hash requests are served by every member (the corruption checks ask each one); the rest by PeerRpc. */
  private servePeer(from: bigint, method: string, params: unknown): Promise<unknown> {
    if (method === PEER_HASHKV_METHOD) return this.hashes.servePeer(params);
    if (method === PEER_VOUCH_METHOD) return Promise.resolve(this.peer.vouch(params));
    return this.peerRpc.serve(from, method, params);
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
    this.state.failWritten(err);
    this.proposals.failAll(err);
  }

  /** Stops taking requests, writes what was applied, closes the transport and the backend. */
  async close(): Promise<void> {
    if (this.stopped && this.closing !== undefined) return this.closing;
    this.stopped = true;
    this.closing = (async () => {
      this.publisher.stop();
      this.integrity.stop();
      this.leases.stop();
      await this.driver.close();
      this.failWaiters(new CairnError(ErrorCode.Stopped, 'member stopped'));
      this.transport.close();
      this.state.close();
      await this.o.backend.close();
    })();
    return this.closing;
  }
  private closing: Promise<void> | undefined;
}
