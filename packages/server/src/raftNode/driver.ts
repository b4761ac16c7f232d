import { randomBytes } from 'node:crypto';
import { CairnError, ErrorCode } from '@cairn/protocol';
import {
  EMPTY_BYTES,
  RawNode,
  SeededRng,
  decodeConfChange,
  makeMessage,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Logger as RaftLogger,
  type LogFields as RaftLogFields,
  type Message,
  type NodeId,
  type Ready,
  type SnapshotMetadata,
  type SoftState,
  type Status,
} from '@cairn/raft';
import type { Backend, BatchOp } from '../storage/backend.js';
import type { RaftTransport } from '../transport/transport.js';
import type { SnapshotReceiver } from '../transport/snapshotStream.js';
import { LogStorage } from './logStorage.js';
import { ReadIndexQueue } from './reads.js';
import { clearStaging, copyStaged, INSTALL_MARKER_KEY, installMarkerOps, stageOps, stagedMetadata, stateChunks } from './snapshot.js';
import { invariant } from '../mvcc/revision.js';
import type { Clock, Scheduler } from '../clock.js';
import { STATE_TABLES } from '../storage/keyspace.js';

/** The replicated state machine as the driver sees it (the member's applier). */
export interface StateMachine {
  /** Index of the last entry applied (in memory). */
  appliedIndex(): number;
  /** Applies a committed normal entry (a proposal, or a leader's empty no-op). */
  applyNormal(entry: Entry): void;
  /** Applies a committed confChange entry; `confState` is raft's membership after it. */
  applyConfChange(entry: Entry, cc: ConfChange, confState: ConfState): void;
  /**
   * The entries applied so far are committed (durable on a quorum's logs): what they did may
   * be seen now (answers, watch events), before the state machine's own write lands. A crash
   * takes none of it back: a restart replays the log from the applied index on disk.
   */
  reveal(): void;
  /**
   * Everything applied since the last drain, as batch operations (applied index and its term
   * and membership included), and `release` to call once they are written.
   */
  drain(): { ops: BatchOp[]; position: SnapshotMetadata; release: () => void } | undefined;
  /** The state tables were replaced by a snapshot: reload from the backend. */
  restored(): void;
}

export interface DriverHost {
  /** Leader or role changed. */
  softState(ss: SoftState): void;
  /** A disk write failed or an invariant broke: the member must stop. */
  fatal(err: unknown): void;
  /** One write of the loop took `seconds` (with its fsync, if any) and carried `entries` log entries. */
  wrote?(seconds: number, entries: number): void;
  /** A heartbeat left more than two heartbeat intervals after the previous one to the same follower. */
  heartbeatLate?(): void;
}

export interface DriverLog {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
  /** Safety violations and refused input; falls back to warn. */
  error?(o: object, msg: string): void;
  debug(o: object, msg: string): void;
}

export interface DriverOptions {
  readonly id: NodeId;
  readonly backend: Backend;
  readonly transport: RaftTransport;
  readonly stateMachine: StateMachine;
  readonly host: DriverHost;
  readonly log: DriverLog;
  /** Durations and deadlines (`monotonic`). */
  readonly clock: Clock;
  /** Every timer the driver arms, and its turns of the loop (`defer`). */
  readonly scheduler: Scheduler;
  /** Seeds raft's randomized election timeouts; default: random. */
  readonly rngSeed?: number;
  /** One raft tick (etcd's --heartbeat-interval). */
  readonly tickMs: number;
  /** Election timeout in ticks (etcd: --election-timeout / --heartbeat-interval). */
  readonly electionTicks: number;
  /** Entries applied between log compactions (etcd's --snapshot-count). */
  readonly snapshotCount: number;
  readonly maxSizePerMsgBytes?: number;
  readonly maxInflightMsgs?: number;
  /** TEST ONLY, a planted bug (MemberOptions.plantedBugs): acknowledge before the write is durable. */
  readonly ackBeforeDurable?: boolean;
}

const DEFAULT_MAX_SIZE_PER_MSG_BYTES = 1 << 20;
const DEFAULT_MAX_INFLIGHT_MSGS = 256;
/** How long close() lets the loop finish the Readys in flight before it stops taking input. */
const CLOSE_DRAIN_MS = 2000;
/**
 * How long applied state may wait in memory for a write to ride along with (the next Ready's
 * log write) before it is written on its own; and how many applied entries force it sooner.
 */
