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
import { Applier, type ApplyOutcome } from './apply/applier.js';
import { checkWriteRequest } from './apply/checks.js';
import { encodeWriteRequest, type ResponseFor, type WriteRequest } from './apply/requests.js';
import { rangeResponse } from './apply/responses.js';
import type { ChangeListener, RevisionEvents, StoreOptions } from './mvcc/store.js';
import type { Backend } from './storage/backend.js';
import type { Identity } from './identity.js';
import { systemClock, systemScheduler, type Clock, type Scheduler } from './clock.js';
import { LeasePrimary } from './lease/primary.js';
import { MAX_LEASE_TTL_SECONDS } from './lease/lessor.js';
import type {
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseId,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
} from '@cairn/protocol';

export const SERVER_VERSION = '0.1.0';
export const CLUSTER_VERSION = '0.1.0';

/**
 * The one write path. A proposal is acknowledged (its promise resolves) only once its effects
 * are durable; it rejects with a CairnError for an expected failure. The single-member
 * implementation is `Member`; the Raft driver implements the same interface later (propose ->
 * log -> commit -> apply).
 */
export interface Proposer {
  propose<R extends WriteRequest>(req: R): Promise<ResponseFor<R>>;
}

/** Observations for metrics; every hook optional. */
export interface MemberObserver {
  /** Seconds spent applying one entry. */
  applied?(seconds: number): void;
  /** Seconds one batch write (with fsync) took, and how many entries it carried. */
  committed?(seconds: number, entries: number): void;
}

export interface MemberOptions {
  readonly backend: Backend;
  readonly identity: Identity;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly observer?: MemberObserver;
  /** Passed to the MVCC store (the lessor's hook goes here). */
  readonly storeOptions?: StoreOptions;
  /**
   * Called with a broken invariant (or a failed disk write): the member must not go on with
   * state it cannot trust. The member is already stopped when this runs; the default exits.
   */
  readonly onFatal?: (err: unknown) => void;
  /** Wall clock for lease expiry (never used inside apply). */
  readonly clock?: Clock;
  readonly scheduler?: Scheduler;
  /**
   * A grant below this is raised to it (etcd: 1.5 election timeouts, so a lease cannot expire
   * during a leader change). Default 2 s.
   */
  readonly minLeaseTtlSeconds?: number;
  /** Expired leases revoked per round through the log. Default 1000. */
  readonly maxLeaseRevokesPerRound?: number;
}

/** etcd's default minimum lease TTL with a 1 s election timeout: ceil(1.5 s). */
export const DEFAULT_MIN_LEASE_TTL_SECONDS = 2;

interface Waiter {
  readonly outcome: ApplyOutcome;
  readonly resolve: (v: never) => void;
  readonly reject: (e: unknown) => void;
}

const RAFT_TERM = 1n;

const now = (): number => performance.now() / 1000;

/**
 * One member: backend + MVCC store + applier, and the single-member proposer with group
 * commit. Entries are applied as they are proposed (in order), collected, and written with
 * one fsync per group; a group forms from everything proposed while the previous write was
 * on its way to disk, so throughput grows with concurrency.
 *
 * Reads are served from the newest applied state, but answered only once that state is
 * durable, so no reader sees a write that a crash could take back.
 */
