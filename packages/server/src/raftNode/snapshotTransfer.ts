import { CairnError, ErrorCode } from '@cairn/protocol';
import { EMPTY_BYTES, makeMessage, type Message, type NodeId, type Snapshot, type SnapshotMetadata } from '@cairn/raft';
import type { Backend } from '../storage/backend.js';
import type { RaftTransport } from '../transport/transport.js';
import type { SnapshotReceiver } from '../transport/snapshotStream.js';
import type { Clock } from '../clock.js';
import { STATE_TABLES } from '../storage/keyspace.js';
import { invariant } from '../mvcc/revision.js';
import { LogStorage } from './logStorage.js';
import { clearStaging, copyStaged, INSTALL_MARKER_KEY, installMarkerOps, stageOps, stagedMetadata, stateChunks } from './snapshot.js';
import type { DriverLog } from './driverTypes.js';

/** What a transfer needs from the driver. */
export interface SnapshotTransferHost {
  readonly id: NodeId;
  readonly backend: Backend;
  readonly transport: RaftTransport;
  readonly log: LogStorage;
  readonly logger: DriverLog;
  readonly clock: Clock;
  /** The driver takes input (not stopped, not closing). */
  accepting(): boolean;
  /** Raft's current term (a transfer's messages carry it). */
  term(): number;
  /** How many Readys the driver has handled so far. */
  readyCount(): number;
  /** Runs `fn` alone on the disk (ReadyWrites.exclusive). */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** Steps a message into raft. */
  step(msgs: readonly Message[]): void;
  /** A send to `to` ended; raft hears it (the driver ignores it once stopped). */
  reportSnapshot(to: NodeId, ok: boolean): void;
  /** The state tables now hold the snapshot at `meta`: reload the state machine. */
  installed(meta: SnapshotMetadata): void;
}

interface PendingInstall {
  readonly meta: SnapshotMetadata;
  /** The Ready count when it was stepped: the next Readys install it (or not). */
  readonly afterReady: number;
  readonly done: (err?: Error) => void;
}

/**
 * Both sides of state-machine snapshot transfers (snapshot.ts has the format): a leader
 * streams its live state to a follower whose log is too far behind, and a follower stages a
 * leader's stream, steps it into raft as a MsgSnap, and installs it with the Ready that
 * carries it (or drops it if raft no longer needs it).
 */
export class SnapshotTransfers {
  private readonly sending = new Set<NodeId>();
  /** A staged snapshot stepped into raft, waiting for the Ready that installs (or ignores) it. */
  private pending: PendingInstall | undefined;
  private receiving = false;

  constructor(private readonly h: SnapshotTransferHost) {}

  /**
   * Finishes an install a crash interrupted (see snapshot.ts), or drops rows a transfer left
   * staged. Runs before the log and the state machine are opened.
   */
  static async recover(backend: Backend): Promise<void> {
    if (backend.get(INSTALL_MARKER_KEY) === undefined) {
      await clearStaging(backend);
      return;
    }
    const meta = stagedMetadata(backend);
    await copyStaged(backend);
    const log = LogStorage.load(backend);
    await backend.write([...log.restore(meta), { type: 'del', key: INSTALL_MARKER_KEY }], { sync: true });
    await clearStaging(backend);
  }

  /** A staged snapshot waits for a Ready. */
  get installPending(): boolean {
    return this.pending !== undefined;
  }

  /** Streams the live state to a follower that needs a snapshot (one transfer per follower at a time). */
  send(to: NodeId): void {
    if (this.sending.has(to)) return;
    this.sending.add(to);
    const { logger, clock } = this.h;
    const chunks = stateChunks(this.h.backend);
    const t0 = clock.monotonic();
    logger.info({ to: to.toString(16) }, 'sending a snapshot');
    const finish = (ok: boolean): void => {
      chunks.close();
      this.sending.delete(to);
      this.h.reportSnapshot(to, ok);
    };
    this.h.transport.sendSnapshot(to, this.h.term(), chunks.next).then(
      ({ rows }) => {
        logger.info({ to: to.toString(16), rows, ms: Math.round(clock.monotonic() - t0) }, 'snapshot sent');
        finish(true);
      },
      (err: unknown) => {
        logger.warn({ to: to.toString(16), err: (err as Error).message }, 'snapshot transfer failed');
        finish(false);
      },
    );
  }

