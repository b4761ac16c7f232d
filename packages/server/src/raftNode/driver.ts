import { randomBytes } from 'node:crypto';
import { CairnError, ErrorCode } from '@cairn/protocol';
import {
  RawNode,
  SeededRng,
  decodeConfChange,
  type ConfChange,
  type Entry,
  type Logger as RaftLogger,
  type LogFields as RaftLogFields,
  type Message,
  type NodeId,
  type Ready,
  type SoftState,
  type Status,
} from '@cairn/raft';
import type { Backend } from '../storage/backend.js';
import type { SnapshotReceiver } from '../transport/snapshotStream.js';
import { LogStorage } from './logStorage.js';
import { ReadIndexQueue } from './reads.js';
import { ReadyWrites } from './readyWrites.js';
import { SnapshotTransfers } from './snapshotTransfer.js';
import type { DriverOptions } from './driverTypes.js';

export type { DriverHost, DriverLog, DriverOptions, StateMachine } from './driverTypes.js';

const DEFAULT_MAX_SIZE_PER_MSG_BYTES = 1 << 20;
const DEFAULT_MAX_INFLIGHT_MSGS = 256;
/** How long close() lets the loop finish the Readys in flight before it stops taking input. */
const CLOSE_DRAIN_MS = 2000;
/** A leader holding more uncommitted entry bytes than this drops new proposals (back-pressure). */
const MAX_UNCOMMITTED_BYTES = 256 << 20;
/**
 * Readys in flight at most (RawNode's pipelining; 1: each waits for the last one's write). A
 * bound on memory while the disk is slow, not a tuning knob: the writer thread joins the
 * writes queued behind one another into one write and one fsync.
 */
const DEFAULT_PIPELINE_DEPTH = 64;

/** Raft's event fields as log fields: member ids in hex (as every other log line writes them). */
function raftLogFields(f: RaftLogFields | undefined): Record<string, unknown> {
  // The driver's log is already the member's `component: raft` child.
  const out: Record<string, unknown> = {};
  if (f === undefined) return out;
  for (const [k, v] of Object.entries(f)) {
    if (typeof v === 'bigint') out[k] = v.toString(16);
    else if (Array.isArray(v)) out[k] = (v as readonly bigint[]).map((id) => id.toString(16));
    else out[k] = v;
  }
  return out;
}

/**
 * Drives one member's raft node (docs/raft.md's loop): ticks on a timer, feeds it peers'
 * messages and local proposals, and handles each Ready in order:
 *
 *   1. send `messages` at once: they promise nothing about this member's disk, so a leader's
 *      appends reach the followers while its own write is in flight (thesis §10.2.1);
 *   2. apply its committed entries to the state machine in memory, and reveal them (the
 *      proposers' answers, watch events): committed means durable on a quorum's logs (a
 *      leader counts its own log only once written), so nothing a crash does takes them back;
 *   3. persist its entries and HardState together with what the state machine changed since
 *      its last write, in one atomic RocksDB write (fsynced when raft says so): many requests
 *      share one fsync, and the applied index always lands with the data it produced. A Ready
 *      with no entries and nothing to sync writes nothing: its HardState and the applied
 *      state wait (a few ms: readyWrites.ts) to ride along with the next write, so a put
 *      costs one write, not two;
 *   4. send `messagesAfterPersist` (votes and append acknowledgements: they promise what 3
 *      made durable);
 *   5. advance: raft learns the write landed, and only now does a leader count its own new
 *      entries toward the commit quorum. Every `snapshotCount` applied entries, move the
 *      log's base (compaction).
 *
 * While the loop waits on step 3, new input's messages of the step-1 kind leave at once
 * (sendSoon). So an acknowledged write is on a majority of disks (the leader's own counts only once
 * written), a follower acknowledges only entries it has written, and a term or vote is on
 * disk before any message of the Ready that changed it leaves (raft then puts every message
 * in `messagesAfterPersist`).
 *
 * Pipelining: the loop does not wait for step 3 before it takes the next Ready (up to
 * `pipelineDepth` in flight). That Ready's steps 1-2 run at once (a commit that a follower's
 * acknowledgement brought is applied and answered while the leader's own write is still being
 * fsynced), and its write queues behind the last one on the writer thread; steps 4-5 run per
 * Ready in the order they were taken, each once its own write and every earlier one landed.
 * A Ready with a snapshot, one that comes while a staged snapshot waits to be installed, and
 * one that comes while something else must run alone on the disk (ReadyWrites.exclusive),
 * waits for every Ready in flight and runs alone.
 *
 * The state machine's part of a write needs no fsync of its own, nor does a HardState whose
 * commit index alone moved: after a crash the log replays from the applied index that is on
 * disk (never past the commit index on disk: both travel in the same writes, in order). A follower that needs entries the log no longer has gets the
 * live state streamed (snapshotTransfer.ts).
 */
