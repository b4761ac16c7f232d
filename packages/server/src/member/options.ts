import type { Message } from '@cairn/raft';
import type { ProposalAuth, ResponseFor, WriteRequest } from '../apply/requests.js';
import type { StoreOptions } from '../mvcc/store.js';
import type { Backend } from '../storage/backend.js';
import type { Identity } from '../identity.js';
import type { Clock, Scheduler } from '../clock.js';
import type { DriverLog } from '../raftNode/driver.js';
import type { RaftTransport } from '../transport/transport.js';

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
  /** Seconds one write of the raft loop (with its fsync, if any) took, and how many log entries it carried. */
  committed?(seconds: number, entries: number): void;
  /** Seconds one hashKv took (it reads the whole history up to its revision). */
  hashed?(seconds: number): void;
  /** A raft message from a peer was refused (`safetyViolation`, `unreadableEntry`). */
  peerRefused?(reason: string): void;
  /** Raft named a leader other than the one this member knew (not counted: losing one). */
  leaderChanged?(): void;
  /** A proposal of this member failed for want of consensus (timed out, dropped, leader lost, member stopped). */
  proposalFailed?(): void;
  /** As leader, a heartbeat to a follower left more than two heartbeat intervals after the previous one. */
  heartbeatLate?(): void;
}

/** What the member tells the transport layer (the hooks a RaftTransport reports through). */
export interface TransportHooks {
  /** `dropped` certainly never reached the peer. */
  unreachable(peer: bigint, dropped: readonly Message[]): void;
  refused(peer: bigint, code: string, message: string): void;
  /**
   * The connection to `peer` dropped after it was up (a closed socket: the peer's process
   * died or the network reset it). A hint only: raft may hold its election sooner.
   */
  linkLost?(peer: bigint): void;
}

export interface RaftSettings {
  /** One raft tick, etcd's --heartbeat-interval. Default 100. */
  readonly tickMs?: number;
  /** Election timeout in ticks (etcd's --election-timeout / --heartbeat-interval). Default 10. */
  readonly electionTicks?: number;
  /** Applied entries between log compactions (etcd's --snapshot-count). Default 10000. */
  readonly snapshotCount?: number;
  /** Seeds raft's randomized election timeouts (a simulation replays a seed exactly). Default: random. */
  readonly rngSeed?: number;
  /** Readys in flight at most (raftNode/driver.ts, "Pipelining"). Default 64; 1 turns it off. */
  readonly pipelineDepth?: number;
}

/**
 * TEST ONLY: bugs planted on purpose, so that the whole-member simulator (packages/server/sim,
 * `pnpm sim:cluster --bug NAME`) can show that it catches them. Absent (the default): none.
 */
export interface PlantedBugs {
  /** The raft driver sends votes and append acknowledgements before its write is durable. */
  readonly ackBeforeDurable?: boolean;
  /** The state machine's batches leave out the applied index (a restart replays applied entries). */
  readonly skipAppliedIndex?: boolean;
  /** Followers run lease expiry too, revoking leases whose renewals only the leader saw. */
  readonly expireLeasesOnFollowers?: boolean;
  /** A member that believes it leads serves linearizable reads from its own state, with no ReadIndex round. */
  readonly leaderLocalReads?: boolean;
  /** The applier does not re-check a request's auth when the auth store moved since the API checked it. */
  readonly skipAuthRecheck?: boolean;
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
  /** Time for lease expiry, deadlines and ids (never used inside apply). */
  readonly clock?: Clock;
  readonly scheduler?: Scheduler;
  /** A grant below this is raised to it. Default: 1.5 election timeouts, rounded up (etcd's). */
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
  /** TEST ONLY (see PlantedBugs). */
  readonly plantedBugs?: PlantedBugs;
}
