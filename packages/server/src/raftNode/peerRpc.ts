import { CairnError, ErrorCode, validate, type LeaseId } from '@cairn/protocol';
import type { Member } from '../member.js';
import type { RaftTransport } from '../transport/transport.js';

/** The requests members send each other, by method: params in, result out. */
export interface PeerRpcMethods {
  /** A keep-alive at the leader: the renewed TTL, -1 if the lease is gone. */
  'lease.renew': { readonly id: LeaseId };
  /** Seconds left on a lease, as the leader counts them. */
  'lease.remaining': { readonly id: LeaseId };
  /** Membership and leadership changes, which only the leader checks and proposes. */
  'member.add': unknown;
  'member.remove': unknown;
  'member.update': unknown;
  'member.promote': unknown;
  'leader.move': unknown;
}

const leaseId = validate.object<{ id: LeaseId }>({ id: validate.int64 });

/**
 * Requests a member forwards to the leader over the peer transport, and the serving side of
 * them. Only the leader knows lease expiries and replication progress, so followers forward
 * keep-alives and admin requests rather than answering with a guess.
 */
export class PeerRpc {
  constructor(
    private readonly member: Member,
    private readonly transport: RaftTransport,
  ) {}

  /** Sends `method` to the leader; `no_leader` if none is known. */
  async toLeader(method: keyof PeerRpcMethods, params: unknown): Promise<unknown> {
    const lead = this.member.leaderId;
    if (lead === 0n) throw new CairnError(ErrorCode.NoLeader);
    if (lead === this.member.memberId) throw new CairnError(ErrorCode.LeaderChanged);
    try {
      return await this.transport.rpc(lead, method, params, this.member.requestTimeoutMs);
    } catch (err) {
      // The member we took for the leader is not (any more): nothing was done, try again.
      if (err instanceof CairnError && err.code === ErrorCode.NotLeader) throw new CairnError(ErrorCode.LeaderChanged);
      if (err instanceof CairnError) throw err;
      throw new CairnError(ErrorCode.Unavailable, (err as Error).message);
    }
  }

  async leaseRenew(id: LeaseId): Promise<number> {
    return Number(await this.toLeader('lease.renew', { id }));
  }

  async leaseRemaining(id: LeaseId): Promise<number> {
    return Number(await this.toLeader('lease.remaining', { id }));
  }

  /** Serves a peer's request; leader-only methods refuse with `not_leader` elsewhere. */
  async serve(_from: bigint, method: keyof PeerRpcMethods, params: unknown): Promise<unknown> {
    const m = this.member;
    if (!m.isLeader()) throw new CairnError(ErrorCode.NotLeader);
    switch (method) {
      case 'lease.renew':
        return m.leasePrimary.renew(leaseId(params, 'params').id);
      case 'lease.remaining':
        return m.leasePrimary.remainingSeconds(leaseId(params, 'params').id);
      case 'member.add':
        return m.admin.memberAdd(validate.memberAddRequest(params, 'params'));
      case 'member.remove':
        return m.admin.memberRemove(validate.memberIdRequest(params, 'params').id);
      case 'member.update': {
        const req = validate.memberUpdateRequest(params, 'params');
        return m.admin.memberUpdate(req.id, req.peerUrls);
      }
      case 'member.promote':
        return m.admin.memberPromote(validate.memberIdRequest(params, 'params').id);
      case 'leader.move':
        return m.admin.moveLeader(validate.moveLeaderRequest(params, 'params').targetId);
      default:
        throw new CairnError(ErrorCode.UnknownMethod, `unknown peer method ${String(method)}`);
    }
  }
}