  /** The follower's side of a leader's snapshot transfer (see transport/snapshotStream.ts). */
  receive(from: NodeId, term: number): SnapshotReceiver {
    const h = this.h;
    if (!h.accepting()) throw new CairnError(ErrorCode.Stopped);
    if (this.receiving) throw new CairnError(ErrorCode.Unavailable, 'a snapshot is already being received');
    this.receiving = true;
    let cleared = h.exclusive(() => clearStaging(h.backend));
    let failed = false;
    const finish = (): void => {
      this.receiving = false;
    };
    return {
      chunk: async (rows) => {
        await cleared;
        await h.backend.write(stageOps(rows), { sync: false });
      },
      end: async () => {
        await cleared;
        const meta = stagedMetadata(h.backend);
        await new Promise<void>((resolve, reject) => {
          this.pending = {
            meta,
            afterReady: h.readyCount(),
            done: (err) => {
              finish();
              if (err === undefined) resolve();
              else reject(err);
            },
          };
          h.logger.info({ from: from.toString(16), index: meta.index }, 'snapshot received; installing');
          h.step([makeMessage({ type: 'MsgSnap', from, to: h.id, term, snapshot: { data: EMPTY_BYTES, metadata: meta } })]);
        });
      },
      abort: () => {
        if (failed) return;
        failed = true;
        if (this.pending === undefined) {
          cleared = h.exclusive(() => clearStaging(h.backend));
          finish();
        }
      },
    };
  }

  /**
   * Called at the start of Ready number `readyN` (on the disk chain): installs the staged
   * snapshot if this Ready carries it, or drops it if raft did not need it.
   */
  async onReady(readyN: number, snapshot: Snapshot | undefined): Promise<void> {
    const install = this.pending;
    if (install === undefined || readyN <= install.afterReady) {
      invariant(snapshot === undefined, 'raft restored a snapshot that was not staged');
      return;
    }
    this.pending = undefined;
    if (snapshot === undefined) {
      // Raft did not need it (its log had caught up meanwhile): nothing to install.
      await clearStaging(this.h.backend);
      install.done();
      return;
    }
    invariant(snapshot.metadata.index === install.meta.index, 'raft took a snapshot other than the staged one');
    try {
      await this.install(install.meta);
    } catch (err) {
      install.done(err as Error);
      throw err;
    }
    install.done();
  }

  /** close(): a staged snapshot will not be installed. */
  cancel(): void {
    this.pending?.done(new CairnError(ErrorCode.Stopped));
    this.pending = undefined;
  }

  /** Swaps the staged state in (Ready.snapshot), rebases the log, reloads the state machine. */
  private async install(meta: SnapshotMetadata): Promise<void> {
    const { backend, log } = this.h;
    // Readers (serializable reads, watch catch-up, hashes) keep seeing the old state tables
    // until the state machine reloads: unpinned and reloaded in one turn, never half-copied.
    const unpin = backend.pin(STATE_TABLES);
    let rows: number;
    try {
      await backend.write(installMarkerOps(meta), { sync: true });
      rows = await copyStaged(backend);
      await backend.write([...log.restore(meta), { type: 'del', key: INSTALL_MARKER_KEY }], { sync: true });
      log.restorePersisted(meta);
      await log.clearBelowBase();
      await clearStaging(backend);
    } finally {
      unpin();
    }
    this.h.installed(meta);
    this.h.logger.info({ index: meta.index, term: meta.term, rows }, 'installed a snapshot');
  }
}
