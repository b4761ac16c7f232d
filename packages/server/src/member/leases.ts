import {
  CairnError,
  ErrorCode,
  type LeaseGrantRequest,
  type LeaseGrantResponse,
  type LeaseId,
  type LeaseLeasesResponse,
  type LeaseRevokeResponse,
  type LeaseTimeToLiveRequest,
  type LeaseTimeToLiveResponse,
  type ResponseHeader,
} from '@cairn/protocol';
import type { ProposalAuth, ResponseFor, WriteRequest } from '../apply/requests.js';
import type { Clock, Scheduler } from '../clock.js';
import { LeasePrimary } from '../lease/primary.js';
import { MAX_LEASE_TTL_SECONDS, type Lessor } from '../lease/lessor.js';

/** What the lease service needs from the member around it. */
export interface LeaseServiceHost {
  readonly memberId: bigint;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  /** A grant below this is raised to it. */
  readonly minTtlSeconds: number;
  /** Expired leases revoked per round through the log. */
  readonly maxRevokesPerRound: number;
  /** The applier's lessor now (it is replaced when a snapshot is installed). */
  lessor(): Lessor;
  isLeader(): boolean;
  stopped(): boolean;
  header(): ResponseHeader;
  linearizable(): Promise<void>;
  propose<R extends WriteRequest>(req: R, auth?: ProposalAuth): Promise<ResponseFor<R>>;
  /**
   * Proposes only if this member leads at the moment raft takes the entry (never forwarded to
   * another leader); else rejects with not_leader.
   */
  proposeAsLeader<R extends WriteRequest>(req: R): Promise<ResponseFor<R>>;
  /** Asks the leader (lease expiry lives there only). */
  leaderRenew(id: LeaseId): Promise<number>;
  leaderRemaining(id: LeaseId): Promise<number>;
}

/**
 * Leases as the API sees them: grants and revokes go through the log; keep-alives and the time
 * left are the leader's (its LeasePrimary keeps expiries in memory and revokes expired leases
 * through the log), so a follower forwards them.
 */
export class LeaseService {
  /** Lease expiry; runs only while this member is the raft leader. */
  private primaryRef: LeasePrimary;
  private idSeq = 0n;

  constructor(private readonly host: LeaseServiceHost) {
    this.primaryRef = this.newPrimary();
  }

  private newPrimary(): LeasePrimary {
    return new LeasePrimary({
      lessor: this.host.lessor(),
      clock: this.host.clock,
      scheduler: this.host.scheduler,
      maxRevokesPerRound: this.host.maxRevokesPerRound,
      expire: async (ids) => {
        await Promise.all(
          ids.map((id) =>
            // Decided on this member's view of the renewals, which is the leader's only while it
            // leads: a deposed leader (cut off, or paused and resumed) must not have a revoke
            // forwarded to the new leader, which took renewals it never saw.
            this.host.proposeAsLeader({ leaseRevoke: { id } }).catch((err: unknown) => {
              if (!(err instanceof CairnError && err.code === ErrorCode.LeaseNotFound)) throw err;
            }),
          ),
        );
      },
    });
  }

  /** The expiry side (what the peer RPCs serve on the leader). */
  get primary(): Pick<LeasePrimary, 'renew' | 'remainingSeconds'> {
    return this.primaryRef;
  }

  /** Raft's role changed; a new leader gives every lease its full TTL (none is cut short). */
  roleChanged(leader: boolean): void {
    if (leader === this.primaryRef.isLeader) return;
    if (leader) this.primaryRef.promote();
    else this.primaryRef.demote();
  }

  /** A snapshot replaced the lessor: start over on the new one. */
  restored(): void {
    this.primaryRef.stop();
    this.primaryRef = this.newPrimary();
    if (this.host.isLeader()) this.primaryRef.promote();
  }

  stop(): void {
    this.primaryRef.stop();
  }

  /** A fresh lease id: member bits, then milliseconds and a counter (etcd's idutil layout). */
  private newId(): LeaseId {
    const prefix = (this.host.memberId & 0x7fffn) << 48n;
    const ms = BigInt(Math.floor(this.host.clock.now())) & 0xff_ffff_ffffn;
    const lessor = this.host.lessor();
    for (;;) {
      const id = prefix | (((ms << 8n) + this.idSeq++) & 0xffff_ffff_ffffn);
      if (id > 0n && !lessor.exists(id)) return id;
    }
  }

  grant(req: LeaseGrantRequest, auth?: ProposalAuth): Promise<LeaseGrantResponse> {
    if (req.ttlSeconds > MAX_LEASE_TTL_SECONDS) return Promise.reject(new CairnError(ErrorCode.LeaseTtlTooLarge));
    const ttlSeconds = Math.max(req.ttlSeconds, this.host.minTtlSeconds);
    const id = req.id !== undefined && req.id !== 0n ? req.id : this.newId();
    if (id < 0n) return Promise.reject(new CairnError(ErrorCode.InvalidArgument, 'lease id must be positive'));
    return this.host.propose({ leaseGrant: { id, ttlSeconds } }, auth);
  }

  revoke(id: LeaseId, auth?: ProposalAuth): Promise<LeaseRevokeResponse> {
    return this.host.propose({ leaseRevoke: { id } }, auth);
  }

  async timeToLive(req: LeaseTimeToLiveRequest): Promise<LeaseTimeToLiveResponse> {
    await this.host.linearizable();
    const lease = this.host.lessor().get(req.id);
    const header = this.host.header();
    if (lease === undefined) return { header, id: req.id, ttlSeconds: -1, grantedTtlSeconds: 0, keys: [] };
    const keys = req.keys === true ? [...lease.keys.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, k]) => k) : [];
    // Only the leader knows how long is left.
    const ttlSeconds = this.host.isLeader() ? this.primaryRef.remainingSeconds(req.id) : await this.host.leaderRemaining(req.id);
    return { header, id: req.id, ttlSeconds, grantedTtlSeconds: lease.ttlSeconds, keys };
  }

  async leases(): Promise<LeaseLeasesResponse> {
    await this.host.linearizable();
    const ids = this.host.lessor().ids().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return { header: this.host.header(), leases: ids.map((id) => ({ id })) };
  }

  /** The keys attached to a lease now (empty if it does not exist). */
  keys(id: LeaseId): Uint8Array[] {
    return [...(this.host.lessor().get(id)?.keys.values() ?? [])];
  }

  /**
   * A keep-alive: the lease's TTL, renewed from now at the leader (forwarded there from a
   * follower), or -1 if the lease is gone. Not logged.
   */
  renew(id: LeaseId): Promise<number> {
    if (this.host.stopped()) return Promise.reject(new CairnError(ErrorCode.Stopped));
    if (this.host.isLeader()) return Promise.resolve(this.primaryRef.renew(id));
    return this.host.leaderRenew(id);
  }
}

/**
 * etcd's minimum lease TTL: 1.5 election timeouts, in whole seconds rounded up (2 s with the
 * default 1 s election timeout), so that a lease outlives a leader election.
 */
export function minLeaseTtlSeconds(electionTimeoutMs: number): number {
  return Math.max(1, Math.ceil((1.5 * electionTimeoutMs) / 1000));
}
