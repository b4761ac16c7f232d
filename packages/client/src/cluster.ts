import {
  Alarm,
  CairnError,
  Defragment,
  HashKv,
  ErrorCode,
  MemberAdd,
  MemberList,
  MemberPromote,
  MemberRemove,
  MemberUpdate,
  MoveLeader,
  Snapshot,
  Status,
  type AlarmMember,
  type AlarmResponse,
  type DefragmentResponse,
  type HashKvResponse,
  type MemberAddResponse,
  type MemberId,
  type MemberListResponse,
  type MemberPromoteResponse,
  type MemberRemoveResponse,
  type MemberUpdateResponse,
  type MoveLeaderResponse,
  type StatusResponse,
} from '@cairn/protocol';
import type { CallOptions, StreamOptions, Transport } from './transport.js';
import { SnapshotDownload } from './snapshot.js';
import { callOptionsOf, toInt64, type Int64Like } from './options.js';

export interface MemberListOptions extends CallOptions {
  /** Ask the leader (through a quorum read) rather than the contacted member's view. */
  readonly linearizable?: boolean;
}

export interface MemberAddOptions extends CallOptions {
  /** Add it as a learner: it receives the log but does not vote until `memberPromote`. */
  readonly isLearner?: boolean;
}

const MAX_UINT64 = (1n << 64n) - 1n;

/** A member id argument: 1 .. 2^64-1 (0 means "no member" on the wire). */
function memberId(id: Int64Like, what: string): MemberId {
  const v = toInt64(id, what);
  if (v <= 0n || v > MAX_UINT64) throw new CairnError(ErrorCode.InvalidArgument, `${what} must be between 1 and 2^64-1, got ${v}`);
  return v;
}

function peerUrlList(peerUrls: readonly string[]): string[] {
  const urls = peerUrls.map((u) => u.trim());
  if (urls.length === 0 || urls.some((u) => u === '')) {
    throw new CairnError(ErrorCode.InvalidArgument, 'at least one peer URL is required, and none may be empty');
  }
  return urls;
}

/**
 * Cluster membership. The changes (add, remove, update, promote) are writes: after a lost
 * connection they are not resent to another member unless the call sets `retry` (a resent add
 * may fail with `peer_url_exists`, a resent remove with `member_not_found`).
 */
export class Cluster {
  private readonly transport: Transport;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  memberList(options: MemberListOptions = {}): Promise<MemberListResponse> {
    const params = options.linearizable === true ? { linearizable: true } : {};
    return this.transport.request(MemberList, params, callOptionsOf(options));
  }

  /** Adds a member (not yet started: its name is empty until it joins) with these peer URLs. */
  async memberAdd(peerUrls: readonly string[], options: MemberAddOptions = {}): Promise<MemberAddResponse> {
    const params = { peerUrls: peerUrlList(peerUrls), ...(options.isLearner === true ? { isLearner: true } : {}) };
    return this.transport.request(MemberAdd, params, callOptionsOf(options));
  }

  async memberRemove(id: Int64Like, options: CallOptions = {}): Promise<MemberRemoveResponse> {
    return this.transport.request(MemberRemove, { id: memberId(id, 'member id') }, callOptionsOf(options));
  }

  /** Replaces the member's peer URLs. */
  async memberUpdate(id: Int64Like, peerUrls: readonly string[], options: CallOptions = {}): Promise<MemberUpdateResponse> {
    const params = { id: memberId(id, 'member id'), peerUrls: peerUrlList(peerUrls) };
    return this.transport.request(MemberUpdate, params, callOptionsOf(options));
  }

  /** Makes a learner a voting member; refused until it has caught up with the leader. */
  async memberPromote(id: Int64Like, options: CallOptions = {}): Promise<MemberPromoteResponse> {
    return this.transport.request(MemberPromote, { id: memberId(id, 'member id') }, callOptionsOf(options));
  }
}

/** Per-member maintenance. Each call is answered by the member the client is connected to. */
export class Maintenance {
  private readonly transport: Transport;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  status(options: CallOptions = {}): Promise<StatusResponse> {
    return this.transport.request(Status, {}, callOptionsOf(options));
  }

  /**
   * The contacted member's hash of its key-value history up to `revision` (0 or absent: its
   * newest revision), like etcd's HashKV. Members that hold the same data answer the same hash
   * for the same revision and compacted revision. Fails with `compacted` below the compaction
   * point and `future_revision` past the member's newest revision.
   */
  async hashKv(revision: Int64Like = 0n, options: CallOptions = {}): Promise<HashKvResponse> {
    const rev = toInt64(revision, 'revision');
    if (rev < 0n) throw new CairnError(ErrorCode.InvalidArgument, `revision must not be negative, got ${rev}`);
    return this.transport.request(HashKv, rev === 0n ? {} : { revision: rev }, callOptionsOf(options));
  }

  /**
   * A consistent point-in-time copy of the contacted member's state, as a snapshot file's bytes
   * (etcd's Maintenance.Snapshot; root only when auth is on). It holds every write acknowledged
   * before the call; writes go on meanwhile. See SnapshotDownload; `cairnctl snapshot save`
   * writes one to a file, `cairnutl snapshot restore` starts a cluster from it.
   */
  async snapshot(options: StreamOptions = {}): Promise<SnapshotDownload> {
    return new SnapshotDownload(await this.transport.openStream(Snapshot, {}, options));
  }

  /** The cluster's active alarms (NOSPACE ...). */
  alarmList(options: CallOptions = {}): Promise<AlarmResponse> {
    return this.transport.request(Alarm, { action: 'get' }, callOptionsOf(options));
  }

  /** Disarms `alarm`, or every active alarm when none is given. */
  alarmDisarm(alarm?: AlarmMember, options: CallOptions = {}): Promise<AlarmResponse> {
    const params = alarm === undefined ? { action: 'deactivate' as const } : { action: 'deactivate' as const, memberId: alarm.memberId, alarm: alarm.alarm };
    return this.transport.request(Alarm, params, callOptionsOf(options));
  }

  /**
   * Defragments the contacted member's storage, like etcd's Defragment: its live data is
   * rewritten into a fresh database, which gives back the space deleted and compacted data
   * held (DB SIZE in `status()` drops). The member keeps serving; on a large database this
   * takes a while, so give the call a generous `timeoutMs`. Not resent to another member.
   */
  defragment(options: CallOptions = {}): Promise<DefragmentResponse> {
    return this.transport.request(Defragment, {}, callOptionsOf(options));
  }

  /**
   * Hands leadership to `targetId`. As in etcd, only the leader transfers leadership: connect
   * to it (the member whose `status()` has `leader === header.memberId`).
   */
  async moveLeader(targetId: Int64Like, options: CallOptions = {}): Promise<MoveLeaderResponse> {
    return this.transport.request(MoveLeader, { targetId: memberId(targetId, 'target member id') }, callOptionsOf(options));
  }
}