const STATE_FLUSH_DELAY_MS = 10;
const STATE_FLUSH_MAX_ENTRIES = 4096;
/** A leader holding more uncommitted entry bytes than this drops new proposals (back-pressure). */
const MAX_UNCOMMITTED_BYTES = 256 << 20;

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
 *      state wait (at most STATE_FLUSH_DELAY_MS) to ride along with the next write, so a
 *      put costs one write, not two;
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
 * The state machine's part of a write needs no fsync of its own, nor does a HardState whose
 * commit index alone moved: after a crash the log replays from the applied index that is on
 * disk (never past the commit index on disk: both travel in the same writes, in order). A follower that needs entries the log no longer has gets the
 * live state streamed (snapshot.ts).
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
  private readonly sending = new Set<NodeId>();
  /** A staged snapshot stepped into raft, waiting for the Ready that installs (or ignores) it. */
  private pendingInstall: { meta: SnapshotMetadata; afterReady: number; done: (err?: Error) => void } | undefined;
  private receiving = false;
  /** Index of the last snapshot point (the log's next base). */
  private lastSnapshotIndex: number;
  /** Serialises the loop's writes with clears of staging (Backend.clear must run alone). */
  private diskChain: Promise<void> = Promise.resolve();
  /** A HardState (commit index moved only) not written yet: it rides along with the next write. */
  private deferredHardState: HardState | undefined;
  /** The timer that writes applied state nothing else wrote (see STATE_FLUSH_DELAY_MS). */
  private cancelFlush: (() => void) | undefined;
  /** The applied index the state tables on disk hold. */
  private writtenAppliedIndex: number;
  /** When the last heartbeat to each follower left (`clock.monotonic()` ms), this term as leader. */
  private readonly heartbeatSentMs = new Map<NodeId, number>();

  private constructor(
    private readonly o: DriverOptions,
    log: LogStorage,
  ) {
    this.log = log;
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
    this.lastSnapshotIndex = log.baseMetadata.index;
    this.writtenAppliedIndex = o.stateMachine.appliedIndex();
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
   * Finishes an install a crash interrupted (see snapshot.ts), then opens the log. Call before
   * loading the state machine.
   */
  static async recover(backend: Backend): Promise<void> {
    const marker = backend.get(INSTALL_MARKER_KEY);
    if (marker === undefined) {
      // Rows staged by a transfer that never finished are garbage.
      await clearStaging(backend);
      return;
    }
    const meta = stagedMetadata(backend);
    await copyStaged(backend);
    const log = LogStorage.load(backend);
    await backend.write([...log.restore(meta), { type: 'del', key: INSTALL_MARKER_KEY }], { sync: true });
    await clearStaging(backend);
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
   * While the loop waits on a write, what may leave now leaves (RawNode.takeMessages): the
   * leader's heartbeats (and so ReadIndex rounds), forwarded proposals and ReadIndex
   * confirmations are not held behind its fsync. Appends wait for the next Ready, as one
   * MsgApp per follower: sending each I/O turn's proposals at once measured slower at 128 in
   * flight (followers then fsync smaller batches). Once per I/O turn.
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

  /** Runs `fn` alone on the disk (no loop write in flight). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.diskChain.then(fn);
    this.diskChain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        while (!this.stopped && (this.node.hasReady() || this.pendingInstall !== undefined)) {
          await this.exclusive(() => this.handleReady(this.node.ready()));
        }
        // Applied state no write took along: write it soon, on its own if nothing comes.
        if (!this.stopped) this.scheduleFlush();
      } while (this.again && !this.stopped);
    } catch (err) {
      this.fail(err);
    } finally {
      this.running = false;
      this.signalIdle?.();
      this.signalIdle = undefined;
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    // 1. Send what may leave before the write (the leader's appends and heartbeats).
    if (rd.messages.length > 0) this.send(rd.messages);
    const n = ++this.readyCount;
    const sm = this.o.stateMachine;
    const install = this.pendingInstall;
    if (install !== undefined && n > install.afterReady) {
      this.pendingInstall = undefined;
      if (rd.snapshot !== undefined) {
        invariant(rd.snapshot.metadata.index === install.meta.index, 'raft took a snapshot other than the staged one');
        try {
          await this.install(install.meta);
        } catch (err) {
          install.done(err as Error);
          throw err;
        }
        install.done();
      } else {
        // Raft did not need it (its log had caught up meanwhile): nothing to install.
        await clearStaging(this.o.backend);
        install.done();
      }
    } else {
      invariant(rd.snapshot === undefined, 'raft restored a snapshot that was not staged');
    }

    // 2. Apply in memory, and reveal: the entries are committed, so durable on a quorum.
    for (const e of rd.committedEntries) this.apply(e);
    if (rd.committedEntries.length > 0) sm.reveal();

    const early = this.o.ackBeforeDurable === true;
    if (early && rd.messagesAfterPersist.length > 0) this.send(rd.messagesAfterPersist);

    // 3. Persist: entries, HardState and the state machine's batch, one atomic write; or
    // nothing yet, when nothing needs to be durable before the next step.
    let batch: ReturnType<StateMachine['drain']>;
    if (rd.entries.length > 0 || rd.mustSync || rd.snapshot !== undefined || this.appliedUnwritten() >= STATE_FLUSH_MAX_ENTRIES) {
      batch = await this.write(rd.entries, rd.hardState, rd.mustSync);
    } else if (rd.hardState !== undefined) {
      this.deferredHardState = rd.hardState;
    }

    // 4. Send votes and acknowledgements (only now: they promise what the write made durable).
    if (!early && rd.messagesAfterPersist.length > 0) this.send(rd.messagesAfterPersist);

    if (rd.softState !== undefined) {
      // A new term as leader starts a new heartbeat rhythm.
      this.heartbeatSentMs.clear();
      this.soft = rd.softState;
      this.o.host.softState(rd.softState);
    }
    for (const rs of rd.readStates) this.reads.readState(rs);
    this.node.advance();
    this.reads.applied(sm.appliedIndex());
    if (batch !== undefined) await this.maybeCompact(batch.position);
  }

  /**
   * One write: the deferred HardState first, then `entries` and `hardState`, then what the
   * state machine applied since its last write. Returns the state machine's batch, if any.
   */
  private async write(entries: readonly Entry[], hardState: HardState | undefined, sync: boolean): Promise<ReturnType<StateMachine['drain']>> {
    const deferred = this.deferredHardState;
    this.deferredHardState = undefined;
    const ops: BatchOp[] = [];
    if (deferred !== undefined) ops.push(...this.log.setHardState(deferred));
    ops.push(...this.log.append(entries));
    if (hardState !== undefined) ops.push(...this.log.setHardState(hardState));
    const batch = this.o.stateMachine.drain();
    if (batch !== undefined) for (const op of batch.ops) ops.push(op);
    if (ops.length > 0) {
      const t0 = this.o.clock.monotonic();
      await this.o.backend.write(ops, { sync });
      this.o.host.wrote?.((this.o.clock.monotonic() - t0) / 1000, entries.length);
    }
    this.log.appendPersisted(entries);
    const hs = hardState ?? deferred;
    if (hs !== undefined) this.log.hardStatePersisted(hs);
    if (batch !== undefined) {
      this.writtenAppliedIndex = batch.position.index;
      batch.release();
    }
    return batch;
  }

  /** Entries applied in memory since the state machine's last write. */
  private appliedUnwritten(): number {
    return this.o.stateMachine.appliedIndex() - this.writtenAppliedIndex;
  }

  /** Writes applied state and a deferred HardState after STATE_FLUSH_DELAY_MS, unless a write took them first. */
  private scheduleFlush(): void {
    if (this.cancelFlush !== undefined) return;
    if (this.deferredHardState === undefined && this.appliedUnwritten() === 0) return;
    this.cancelFlush = this.o.scheduler.after(STATE_FLUSH_DELAY_MS, () => {
      this.cancelFlush = undefined;
      if (this.stopped) return;
      this.exclusive(() => this.flushState()).catch((err: unknown) => this.fail(err));
    });
  }

  /**
   * Unsynced while running: what it writes is derived from log entries already fsynced (a
   * restart replays them), and the synced writes that depend on it (a snapshot point, an
   * install) make it durable too (Backend: a synced write covers the ones before it).
   */
  private async flushState(sync = false): Promise<void> {
    if (this.deferredHardState === undefined && this.appliedUnwritten() === 0) return;
    const batch = await this.write([], undefined, sync);
    if (batch !== undefined) await this.maybeCompact(batch.position);
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

  /**
   * `written` is the state the last write put on disk. Every snapshotCount entries it becomes
   * a snapshot point (fsynced), and the log drops what is older than the previous point.
   */
  private async maybeCompact(written: SnapshotMetadata): Promise<void> {
    if (written.index - this.lastSnapshotIndex < this.o.snapshotCount) return;
    const { ops, compactTo } = this.log.snapshotAt(written);
    await this.o.backend.write(ops, { sync: true });
    this.log.snapshotPersisted(written, compactTo);
    this.lastSnapshotIndex = written.index;
    if (compactTo !== undefined) {
      await this.log.clearBelowBase();
      this.o.log.info({ index: compactTo.index }, 'compacted the raft log');
    }
  }

  private send(msgs: readonly Message[]): void {
    const out: Message[] = [];
    for (const m of msgs) {
      if (m.type === 'MsgSnap') this.sendSnapshot(m.to);
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

  /** Streams the live state to a follower that needs a snapshot. */
  private sendSnapshot(to: NodeId): void {
    if (this.sending.has(to)) return;
    this.sending.add(to);
    const chunks = stateChunks(this.o.backend);
    const term = this.node.status().hardState.term;
    const t0 = this.o.clock.monotonic();
    this.o.log.info({ to: to.toString(16) }, 'sending a snapshot');
    this.o.transport.sendSnapshot(to, term, chunks.next).then(
      ({ rows }) => {
        this.o.log.info({ to: to.toString(16), rows, ms: Math.round(this.o.clock.monotonic() - t0) }, 'snapshot sent');
        this.finishSend(to, true, chunks.close);
      },
      (err: unknown) => {
        this.o.log.warn({ to: to.toString(16), err: (err as Error).message }, 'snapshot transfer failed');
        this.finishSend(to, false, chunks.close);
      },
    );
  }

  private finishSend(to: NodeId, ok: boolean, close: () => void): void {
    close();
    this.sending.delete(to);
    if (this.stopped) return;
    this.node.reportSnapshot(to, ok);
    this.schedule();
  }

  /** The follower's side of a leader's snapshot transfer (see transport/snapshotStream.ts). */
  receiveSnapshot(from: NodeId, term: number): SnapshotReceiver {
    if (this.stopped || this.closing) throw new CairnError(ErrorCode.Stopped);
    if (this.receiving) throw new CairnError(ErrorCode.Unavailable, 'a snapshot is already being received');
    this.receiving = true;
    const backend = this.o.backend;
    let cleared = this.exclusive(() => clearStaging(backend));
    let failed = false;
    const finish = (): void => {
      this.receiving = false;
    };
    return {
      chunk: async (rows) => {
        await cleared;
        await backend.write(stageOps(rows), { sync: false });
      },
      end: async () => {
        await cleared;
        const meta = stagedMetadata(backend);
        await new Promise<void>((resolve, reject) => {
          this.pendingInstall = {
            meta,
            afterReady: this.readyCount,
            done: (err) => {
              finish();
              if (err === undefined) resolve();
              else reject(err);
            },
          };
          this.o.log.info({ from: from.toString(16), index: meta.index }, 'snapshot received; installing');
          this.step([makeMessage({ type: 'MsgSnap', from, to: this.o.id, term, snapshot: { data: EMPTY_BYTES, metadata: meta } })]);
        });
      },
      abort: () => {
        if (failed) return;
        failed = true;
        if (this.pendingInstall === undefined) {
          cleared = this.exclusive(() => clearStaging(backend));
          finish();
        }
      },
    };
  }

  /** Swaps the staged state in (Ready.snapshot), rebases the log, reloads the state machine. */
  private async install(meta: SnapshotMetadata): Promise<void> {
    const backend = this.o.backend;
    // Readers (serializable reads, watch catch-up, hashes) keep seeing the old state tables
    // until the state machine reloads: unpinned and reloaded in one turn, never half-copied.
    const unpin = backend.pin(STATE_TABLES);
    let rows: number;
    try {
      await backend.write(installMarkerOps(meta), { sync: true });
      rows = await copyStaged(backend);
      await backend.write([...this.log.restore(meta), { type: 'del', key: INSTALL_MARKER_KEY }], { sync: true });
      this.log.restorePersisted(meta);
      await this.log.clearBelowBase();
      await clearStaging(backend);
    } finally {
      unpin();
    }
    this.lastSnapshotIndex = meta.index;
    this.o.stateMachine.restored();
    this.writtenAppliedIndex = this.o.stateMachine.appliedIndex();
    this.o.log.info({ index: meta.index, term: meta.term, rows }, 'installed a snapshot');
  }

  private fail(err: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.failed = true;
    this.stopTimers();
    this.reads.close();
    this.o.host.fatal(err);
  }

  /**
   * Stops ticking and taking proposals; lets the loop finish what is in flight, for at most
   * CLOSE_DRAIN_MS, then stops taking input. Finishing matters: an entry whose write is in
   * flight commits only once that write lands (on a single member, or on the leader when the
   * followers were faster), one Ready later; stopping after the write alone would make its
   * proposer hear `stopped` for a write that a restart then applies.
   */
  private stopTimers(): void {
    this.cancelTicker?.();
    this.cancelTicker = undefined;
    this.cancelFlush?.();
    this.cancelFlush = undefined;
  }

  async close(): Promise<void> {
    this.cancelTicker?.();
    this.cancelTicker = undefined;
    this.closing = true;
    this.reads.close();
    this.pendingInstall?.done(new CairnError(ErrorCode.Stopped));
    this.pendingInstall = undefined;
    const clock = this.o.clock;
    const drainUntil = clock.monotonic() + CLOSE_DRAIN_MS;
    while (this.running && clock.monotonic() < drainUntil) {
      let cancel = (): void => undefined;
      await Promise.race([this.idle, new Promise<void>((r) => (cancel = this.o.scheduler.after(drainUntil - clock.monotonic(), r)))]);
      cancel();
    }
    this.stopped = true;
    this.stopTimers();
    while (this.running) await this.idle;
    await this.diskChain;
    // What was applied in memory goes to disk, so a restart has nothing to replay (unless the
    // disk is what failed).
    if (!this.failed) await this.flushState(true);
  }
}
