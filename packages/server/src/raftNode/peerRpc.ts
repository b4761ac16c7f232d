import {
  CairnError,
  ErrorCode,
  validate,
  type Decoder,
  type LeaseId,
  type MemberAddRequest,
  type MemberAddResponse,
  type MemberId,
  type MemberPromoteResponse,
  type MemberRemoveResponse,
  type MemberUpdateRequest,
  type MemberUpdateResponse,
  type MoveLeaderRequest,
  type MoveLeaderResponse,
} from '@cairn/protocol';
import type { Applier } from '../apply/applier.js';
import type { LeasePrimary } from '../lease/primary.js';
import type { RaftTransport } from '../transport/transport.js';

/**
 * A request members send each other, declared once like a client method: its name on the wire,
 * the decoder its params must pass on the serving side, and (as a type) its result. Both the
 * caller (`PeerRpc.call`) and the handler table are written against these declarations.
 */
export interface PeerMethod<P, R> {
  readonly method: string;
  readonly params: Decoder<P>;
  /** Only for the type: never read. */
  readonly result?: R;
}

const definePeerMethod = <P, R>(method: string, params: Decoder<P>): PeerMethod<P, R> => ({ method, params });

/**
 * Who asked for an admin operation forwarded from a follower: the client's user as the
 * follower authenticated it (`user` absent: auth was off there). The leader checks it again
 * against its own auth state: the follower's view may be stale (root revoked meanwhile).
 */
export interface AdminCaller {
  readonly user?: string | undefined;
}

/** An admin request forwarded to the leader: the client's request and the caller. */
export interface Forwarded<T> {
  readonly req: T;
  /** Absent only from a code path that did not say who asked (no re-check possible). */
  readonly caller?: AdminCaller;
}

const callerDecoder = validate.object<AdminCaller>({ user: validate.optional(validate.str) });
const forwarded = <T>(req: Decoder<T>): Decoder<Forwarded<T>> => validate.object<Forwarded<T>>({ req, caller: validate.optional(callerDecoder) });
const leaseIdParams = validate.object<{ id: LeaseId }>({ id: validate.int64 });

export const PeerMethods = {
  /** A keep-alive at the leader: the renewed TTL, -1 if the lease is gone. */
  LeaseRenew: definePeerMethod<{ readonly id: LeaseId }, number>('lease.renew', leaseIdParams),
  /** Seconds left on a lease, as the leader counts them. */
  LeaseRemaining: definePeerMethod<{ readonly id: LeaseId }, number>('lease.remaining', leaseIdParams),
  // Membership and leadership changes, which only the leader checks and proposes.
  MemberAdd: definePeerMethod<Forwarded<MemberAddRequest>, MemberAddResponse>('member.add', forwarded(validate.memberAddRequest)),
  MemberRemove: definePeerMethod<Forwarded<{ readonly id: MemberId }>, MemberRemoveResponse>('member.remove', forwarded(validate.memberIdRequest)),
  MemberUpdate: definePeerMethod<Forwarded<MemberUpdateRequest>, MemberUpdateResponse>('member.update', forwarded(validate.memberUpdateRequest)),
  MemberPromote: definePeerMethod<Forwarded<{ readonly id: MemberId }>, MemberPromoteResponse>('member.promote', forwarded(validate.memberIdRequest)),
  LeaderMove: definePeerMethod<Forwarded<MoveLeaderRequest>, MoveLeaderResponse>('leader.move', forwarded(validate.moveLeaderRequest)),
} as const;

type Handler = (from: bigint, params: unknown) => Promise<unknown>;

/** The leader's side of the forwarded admin requests (ClusterAdmin implements it). */
export interface AdminOps {
  memberAdd(req: MemberAddRequest, caller?: AdminCaller): Promise<MemberAddResponse>;
  memberRemove(id: MemberId, caller?: AdminCaller): Promise<MemberRemoveResponse>;
  memberUpdate(id: MemberId, peerUrls: string[], caller?: AdminCaller): Promise<MemberUpdateResponse>;
  memberPromote(id: MemberId, caller?: AdminCaller): Promise<MemberPromoteResponse>;
  moveLeader(target: MemberId, caller?: AdminCaller): Promise<MoveLeaderResponse>;
}

/**
 * What the peer RPCs need from the member they serve (the Member provides it). Read afresh on
 * every request: the member replaces its applier and its lease primary over time.
 */
