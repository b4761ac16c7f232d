import type { Entry, HardState, Ready, SnapshotMetadata } from '@cairn/raft';
import type { Backend, BatchOp } from '../storage/backend.js';
import type { Clock, Scheduler } from '../clock.js';
import type { LogStorage } from './logStorage.js';
import type { DriverHost, DriverLog, StateMachine } from './driverTypes.js';

/**
 * How long applied state may wait in memory for a write to ride along with (the next Ready's
 * log write) before it is written on its own; and how many applied entries force it sooner.
 */
const STATE_FLUSH_DELAY_MS = 10;
const STATE_FLUSH_MAX_ENTRIES = 4096;

/** The state machine's batch a write carried, if any. */
export type Drained = ReturnType<StateMachine['drain']>;

export interface ReadyWritesOptions {
  readonly backend: Backend;
  readonly log: LogStorage;
  readonly stateMachine: StateMachine;
  readonly host: Pick<DriverHost, 'wrote'>;
  readonly logger: DriverLog;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  /** Entries applied between log compactions (etcd's --snapshot-count). */
  readonly snapshotCount: number;
  /** The driver stopped: a pending flush does nothing. */
  readonly stopped: () => boolean;
  /** A write failed: the member must stop. */
  readonly failed: (err: unknown) => void;
}

/**
 * What the driver's loop puts on disk, and when (step 3 of driver.ts's loop): a Ready's entries
 * and HardState with the state machine's batch in one write, a commit-only HardState and applied
 * state deferred to ride along with the next write (or written on their own after
 * STATE_FLUSH_DELAY_MS), and a snapshot point every `snapshotCount` entries. The loop's
 * writes may be several in flight (they land in the order sent); everything that must run
 * alone (clears of staging: Backend.clear must run alone; a snapshot point; an install) runs
 * on one chain (`exclusive`), after every write sent before it.
 */
export class ReadyWrites {
  private chain: Promise<void> = Promise.resolve();
  /** Runs of `exclusive` queued or running: the driver's loop takes its Readys alone meanwhile. */
  private exclusives = 0;
  /**
   * Writes sent and not yet landed (with their bookkeeping), and who waits for none to be.
   * Counted, not chained: a write with nothing to write settles at once, ahead of the ones
   * before it.
   */
  private writesInFlight = 0;
  private landedWaiters: (() => void)[] = [];
  /** A HardState (commit index moved only) not written yet: it rides along with the next write. */
  private deferredHardState: HardState | undefined;
  /** The timer that writes applied state nothing else wrote. */
  private cancelFlush: (() => void) | undefined;
  /** The applied index the state tables on disk hold. */
  private writtenAppliedIndex: number;
  /** Index of the last snapshot point (the log's next base). */
  private lastSnapshotIndex: number;

  constructor(private readonly o: ReadyWritesOptions) {
    this.writtenAppliedIndex = o.stateMachine.appliedIndex();
    this.lastSnapshotIndex = o.log.baseMetadata.index;
  }

  /**
   * Runs `fn` alone on the disk: after every write sent so far (pipelined ones included) has
   * landed, and after the `exclusive` runs queued before it.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.exclusives++;
    const run = this.chain
      .then(() => this.allLanded())
      .then(fn)
      .finally(() => this.exclusives--);
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** An `exclusive` run is queued or running: new writes must wait for it. */
  get exclusivePending(): boolean {
    return this.exclusives > 0;
  }

  /** Resolves once every write queued so far has finished. */
  settled(): Promise<void> {
    return this.chain.then(() => this.allLanded());
  }

  private allLanded(): Promise<void> {
    if (this.writesInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.landedWaiters.push(resolve));
  }

  /**
   * Persists what `rd` needs durable before its acknowledgements leave: entries, HardState and
   * the state machine's batch in one atomic write (fsynced when raft says so). A Ready with no
   * entries and nothing to sync writes nothing: its HardState waits for the next write.
   */
  async persist(rd: Ready): Promise<Drained> {
    if (rd.entries.length > 0 || rd.mustSync || rd.snapshot !== undefined || this.appliedUnwritten() >= STATE_FLUSH_MAX_ENTRIES) {
      return this.write(rd.entries, rd.hardState, rd.mustSync);
    }
    if (rd.hardState !== undefined) this.deferredHardState = rd.hardState;
    return undefined;
  }

  /**
   * One write: the deferred HardState first, then `entries` and `hardState`, then what the
   * state machine applied since its last write. Returns the state machine's batch, if any.
   */
  private write(entries: readonly Entry[], hardState: HardState | undefined, sync: boolean): Promise<Drained> {
    this.writesInFlight++;
    // Counted down after the bookkeeping too: what runs alone next sees the log as written.
    return this.writeNow(entries, hardState, sync).finally(() => {
      if (--this.writesInFlight > 0) return;
      const waiters = this.landedWaiters;
      this.landedWaiters = [];
      for (const w of waiters) w();
    });
  }

