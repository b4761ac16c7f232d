import {
  CairnError,
  ErrorCode,
  type Member as MemberInfo,
  type MemberListResponse,
  type RangeRequest,
  type RangeResponse,
  type ResponseHeader,
  type StatusResponse,
} from '@cairn/protocol';
import type { Status } from '@cairn/raft';
import type { Applier } from '../apply/applier.js';
import { rangeResponse } from '../apply/responses.js';
import { dbSizes, type DbSizes } from '../storage/dbSize.js';
import { SERVER_VERSION } from '../version.js';

/** What the read side needs from the member around it (read afresh: a snapshot replaces the applier). */
export interface ReadsHost {
  readonly memberId: bigint;
  readonly name: string;
  readonly clientUrls: readonly string[];
  readonly requestTimeoutMs: number;
  applier(): Applier;
  stopped(): boolean;
  isLeader(): boolean;
  header(revision?: number): ResponseHeader;
  /** Raft's status, and its commit index as persisted. */
  raftStatus(): Status;
  committed(): number;
  /** ReadIndex: resolves once local state is as new as any acknowledged write. */
  readBarrier(timeoutMs: number): Promise<void>;
  /** Bytes of the data dir, and of the raft log in it. */
  backendBytes(): number;
  logBytes(): number;
  /** TEST ONLY, a planted bug: the leader reads locally without a ReadIndex round. */
  readonly leaderLocalReads?: boolean;
}

/**
 * The member's answers that read its state rather than propose: linearizable and
 * serializable ranges, status, the members list, sizes, and the CORRUPT guard on reads.
 */
export class MemberReads {
  constructor(private readonly h: ReadsHost) {}

  /** Resolves once local state is as new as any write acknowledged anywhere (ReadIndex). */
  linearizable(): Promise<void> {
    const h = this.h;
    if (h.stopped()) return Promise.reject(new CairnError(ErrorCode.Stopped));
    // The only voter leads for as long as it lives: nobody can have committed anything it has
    // not, so its applied state is as new as any. No round needed.
    const applier = h.applier();
    const cs = applier.confState;
    if (h.isLeader() && cs.voters.length === 1 && cs.voters[0] === h.memberId && applier.appliedIndex >= BigInt(h.committed())) {
      return Promise.resolve();
    }
    if (h.leaderLocalReads === true && h.isLeader()) return Promise.resolve();
    return h.readBarrier(h.requestTimeoutMs);
  }

  async range(req: RangeRequest): Promise<RangeResponse> {
    if (this.h.stopped()) throw new CairnError(ErrorCode.Stopped);
    this.checkNotCorrupt();
    if (req.serializable !== true) await this.linearizable();
    const store = this.h.applier().store;
    return rangeResponse(store.range(req), this.h.header(store.currentRevision));
  }

  /**
   * A CORRUPT alarm names this member: its data differs from the cluster's, so it answers no
   * reads (etcd refuses them the same way) until it is replaced and the alarm disarmed.
   */
  checkNotCorrupt(): void {
    const id = this.h.memberId;
    if (this.h.applier().alarms.hasFor(id, 'corrupt')) {
      throw new CairnError(
        ErrorCode.Corrupt,
        `corrupt cluster: member ${id.toString(16)} holds data that differs from the other members' (CORRUPT alarm); it serves no reads until it is replaced and the alarm disarmed`,
      );
    }
  }

  /** DB SIZE (what the quota compares) and DB SIZE IN USE: see storage/dbSize.ts. */
  dbSizes(): DbSizes {
    return dbSizes(this.h.backendBytes(), this.h.logBytes(), this.h.applier().store.historyBytes);
  }

  status(): StatusResponse {
    const h = this.h;
    if (h.stopped()) throw new CairnError(ErrorCode.Stopped);
    const st = h.raftStatus();
    const size = this.dbSizes();
    const applier = h.applier();
    return {
      header: h.header(),
      version: SERVER_VERSION,
      dbSize: BigInt(size.dbSizeBytes),
      dbSizeInUse: BigInt(size.dbSizeInUseBytes),
      leader: st.softState.lead,
      raftIndex: BigInt(st.hardState.commit),
      raftTerm: BigInt(st.hardState.term),
      raftAppliedIndex: applier.appliedIndex,
      errors: applier.alarms.list().map((a) => `memberID:${a.memberId.toString(10)} alarm:${a.alarm.toUpperCase()} `),
      isLearner: st.confState.learners.includes(h.memberId),
    };
  }

  /** The members, with this member's own client URLs filled in before it published them. */
  members(): MemberInfo[] {
    const h = this.h;
    return h
      .applier()
      .membership.list()
      .map((m) => (m.id === h.memberId && m.clientUrls.length === 0 ? { ...m, name: m.name || h.name, clientUrls: [...h.clientUrls] } : m));
  }

  async memberList(linearizable = false): Promise<MemberListResponse> {
    if (linearizable) await this.linearizable();
    return { header: this.h.header(), members: this.members() };
  }
}