export class RaftDriver {
  readonly node: RawNode;
  readonly log: LogStorage;
  readonly reads: ReadIndexQueue;
  private cancelTicker: (() => void) | undefined;
  private running = false;
  private again = false;
  private sendQueued = false;
  private idle: Promise<void> = Promise.resolve();
  private signalIdle: (() => void) | undefined;
  private stopped = false;
  /** close() has begun: no new proposals; the loop still finishes what is in flight. */
  private closing = false;
  private failed = false;
  private soft: SoftState = { lead: 0n, raftState: 'follower' };
  private readyCount = 0;
  private readonly pipelineDepth: number;
  /** Readys taken and not yet finished (steps 4-5), and the finish of the last one taken. */
  private inFlight = 0;
  private lastFinish: Promise<void> = Promise.resolve();
  private readonly writes: ReadyWrites;
  private readonly snapshots: SnapshotTransfers;
  /** When the last heartbeat to each follower left (`clock.monotonic()` ms), this term as leader. */
  private readonly heartbeatSentMs = new Map<NodeId, number>();

  private constructor(
    private readonly o: DriverOptions,
    log: LogStorage,
  ) {
    this.log = log;
    this.pipelineDepth = Math.max(1, o.pipelineDepth ?? DEFAULT_PIPELINE_DEPTH);
    const logger: RaftLogger = {
      debug: (m, f) => o.log.debug(raftLogFields(f), m),
      info: (m, f) => o.log.info(raftLogFields(f), m),
      warn: (m, f) => o.log.warn(raftLogFields(f), m),
    };
    this.node = new RawNode({
      id: o.id,
      electionTicks: o.electionTicks,
      heartbeatTicks: 1,
      storage: log,
      applied: o.stateMachine.appliedIndex(),
      maxSizePerMsgBytes: o.maxSizePerMsgBytes ?? DEFAULT_MAX_SIZE_PER_MSG_BYTES,
      maxInflightMsgs: o.maxInflightMsgs ?? DEFAULT_MAX_INFLIGHT_MSGS,
      maxUncommittedEntriesBytes: MAX_UNCOMMITTED_BYTES,
      checkQuorum: true,
      preVote: true,
      // Election timeouts only; a fresh seed per process keeps members from colliding.
      rng: new SeededRng(o.rngSeed ?? randomBytes(4).readUInt32BE(0)),
      logger,
    });
    this.writes = new ReadyWrites({
      backend: o.backend,
      log,
      stateMachine: o.stateMachine,
      host: o.host,
      logger: o.log,
      clock: o.clock,
      scheduler: o.scheduler,
      snapshotCount: o.snapshotCount,
      stopped: () => this.stopped,
      failed: (err) => this.fail(err),
    });
    this.snapshots = new SnapshotTransfers({
      id: o.id,
      backend: o.backend,
      transport: o.transport,
      log,
      logger: o.log,
      clock: o.clock,
      accepting: () => !this.stopped && !this.closing,
      term: () => this.node.status().hardState.term,
      readyCount: () => this.readyCount,
      exclusive: (fn) => this.writes.exclusive(fn),
      step: (msgs) => this.step(msgs),
      reportSnapshot: (to, ok) => {
        if (this.stopped) return;
        this.node.reportSnapshot(to, ok);
        this.schedule();
      },
      installed: (meta) => {
        o.stateMachine.restored();
        this.writes.installed(meta);
      },
    });
    this.reads = new ReadIndexQueue({
      requestIndex: (ctx) => {
        this.node.readIndex(ctx);
        this.schedule();
      },
      appliedIndex: () => o.stateMachine.appliedIndex(),
      hasLeader: () => this.soft.lead !== 0n,
      scheduler: o.scheduler,
    });
  }

