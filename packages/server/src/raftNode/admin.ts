import {
  CairnError,
  ErrorCode,
  type MemberAddRequest,
  type MemberAddResponse,
  type MemberId,
  type MemberPromoteResponse,
  type MemberRemoveResponse,
  type MemberUpdateResponse,
  type MoveLeaderResponse,
  type Member as MemberInfo,
  type ResponseHeader,
} from '@cairn/protocol';
import type { ConfChange, SoftState } from '@cairn/raft';
import type { Applier } from '../apply/applier.js';
import type { MemberRecord } from '../apply/membership.js';
import type { ProposalAuth, ResponseFor, WriteRequest } from '../apply/requests.js';
import { addedMemberId } from '../identity.js';
import type { Clock, Scheduler } from '../clock.js';
import type { RaftDriver } from './driver.js';
import { PeerMethods, type AdminCaller, type AdminOps, type Forwarded, type PeerMethod, type PeerRpc } from './peerRpc.js';

/** A peer heard from within this is "active" for the membership safety checks (etcd: 5 s). */
const ACTIVE_WINDOW_MS = 5000;
/** etcd's --max-learners default. */
const MAX_LEARNERS = 1;
/** A learner is ready for promotion once it holds this share of the leader's log (etcd: 90%). */
const LEARNER_READY_RATIO = 0.9;

const quorum = (voters: number): number => Math.floor(voters / 2) + 1;
const hex = (id: bigint): string => id.toString(16);
const normalise = (u: string): string => new URL(u).href.replace(/\/$/, '');

/**
 * What the admin operations need from the member they run on (the Member provides it). Read
 * afresh on every use: the member replaces its applier when it installs a snapshot.
 */
export interface AdminHost {
  readonly memberId: MemberId;
  readonly clusterId: bigint;
  readonly electionTimeoutMs: number;
  readonly applier: Pick<Applier, 'confState' | 'membership'>;
  readonly clock: Clock;
  readonly scheduler: Pick<Scheduler, 'after'>;
  /** When each peer was last heard from (`clock.monotonic()` ms). */
  readonly lastHeard: ReadonlyMap<bigint, number>;
  readonly driver: Pick<RaftDriver, 'status' | 'transferLeadership'>;
  readonly peerRpc: Pick<PeerRpc, 'call'>;
  isLeader(): boolean;
  header(): ResponseHeader;
  propose<R extends WriteRequest>(req: R, auth?: ProposalAuth): Promise<ResponseFor<R>>;
  proposeConfChange(type: ConfChange['type'], nodeId: bigint, member?: MemberRecord): Promise<{ header: ResponseHeader; members: MemberInfo[] }>;
  /** Calls `fn` on every leader change until the returned function is called. */
  onLeaderChange(fn: (ss: SoftState) => void): () => void;
}

/**
 * Membership and leadership changes, as etcd's server checks them before proposing (with
 * --strict-reconfig-check, its default): a change that would leave the cluster without an
 * active quorum is refused with `unhealthy_cluster`, a learner is promoted only once it has
 * caught up. Runs on the leader (which knows who is active and how far each member is);
 * a follower forwards the request there.
 */
export class ClusterAdmin implements AdminOps {
  constructor(private readonly m: AdminHost) {}

  /**
   * Runs `local` on the leader, or forwards the request there with the caller it acts for (the
   * leader checks that caller's permission again, see peerRpc.ts).
   */
  private forward<P, T>(d: PeerMethod<Forwarded<P>, T>, req: P, caller: AdminCaller | undefined, local: () => Promise<T>): Promise<T> {
    if (this.m.isLeader()) return local();
    return this.m.peerRpc.call(d, caller === undefined ? { req } : { req, caller });
  }

  /** Voters that are active now (this leader included). */
  private activeVoters(exclude?: MemberId): number {
    const now = this.m.clock.monotonic();
    let n = 0;
    for (const id of this.m.applier.confState.voters) {
      if (id === exclude) continue;
      if (id === this.m.memberId || now - (this.m.lastHeard.get(id) ?? -Infinity) < ACTIVE_WINDOW_MS) n++;
    }
    return n;
  }