export interface PeerRpcHost {
  readonly memberId: bigint;
  /** The leader this member knows of, 0n if none. */
  readonly leaderId: bigint;
  readonly requestTimeoutMs: number;
  readonly applier: Pick<Applier, 'auth'>;
  readonly leasePrimary: Pick<LeasePrimary, 'renew' | 'remainingSeconds'>;
  readonly admin: AdminOps;
  isLeader(): boolean;
}

/**
 * Requests a member forwards to the leader over the peer transport, and the serving side of
 * them. Only the leader knows lease expiries and replication progress, so followers forward
 * keep-alives and admin requests rather than answering with a guess. Peers are authenticated
 * by the transport (peerAuth.ts) before any request is read; a request still names the client
 * it acts for, and the leader checks that client's permission itself.
 */
export class PeerRpc {
  private readonly handlers = new Map<string, Handler>();

  constructor(
    private readonly member: PeerRpcHost,
    private readonly transport: RaftTransport,
  ) {
    const m = member;
    this.handle(PeerMethods.LeaseRenew, async (p) => m.leasePrimary.renew(p.id));
    this.handle(PeerMethods.LeaseRemaining, async (p) => m.leasePrimary.remainingSeconds(p.id));
    this.handle(PeerMethods.MemberAdd, (p) => m.admin.memberAdd(p.req, this.recheck(p)));
    this.handle(PeerMethods.MemberRemove, (p) => m.admin.memberRemove(p.req.id, this.recheck(p)));
    this.handle(PeerMethods.MemberUpdate, (p) => m.admin.memberUpdate(p.req.id, p.req.peerUrls, this.recheck(p)));
    this.handle(PeerMethods.MemberPromote, (p) => m.admin.memberPromote(p.req.id, this.recheck(p)));
    this.handle(PeerMethods.LeaderMove, (p) => m.admin.moveLeader(p.req.targetId, this.recheck(p)));
  }

  private handle<P, R>(d: PeerMethod<P, R>, f: (params: P, from: bigint) => Promise<R>): void {
    this.handlers.set(d.method, (from, params) => f(d.params(params, 'params'), from));
  }

  /**
   * The leader's own check of a forwarded admin request: with auth enabled here, the caller must
   * be root (as the leader's auth state says now). Returns the caller for further forwarding.
   */
  private recheck(p: Forwarded<unknown>): AdminCaller | undefined {
    if (p.caller === undefined) return undefined;
    const auth = this.member.applier.auth;
    if (!auth.enabled) return p.caller;
    const user = p.caller.user;
    if (user === undefined || user === '') throw new CairnError(ErrorCode.UserEmpty, 'the forwarded request names no user, and auth is enabled on the leader');
    if (auth.user(user) === undefined || !auth.isRoot(user)) throw new CairnError(ErrorCode.PermissionDenied, `user ${JSON.stringify(user)} may not change the membership (the leader checked)`);
    return p.caller;
  }

  /** Sends `d` to the leader; `no_leader` if none is known. */
  async call<P, R>(d: PeerMethod<P, R>, params: P): Promise<R> {
    const lead = this.member.leaderId;
    if (lead === 0n) throw new CairnError(ErrorCode.NoLeader);
    if (lead === this.member.memberId) throw new CairnError(ErrorCode.LeaderChanged);
    try {
      // The leader is an authenticated member: its answer has the declared type.
      return (await this.transport.rpc(lead, d.method, params, this.member.requestTimeoutMs)) as R;
    } catch (err) {
      // The member we took for the leader is not (any more): nothing was done, try again.
      if (err instanceof CairnError && err.code === ErrorCode.NotLeader) throw new CairnError(ErrorCode.LeaderChanged);
      if (err instanceof CairnError) throw err;
      throw new CairnError(ErrorCode.Unavailable, (err as Error).message);
    }
  }

  async leaseRenew(id: LeaseId): Promise<number> {
    return Number(await this.call(PeerMethods.LeaseRenew, { id }));
  }

  async leaseRemaining(id: LeaseId): Promise<number> {
    return Number(await this.call(PeerMethods.LeaseRemaining, { id }));
  }

  /** Serves a peer's request; every method here is the leader's, refused with `not_leader` elsewhere. */
  async serve(from: bigint, method: string, params: unknown): Promise<unknown> {
    const h = this.handlers.get(method);
    if (h === undefined) throw new CairnError(ErrorCode.UnknownMethod, `unknown peer method ${JSON.stringify(method)}`);
    if (!this.member.isLeader()) throw new CairnError(ErrorCode.NotLeader);
    return h(from, params);
  }
}
