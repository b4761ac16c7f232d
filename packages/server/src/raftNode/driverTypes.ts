import type { ConfChange, ConfState, Entry, NodeId, SnapshotMetadata, SoftState } from '@cairn/raft';
import type { Backend, BatchOp } from '../storage/backend.js';
import type { RaftTransport } from '../transport/transport.js';
import type { Clock, Scheduler } from '../clock.js';

/*
 * What the raft driver needs from the member around it (driver.ts), and what it is given.
 * Owned here, by the consumer, so the member's parts depend on these and not on the driver.
 */

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
  /** Readys in flight at most (driver.ts, "Pipelining"); default 64, 1 turns it off. */
  readonly pipelineDepth?: number;
  /** TEST ONLY, a planted bug (MemberOptions.plantedBugs): acknowledge before the write is durable. */
  readonly ackBeforeDurable?: boolean;
}