  private checkPeerUrls(urls: readonly string[], except?: MemberId): void {
    if (urls.length === 0) throw new CairnError(ErrorCode.InvalidArgument, 'at least one peer URL is needed');
    for (const u of urls) {
      let url: URL;
      try {
        url = new URL(u);
      } catch {
        throw new CairnError(ErrorCode.InvalidArgument, `${JSON.stringify(u)} is not a URL`);
      }
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.port === '') {
        throw new CairnError(ErrorCode.InvalidArgument, `peer URL ${u}: expected http(s)://host:port`);
      }
    }
    const wanted = new Set(urls.map(normalise));
    for (const mem of this.m.applier.membership.list()) {
      if (mem.id === except) continue;
      if (mem.peerUrls.some((u) => wanted.has(normalise(u)))) throw new CairnError(ErrorCode.PeerUrlExists);
    }
  }

  memberAdd(req: MemberAddRequest, caller?: AdminCaller): Promise<MemberAddResponse> {
    return this.forward(PeerMethods.MemberAdd, req, caller, async () => {
      this.checkPeerUrls(req.peerUrls);
      const cs = this.m.applier.confState;
      const learner = req.isLearner === true;
      if (learner && cs.learners.length >= MAX_LEARNERS) throw new CairnError(ErrorCode.TooManyLearners);
      // An added voter counts in the quorum at once, before it has even started.
      if (!learner && this.activeVoters() < quorum(cs.voters.length + 1)) throw new CairnError(ErrorCode.UnhealthyCluster);
      const id = addedMemberId(req.peerUrls, this.m.clusterId, this.m.clock.now());
      const member = { id, name: '', peerUrls: [...req.peerUrls], clientUrls: [], isLearner: learner };
      const res = await this.m.proposeConfChange(learner ? 'addLearnerNode' : 'addNode', id, member);
      return { header: res.header, member, members: res.members };
    });
  }

  memberRemove(id: MemberId, caller?: AdminCaller): Promise<MemberRemoveResponse> {
    return this.forward(PeerMethods.MemberRemove, { id }, caller, async () => {
      const mem = this.m.applier.membership.get(id);
      if (mem === undefined) throw new CairnError(ErrorCode.MemberNotFound, `member ${hex(id)} not found`);
      if (!mem.isLearner) {
        const voters = this.m.applier.confState.voters.length;
        if (this.activeVoters(id) < quorum(voters - 1)) throw new CairnError(ErrorCode.UnhealthyCluster);
      }
      return this.m.proposeConfChange('removeNode', id);
    });
  }

  memberUpdate(id: MemberId, peerUrls: string[], caller?: AdminCaller): Promise<MemberUpdateResponse> {
    return this.forward(PeerMethods.MemberUpdate, { id, peerUrls }, caller, async () => {
      if (this.m.applier.membership.get(id) === undefined) throw new CairnError(ErrorCode.MemberNotFound, `member ${hex(id)} not found`);
      this.checkPeerUrls(peerUrls, id);
      const res = await this.m.propose({ memberUpdate: { id, peerUrls } });
      return { header: res.header, members: res.members };
    });
  }

  memberPromote(id: MemberId, caller?: AdminCaller): Promise<MemberPromoteResponse> {
    return this.forward(PeerMethods.MemberPromote, { id }, caller, async () => {
      const mem = this.m.applier.membership.get(id);
      if (mem === undefined) throw new CairnError(ErrorCode.MemberNotFound, `member ${hex(id)} not found`);
      if (!mem.isLearner) throw new CairnError(ErrorCode.MemberNotLearner);
      const st = this.m.driver.status();
      const progress = st.progress.find((p) => p.id === id);
      const leaderMatch = st.progress.find((p) => p.id === this.m.memberId)?.match ?? st.lastIndex;
      if (progress === undefined || progress.match < leaderMatch * LEARNER_READY_RATIO) throw new CairnError(ErrorCode.LearnerNotReady);
      if (this.activeVoters() < quorum(this.m.applier.confState.voters.length + 1)) throw new CairnError(ErrorCode.UnhealthyCluster);
      return this.m.proposeConfChange('addNode', id, { ...mem, isLearner: false });
    });
  }

  /** Hands leadership to `target` and waits until it has it (or times out). */
  moveLeader(target: MemberId, caller?: AdminCaller): Promise<MoveLeaderResponse> {
    return this.forward(PeerMethods.LeaderMove, { targetId: target }, caller, async () => {
      const cs = this.m.applier.confState;
      if (!cs.voters.includes(target)) {
        if (cs.learners.includes(target)) throw new CairnError(ErrorCode.NotCapable, 'a learner cannot become leader');
        throw new CairnError(ErrorCode.MemberNotFound, `member ${hex(target)} not found`);
      }
      if (target === this.m.memberId) return { header: this.m.header() };
      await new Promise<void>((resolve, reject) => {
        const cancel = this.m.scheduler.after(3 * this.m.electionTimeoutMs, () => {
          stop();
          reject(new CairnError(ErrorCode.Timeout, 'leadership transfer timed out'));
        });
        const stop = this.m.onLeaderChange((ss) => {
          if (ss.lead !== target) return;
          cancel();
          stop();
          resolve();
        });
        this.m.driver.transferLeadership(target);
      });
      return { header: this.m.header() };
    });
  }
}