export class Member implements Proposer {
  readonly applier: Applier;
  private waiters: Waiter[] = [];
  private durableWaiters: { index: bigint; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private durableIndex: bigint;
  private durableRev: bigint;
  private writing = false;
  private scheduled = false;
  private idle: Promise<void> = Promise.resolve();
  private signalIdle: (() => void) | undefined;
  private stopped = false;
  /** Lease expiry; runs only while this member is leader (always, on a single member). */
  readonly leasePrimary: LeasePrimary;
  private readonly clock: Clock;
  private leaseIdSeq = 0n;

  constructor(private readonly o: MemberOptions) {
    this.applier = Applier.load(o.backend, (rev) => this.headerAt(rev), o.storeOptions);
    this.durableIndex = this.applier.appliedIndex;
    this.durableRev = BigInt(this.applier.store.currentRevision);
    this.clock = o.clock ?? systemClock;
    this.leasePrimary = new LeasePrimary({
      lessor: this.applier.lessor,
      clock: this.clock,
      scheduler: o.scheduler ?? systemScheduler,
      maxRevokesPerRound: o.maxLeaseRevokesPerRound ?? 1000,
      expire: async (ids) => {
        await Promise.all(
          ids.map((id) =>
            this.propose({ leaseRevoke: { id } }).catch((err: unknown) => {
              if (!(err instanceof CairnError && err.code === ErrorCode.LeaseNotFound)) throw err;
            }),
          ),
        );
      },
    });
    // A single member is its own leader. The Raft driver calls setLeader on role changes.
    this.setLeader(true);
  }

  /** Whether this member decides lease expiry (the Raft leader). */
  isLeader(): boolean {
    return this.leasePrimary.isLeader;
  }

  /**
   * Leadership changed: a new leader gives every lease its full TTL again (no lease is cut
   * short by the change); a follower stops expiring leases.
   */
  setLeader(leader: boolean): void {
    if (leader === this.leasePrimary.isLeader) return;
    if (leader) this.leasePrimary.promote();
    else this.leasePrimary.demote();
  }

  // ---- Leases ----

  /** A fresh lease id: member bits, then milliseconds and a counter (etcd's idutil layout). */
  private newLeaseId(): LeaseId {
    const prefix = (this.memberId & 0x7fffn) << 48n;
    const ms = BigInt(Math.floor(this.clock.now())) & 0xff_ffff_ffffn;
    for (;;) {
      const id = prefix | (((ms << 8n) + this.leaseIdSeq++) & 0xffff_ffff_ffffn);
      if (id > 0n && !this.applier.lessor.exists(id)) return id;
    }
  }

  leaseGrant(req: LeaseGrantRequest): Promise<LeaseGrantResponse> {
    if (req.ttlSeconds > MAX_LEASE_TTL_SECONDS) return Promise.reject(new CairnError(ErrorCode.LeaseTtlTooLarge));
    const ttlSeconds = Math.max(req.ttlSeconds, this.o.minLeaseTtlSeconds ?? DEFAULT_MIN_LEASE_TTL_SECONDS);
    const id = req.id !== undefined && req.id !== 0n ? req.id : this.newLeaseId();
    if (id < 0n) return Promise.reject(new CairnError(ErrorCode.InvalidArgument, 'lease id must be positive'));
    return this.propose({ leaseGrant: { id, ttlSeconds } });
  }

  leaseRevoke(id: LeaseId): Promise<LeaseRevokeResponse> {
    return this.propose({ leaseRevoke: { id } });
  }

  async leaseTimeToLive(req: LeaseTimeToLiveRequest): Promise<LeaseTimeToLiveResponse> {
    if (this.stopped) throw new CairnError(ErrorCode.Stopped);
    await this.durable(this.applier.appliedIndex);
    const lease = this.applier.lessor.get(req.id);
    const header = this.header();
    if (lease === undefined) return { header, id: req.id, ttlSeconds: -1, grantedTtlSeconds: 0, keys: [] };
    const keys = req.keys === true ? [...lease.keys.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, k]) => k) : [];
    return { header, id: req.id, ttlSeconds: this.leasePrimary.remainingSeconds(req.id), grantedTtlSeconds: lease.ttlSeconds, keys };
  }

  async leaseLeases(): Promise<LeaseLeasesResponse> {
    if (this.stopped) throw new CairnError(ErrorCode.Stopped);
    await this.durable(this.applier.appliedIndex);
    const ids = this.applier.lessor.ids().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return { header: this.header(), leases: ids.map((id) => ({ id })) };
  }

  /** The keys attached to a lease now (empty if it does not exist). */
  leaseKeys(id: LeaseId): Uint8Array[] {
    return [...(this.applier.lessor.get(id)?.keys.values() ?? [])];
  }

  /** A keep-alive: the lease's TTL, renewed from now, or -1 if it is gone. Not logged. */
  leaseRenew(id: LeaseId): number {
    if (this.stopped) throw new CairnError(ErrorCode.Stopped);
    return this.leasePrimary.renew(id);
  }

  get clusterId(): bigint {
    return this.o.identity.clusterId;
  }
  get memberId(): bigint {
    return this.o.identity.memberId;
  }
  /** The store's newest revision. */
  get revision(): bigint {
    return BigInt(this.applier.store.currentRevision);
  }
  get appliedIndex(): bigint {
    return this.applier.appliedIndex;
  }
  /** The newest revision on disk: what listeners have heard of, and what `history` can read. */
  get durableRevision(): bigint {
    return this.durableRev;
  }

  /**
   * The events of revisions [from, durableRevision] (see MvccStore.history). A watcher
   * catching up subscribes with `onChange` first, then reads `history` up to the
   * durableRevision it saw, and ignores live revisions at or below it: no gap, no duplicate.
   */
  history(from: bigint): RevisionEvents[] {
    if (from > this.durableRev) return [];
    return this.applier.store.history(Number(from), Number(this.durableRev));
  }

  /** The events of revisions [from, to], to <= durableRevision (see MvccStore.history). */
  historyRange(from: bigint, to: bigint): RevisionEvents[] {
    const end = to < this.durableRev ? to : this.durableRev;
    return this.applier.store.history(Number(from), Number(end));
  }

  header(): ResponseHeader {
    return this.headerAt(this.applier.store.currentRevision);
  }

  private headerAt(revision: number): ResponseHeader {
    return { clusterId: this.clusterId, memberId: this.memberId, revision: BigInt(revision), raftTerm: RAFT_TERM };
  }

  /** Listen to every durable revision's events (the watch hub decorates the store this way). */
  onChange(listener: ChangeListener): () => void {
    return this.applier.store.onChange(listener);
  }

  propose<R extends WriteRequest>(req: R): Promise<ResponseFor<R>> {
    if (this.stopped) return Promise.reject(new CairnError(ErrorCode.Stopped));
    try {
      checkWriteRequest(req);
    } catch (err) {
      return Promise.reject(err);
    }
    const data = encodeWriteRequest(req);
    let outcome: ApplyOutcome;
    const t0 = now();
    try {
      outcome = this.applier.apply(this.applier.appliedIndex + 1n, data);
    } catch (err) {
      this.fatal(err);
      return Promise.reject(new CairnError(ErrorCode.Stopped, 'member stopped: apply failed'));
    }
    this.o.observer?.applied?.(now() - t0);
    return new Promise<ResponseFor<R>>((resolve, reject) => {
      this.waiters.push({ outcome, resolve: resolve as (v: never) => void, reject });
      this.schedule();
    });
  }

  /** A range on this member's state; serializable and linearizable are the same here. */
  async range(req: RangeRequest): Promise<RangeResponse> {
    if (this.stopped) throw new CairnError(ErrorCode.Stopped);
    const store = this.applier.store;
    const result = store.range(req);
    const response = rangeResponse(result, this.headerAt(store.currentRevision));
    await this.durable(this.applier.appliedIndex);
    return response;
  }

  /** This member's status; answered once the state it describes is durable. */
  async status(): Promise<StatusResponse> {
    if (this.stopped) throw new CairnError(ErrorCode.Stopped);
    await this.durable(this.applier.appliedIndex);
    const size = BigInt(this.o.backend.sizeBytes());
    return {
      header: this.header(),
      version: SERVER_VERSION,
      dbSize: size,
      dbSizeInUse: size,
      leader: this.memberId,
      raftIndex: this.applier.appliedIndex,
      raftTerm: RAFT_TERM,
      raftAppliedIndex: this.applier.appliedIndex,
      errors: [],
      isLearner: false,
    };
  }

  async memberList(): Promise<MemberListResponse> {
    await this.durable(this.applier.appliedIndex);
    const self: MemberInfo = {
      id: this.memberId,
      name: this.o.name,
      peerUrls: [...this.o.peerUrls],
      // Read at each call: the server knows its bound URLs only after listening.
      clientUrls: [...this.o.clientUrls],
      isLearner: false,
    };
    return { header: this.header(), members: [self] };
  }

  /** Resolves once everything applied up to `index` is on disk. */
  private durable(index: bigint): Promise<void> {
    if (index <= this.durableIndex) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.durableWaiters.push({ index, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    if (this.signalIdle === undefined) this.idle = new Promise((r) => (this.signalIdle = r));
    // One macrotask of slack lets every proposal of this I/O turn join the group.
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    this.writing = true;
    try {
      while (this.waiters.length > 0 || this.applier.appliedIndex > this.durableIndex) {
        const waiters = this.waiters;
        this.waiters = [];
        const batch = this.applier.drain();
        const t0 = now();
        try {
          await this.o.backend.write(batch.store.ops, { sync: true });
        } catch (err) {
          const stopped = new CairnError(ErrorCode.Stopped, 'member stopped: disk write failed');
          for (const w of [...waiters, ...this.waiters, ...this.durableWaiters]) w.reject(stopped);
          this.waiters = [];
          this.durableWaiters = [];
          this.fatal(err);
          return;
        }
        this.o.observer?.committed?.(now() - t0, waiters.length);
        this.durableIndex = batch.appliedIndex;
        this.durableRev = BigInt(batch.store.revision);
        this.applier.release(batch);
        for (const w of waiters) {
          if (w.outcome.ok) w.resolve(responseOf(w.outcome) as never);
          else w.reject(w.outcome.error);
        }
        if (this.durableWaiters.length > 0) {
          const ready = this.durableWaiters.filter((d) => d.index <= this.durableIndex);
          this.durableWaiters = this.durableWaiters.filter((d) => d.index > this.durableIndex);
          for (const d of ready) d.resolve();
        }
      }
    } finally {
      this.writing = false;
      if (!this.scheduled) {
        this.signalIdle?.();
        this.signalIdle = undefined;
      }
    }
  }

  private fatal(err: unknown): void {
    this.stopped = true;
    if (this.o.onFatal !== undefined) this.o.onFatal(err);
    else {
      console.error('cairn: fatal:', err);
      process.exit(70);
    }
  }

  /** Stops accepting proposals, waits for applied entries to be durable, closes the backend. */
  async close(): Promise<void> {
    this.leasePrimary.stop();
    if (!this.stopped) this.stopped = true;
    while (this.writing || this.scheduled) await this.idle;
    await this.o.backend.close();
  }
}

function responseOf(o: ApplyOutcome & { ok: true }): unknown {
  const r = o.response;
  if ('put' in r) return r.put;
  if ('deleteRange' in r) return r.deleteRange;
  if ('txn' in r) return r.txn;
  if ('auth' in r) return r.auth;
  if ('alarm' in r) return r.alarm;
  if ('leaseGrant' in r) return r.leaseGrant;
  if ('leaseRevoke' in r) return r.leaseRevoke;
  return r.compact;
}
