// Types and constants shared by the simulator's parts.
import type { ConfState, MemoryStorage, NodeId, RawNode, Ready } from '../src/index.js';
import type { KvStateMachine } from './kv.js';

export type KvInput =
  | { readonly kind: 'get'; readonly key: string }
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly kind: 'cas'; readonly key: string; readonly from: string; readonly to: string };
export type KvOutput = string | boolean | null;
/** Shape of @cairn/linearizability's Operation. */
export interface HistoryOp {
  client: number;
  input: KvInput;
  call: number;
  output?: KvOutput;
  ret: number;
}

export interface SimOptions {
  seed: number;
  /** Rounds of the faulty phase (one tick per node per round). */
  rounds?: number;
  /** TEST ONLY: run every node with the broken Figure 8 commit rule. */
  unsafeCommit?: boolean;
  /** TEST ONLY: leaders count their own entries toward commit before they are durable. */
  unsafeSelfCount?: boolean;
  /** TEST ONLY: serve reads from the contacted node's state without ReadIndex (stale reads). */
  unsafeLocalReads?: boolean;
  /**
   * Readys a node may have in flight at once (RawNode's pipelined writes); default: 1 for half
   * of the seeds, 2 to 4 for the others (drawn from the seed, apart from the run's own stream).
   */
  pipeline?: number;
  /** Receives a human-readable line per notable event. */
  trace?: (line: string) => void;
  /** Also trace every delivered message (very verbose). */
  traceMessages?: boolean;
}

export interface SimStats {
  nodes: number;
  preVote: boolean;
  checkQuorum: boolean;
  /** Readys a node may have in flight at once (its pipeline depth). */
  pipeline: number;
  /** Readys taken while another one's write was still in flight. */
  pipelinedReadys: number;
  rounds: number;
  messages: number;
  dropped: number;
  proposals: number;
  committedOps: number;
  reads: number;
  unknownOps: number;
  crashes: number;
  partitions: number;
  confChanges: number;
  transfers: number;
  snapshots: number;
  elections: number;
  maxCommit: number;
  livenessTicks: number;
}

export interface SimResult {
  seed: number;
  ok: boolean;
  violation?: string;
  /** Round at which the violation was detected. */
  round?: number;
  stats: SimStats;
  history: HistoryOp[];
}

export const ELECTION_TICKS = 10;
export const HEARTBEAT_TICKS = 2;
export const KEYS = ['a', 'b', 'c'];
export const OP_TIMEOUT = 80;
export const LIVENESS_BOUND = 20 * ELECTION_TICKS;

export interface PendingOp {
  readonly client: number;
  readonly opId: number;
  readonly input: KvInput;
  readonly call: number;
  readonly deadline: number;
  readonly node: NodeId;
  readIndex?: number;
}

export interface Node {
  readonly rn: RawNode;
  sm: KvStateMachine;
  appliedIndex: number;
  confState: ConfState;
  /** Inputs were fed since the last Ready was handled. */
  dirty: boolean;
  /** The Readys whose writes are in flight, oldest first: their `messages` left, the rest waits for the writes. */
  inflight: Ready[];
  /** Highest commit index already checked against the disks (checkCommitDurable). */
  checkedCommit: number;
}

export interface Machine {
  readonly id: NodeId;
  /** Durable state: only what the driver persisted before "fsync" survives a crash. */
  readonly disk: MemoryStorage;
  node: Node | null;
  restartAt: number;
  /** Index of the latest applied removal of this member (-1: none). */
  removedAt: number;
  /** Index of the latest conf change re-adding it; older removals no longer stop it. */
  addedAt: number;
}