  /**
   * Finishes an install a crash interrupted (see snapshotTransfer.ts), then opens the log.
   * Call before loading the state machine.
   */
  static recover(backend: Backend): Promise<void> {
    return SnapshotTransfers.recover(backend);
  }

  static open(o: DriverOptions): RaftDriver {
    return new RaftDriver(o, LogStorage.load(o.backend));
  }

  start(): void {
    const tick = (): void => {
      this.cancelTicker = this.o.scheduler.after(this.o.tickMs, tick);
      this.node.tick();
      this.schedule();
    };
    this.cancelTicker = this.o.scheduler.after(this.o.tickMs, tick);
    this.schedule();
  }

  /** The current term, as persisted. Cheap: for every response header. */
  get term(): number {
    return this.log.persistedHardState.term;
  }

  /** Raft's current term (possibly not yet persisted). */
  get currentTerm(): number {
    return this.node.raft.term;
  }

  /** The commit index, as persisted. */
  get committed(): number {
    return this.log.persistedHardState.commit;
  }

  get softState(): SoftState {
    return this.soft;
  }

  get isLeader(): boolean {
    return this.soft.raftState === 'leader';
  }

  status(): Status {
    return this.node.status();
  }

  /** Messages from a peer. */
  step(msgs: readonly Message[]): void {
    if (this.stopped) return;
    for (const m of msgs) {
      try {
        this.node.step(m);
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message, type: m.type, from: m.from.toString(16) }, 'raft refused a message');
      }
    }
    this.schedule();
  }

  /**
   * Proposes an entry; throws ProposalDroppedError when raft cannot take it now. `asLeader`:
   * only if raft leads right now (its own state, which may be ahead of the last Ready's), so
   * that the entry is appended here in this term and never forwarded; else not_leader.
   */
  propose(data: Uint8Array, asLeader = false): void {
    if (this.stopped || this.closing) throw new CairnError(ErrorCode.Stopped);
    if (asLeader && this.node.raft.state !== 'leader') throw new CairnError(ErrorCode.NotLeader, 'this member no longer leads; the request was not proposed');
    this.node.propose(data);
    this.schedule();
  }

  proposeConfChange(cc: ConfChange): void {
    if (this.stopped || this.closing) throw new CairnError(ErrorCode.Stopped);
    this.node.proposeConfChange(cc);
    this.schedule();
  }

  transferLeadership(to: NodeId): void {
    this.node.transferLeadership(to);
    this.schedule();
  }

  /** Resolves once reading local state is linearizable (ReadIndex). */
  readBarrier(timeoutMs: number): Promise<void> {
    return this.reads.wait(timeoutMs);
  }

  reportUnreachable(id: NodeId): void {
    if (this.stopped) return;
    this.node.reportUnreachable(id);
    this.schedule();
  }

  /** The connection to `id` dropped: if it leads, this follower may campaign sooner (Raft.leaderLinkLost). */
  leaderLinkLost(id: NodeId): void {
    if (this.stopped) return;
    this.node.leaderLinkLost(id);
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      this.sendSoon();
      return;
    }
    this.running = true;
    if (this.signalIdle === undefined) this.idle = new Promise((r) => (this.signalIdle = r));
    // One macrotask of slack: every proposal of this I/O turn joins the same Ready.
    this.o.scheduler.defer(() => void this.loop());
  }

  /**
   * While the loop is busy (a Ready alone on the disk, or `pipelineDepth` in flight), what may
   * leave now leaves (RawNode.takeMessages): the leader's heartbeats (and so ReadIndex rounds),
   * forwarded proposals and ReadIndex confirmations are not held behind its fsync. Appends wait
   * for the next Ready, as one MsgApp per follower: sending each I/O turn's proposals at once
   * measured slower at 128 in flight (followers then fsync smaller batches). Once per I/O turn.
   */
  private sendSoon(): void {
    if (this.sendQueued) return;
    this.sendQueued = true;
    this.o.scheduler.defer(() => {
      this.sendQueued = false;
      if (this.stopped) return;
      const msgs = this.node.takeMessages(false);
      if (msgs.length > 0) this.send(msgs);
      // Reads confirmed meanwhile need not wait for the write either (only for applied).
      for (const rs of this.node.takeReadStates()) this.reads.readState(rs);
    });
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        while (!this.stopped && this.inFlight < this.pipelineDepth && (this.node.hasReady() || this.snapshots.installPending)) {
          // Counted as it is taken: a snapshot staged from now on is for a later Ready.
          const rd = this.node.ready();
          const n = ++this.readyCount;
          if (rd.snapshot !== undefined || this.snapshots.installPending || this.writes.exclusivePending) {
            // Alone: after every Ready in flight, and with nothing else on the disk.
            await this.lastFinish;
            await this.writes.exclusive(() => this.handleReady(rd, n));
          } else {
            this.takeReady(rd);
          }
        }
        // Applied state no write took along: write it soon, on its own if nothing comes.
        if (!this.stopped) this.writes.scheduleFlush();
      } while (this.again && !this.stopped);
    } catch (err) {
      this.fail(err);
    } finally {
      this.running = false;
      this.settleIdle();
    }
  }

  /** Resolves `idle` once the loop has stopped and no Ready is in flight. */
  private settleIdle(): void {
    if (this.running || this.inFlight > 0) return;
    this.signalIdle?.();
    this.signalIdle = undefined;
  }

  /** Steps 1-2 of a Ready now, its write queued behind the ones in flight, and steps 4-5 once they all landed. */
  private takeReady(rd: Ready): void {
    this.inFlight++;
    if (rd.messages.length > 0) this.send(rd.messages);
    this.applyCommitted(rd);
    const written = this.writes.persist(rd);
    const before = this.lastFinish;
    this.lastFinish = (async () => {
      const batch = await written;
      await before;
      this.finishReady(rd);
      this.writes.compactSoon(batch);
    })()
      .catch((err: unknown) => this.fail(err))
      .finally(() => {
        this.inFlight--;
        this.schedule();
        this.settleIdle();
      });
  }

  /** A Ready taken alone (see the class comment): every step in order, on the disk chain. */
  private async handleReady(rd: Ready, n: number): Promise<void> {
    // 1. Send what may leave before the write (the leader's appends and heartbeats).
    if (rd.messages.length > 0) this.send(rd.messages);
    await this.snapshots.onReady(n, rd.snapshot);
    this.applyCommitted(rd);
    const batch = await this.writes.persist(rd);
    this.finishReady(rd);
    await this.writes.compactAfter(batch);
  }

  /** Step 2: apply in memory, and reveal: the entries are committed, so durable on a quorum. */
  private applyCommitted(rd: Ready): void {
    for (const e of rd.committedEntries) this.apply(e);
    if (rd.committedEntries.length > 0) this.o.stateMachine.reveal();
    if (this.o.ackBeforeDurable === true && rd.messagesAfterPersist.length > 0) this.send(rd.messagesAfterPersist);
  }

  /** Steps 4-5, once the Ready's write (and every earlier one) landed. */
  private finishReady(rd: Ready): void {
    // 4. Send votes and acknowledgements (only now: they promise what the write made durable).
    if (this.o.ackBeforeDurable !== true && rd.messagesAfterPersist.length > 0) this.send(rd.messagesAfterPersist);
    if (rd.softState !== undefined) {
      // A new term as leader starts a new heartbeat rhythm.
      this.heartbeatSentMs.clear();
      this.soft = rd.softState;
      this.o.host.softState(rd.softState);
    }
    for (const rs of rd.readStates) this.reads.readState(rs);
    this.node.advance();
    this.reads.applied(this.o.stateMachine.appliedIndex());
  }

  private apply(e: Entry): void {
    const sm = this.o.stateMachine;
    if (e.type === 'confChange') {
      const cc = decodeConfChange(e.data);
      const cs = this.node.applyConfChange(cc);
      sm.applyConfChange(e, cc, cs);
    } else {
      sm.applyNormal(e);
    }
  }

  private send(msgs: readonly Message[]): void {
    const out: Message[] = [];
    for (const m of msgs) {
      if (m.type === 'MsgSnap') this.snapshots.send(m.to);
      else out.push(m);
      if (m.type === 'MsgHeartbeat') this.heartbeatSent(m.to);
    }
    if (out.length > 0) this.o.transport.send(out);
  }

  /**
   * etcd's heartbeat check: a leader whose heartbeats to a follower are spaced more than two
   * heartbeat intervals apart is too slow to keep its followers from electing (a slow disk or
   * a blocked event loop), which etcd counts as a heartbeat send failure.
   */
  private heartbeatSent(to: NodeId): void {
    const now = this.o.clock.monotonic();
    const last = this.heartbeatSentMs.get(to);
    this.heartbeatSentMs.set(to, now);
    if (last !== undefined && now - last > 2 * this.o.tickMs) {
      this.o.log.warn({ to: to.toString(16), sinceLastMs: Math.round(now - last), heartbeatIntervalMs: this.o.tickMs }, 'leader sent a heartbeat late; likely overloaded (slow disk or busy event loop)');
      this.o.host.heartbeatLate?.();
    }
  }

  /** The follower's side of a leader's snapshot transfer (see transport/snapshotStream.ts). */
  receiveSnapshot(from: NodeId, term: number): SnapshotReceiver {
    return this.snapshots.receive(from, term);
  }

  private fail(err: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.failed = true;
    this.stopTimers();
    this.reads.close();
    this.o.host.fatal(err);
  }

  private stopTimers(): void {
    this.cancelTicker?.();
    this.cancelTicker = undefined;
    this.writes.cancel();
  }

  /**
   * Stops ticking and taking proposals; lets the loop finish what is in flight, for at most
   * CLOSE_DRAIN_MS, then stops taking input. Finishing matters: an entry whose write is in
   * flight commits only once that write lands (on a single member, or on the leader when the
   * followers were faster), one Ready later; stopping after the write alone would make its
   * proposer hear `stopped` for a write that a restart then applies.
   */
  async close(): Promise<void> {
    this.cancelTicker?.();
    this.cancelTicker = undefined;
    this.closing = true;
    this.reads.close();
    this.snapshots.cancel();
    const clock = this.o.clock;
    const drainUntil = clock.monotonic() + CLOSE_DRAIN_MS;
    while ((this.running || this.inFlight > 0) && clock.monotonic() < drainUntil) {
      let cancel = (): void => undefined;
      await Promise.race([this.idle, new Promise<void>((r) => (cancel = this.o.scheduler.after(drainUntil - clock.monotonic(), r)))]);
      cancel();
    }
    this.stopped = true;
    this.stopTimers();
    while (this.running || this.inFlight > 0) await this.idle;
    await this.writes.settled();
    // What was applied in memory goes to disk, so a restart has nothing to replay (unless the
    // disk is what failed).
    if (!this.failed) await this.writes.flush(true);
  }
}