  private async writeNow(entries: readonly Entry[], hardState: HardState | undefined, sync: boolean): Promise<Drained> {
    const { backend, log, clock } = this.o;
    const deferred = this.deferredHardState;
    this.deferredHardState = undefined;
    const ops: BatchOp[] = [];
    if (deferred !== undefined) ops.push(...log.setHardState(deferred));
    ops.push(...log.append(entries));
    if (hardState !== undefined) ops.push(...log.setHardState(hardState));
    const batch = this.o.stateMachine.drain();
    if (batch !== undefined) for (const op of batch.ops) ops.push(op);
    if (ops.length > 0) {
      const t0 = clock.monotonic();
      await backend.write(ops, { sync });
      this.o.host.wrote?.((clock.monotonic() - t0) / 1000, entries.length);
    }
    log.appendPersisted(entries);
    const hs = hardState ?? deferred;
    if (hs !== undefined) log.hardStatePersisted(hs);
    if (batch !== undefined) {
      this.writtenAppliedIndex = batch.position.index;
      batch.release();
    }
    return batch;
  }

  /** No deferred HardState and no applied state that a write has not taken yet. */
  private nothingUnwritten(): boolean {
    return this.deferredHardState === undefined && this.appliedUnwritten() === 0;
  }

  /** Entries applied in memory since the state machine's last write. */
  private appliedUnwritten(): number {
    return this.o.stateMachine.appliedIndex() - this.writtenAppliedIndex;
  }

  /** Writes applied state and a deferred HardState after STATE_FLUSH_DELAY_MS, unless a write took them first. */
  scheduleFlush(): void {
    if (this.cancelFlush !== undefined) return;
    if (this.nothingUnwritten()) return;
    this.cancelFlush = this.o.scheduler.after(STATE_FLUSH_DELAY_MS, () => {
      this.cancelFlush = undefined;
      if (this.o.stopped()) return;
      if (this.exclusivePending) {
        this.exclusive(() => this.flush()).catch((err: unknown) => this.o.failed(err));
        return;
      }
      // Queued behind the loop's writes in flight (they land in order): it need not wait for
      // them, nor hold the loop's next Readys back as a run alone would.
      if (this.nothingUnwritten()) return;
      this.write([], undefined, false).then(
        (written) => this.compactSoon(written),
        (err: unknown) => this.o.failed(err),
      );
    });
  }

  /** Stops the pending flush timer (close() flushes itself). */
  cancel(): void {
    this.cancelFlush?.();
    this.cancelFlush = undefined;
  }

  /**
   * Unsynced while running: what it writes is derived from log entries already fsynced (a
   * restart replays them), and the synced writes that depend on it (a snapshot point, an
   * install) make it durable too (Backend: a synced write covers the ones before it).
   */
  async flush(sync = false): Promise<void> {
    if (this.nothingUnwritten()) return;
    await this.compactAfter(await this.write([], undefined, sync));
  }

  /** Whether `written` reaches the next snapshot point (compactAfter has work to do). */
  private compactionDue(written: Drained): written is NonNullable<Drained> {
    return written !== undefined && written.position.index - this.lastSnapshotIndex >= this.o.snapshotCount;
  }

  /**
   * `written` is what the last write put on disk. Every snapshotCount entries its position
   * becomes a snapshot point (fsynced), and the log drops what is older than the previous point.
   */
  async compactAfter(written: Drained): Promise<void> {
    if (!this.compactionDue(written)) return;
    const position = written.position;
    const { log } = this.o;
    const { ops, compactTo } = log.snapshotAt(position);
    await this.o.backend.write(ops, { sync: true });
    log.snapshotPersisted(position, compactTo);
    this.lastSnapshotIndex = position.index;
    if (compactTo !== undefined) {
      await log.clearBelowBase();
      this.o.logger.info({ index: compactTo.index }, 'compacted the raft log');
    }
  }

  /** compactAfter for a pipelined write: alone on the disk, after the writes in flight. */
  compactSoon(written: Drained): void {
    if (!this.compactionDue(written)) return;
    this.exclusive(() => this.compactAfter(written)).catch((err: unknown) => this.o.failed(err));
  }

  /** A snapshot was installed at `meta` and the state machine reloaded from it. */
  installed(meta: SnapshotMetadata): void {
    this.lastSnapshotIndex = meta.index;
    this.writtenAppliedIndex = this.o.stateMachine.appliedIndex();
  }
}
