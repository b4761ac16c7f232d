import type { LeaseId } from '@cairn/protocol';
import type { Clock, Scheduler } from '../clock.js';
import { ExpiryHeap } from './expiryHeap.js';
import type { Lessor, LessorListener } from './lessor.js';

export interface PrimaryOptions {
  readonly lessor: Lessor;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  /**
   * Proposes the revoke of expired leases through the log. Resolves when it is applied (or
   * failed). At most `maxRevokesPerRound` ids per call.
   */
  readonly expire: (ids: LeaseId[]) => Promise<void>;
  /** Expiry checks are coalesced to this resolution (a lease expires at most this late). */
  readonly resolutionMs?: number;
  readonly maxRevokesPerRound?: number;
}

/**
 * The expiry side of leases, run by the leader only (etcd's "primary lessor"). It keeps each
 * lease's expiry time in memory — never in the log — and one timer armed for the earliest
 * expiry, found in a min-heap: 100,000 idle leases cost no CPU until one is due.
 *
 * Keep-alives refresh the in-memory expiry here. When this member becomes leader (`promote`,
 * also at start on a single member) every lease gets its full TTL again, so a restart or a
 * leader change never cuts a lease short (it may extend it by up to one TTL).
 *
 * Expired leases are revoked through the log in bounded rounds (`maxRevokesPerRound`), the
 * next round starting when the previous one was applied.
 */
export class LeasePrimary implements LessorListener {
  private readonly expiries = new Map<LeaseId, number>();
  private readonly heap = new ExpiryHeap();
  private readonly revoking = new Set<LeaseId>();
  private leader = false;
  private cancelTimer: (() => void) | undefined;
  private armedAtMs = Infinity;
  private running = false;
  private stopped = false;
  private readonly resolutionMs: number;
  private readonly maxRevokes: number;

  constructor(private readonly o: PrimaryOptions) {
    this.resolutionMs = o.resolutionMs ?? 100;
    this.maxRevokes = o.maxRevokesPerRound ?? 1000;
    o.lessor.setListener(this);
  }

  get isLeader(): boolean {
    return this.leader;
  }

  /** This member became leader: every lease gets its full TTL from now. */
  promote(): void {
    if (this.stopped) return;
    this.leader = true;
    const now = this.o.clock.monotonic();
    this.expiries.clear();
    for (const id of this.o.lessor.ids()) this.expiries.set(id, now + this.o.lessor.get(id)!.ttlSeconds * 1000);
    this.heap.rebuild(this.expiries);
    this.arm();
  }

  /** This member is no longer leader: forget expiries, stop the timer. */
  demote(): void {
    this.leader = false;
    this.expiries.clear();
    this.heap.rebuild([]);
    this.disarm();
  }

  stop(): void {
    this.stopped = true;
    this.demote();
  }

  granted(id: LeaseId, ttlSeconds: number): void {
    if (this.leader) this.setExpiry(id, this.o.clock.monotonic() + ttlSeconds * 1000);
  }

  revoked(id: LeaseId): void {
    this.expiries.delete(id);
    this.revoking.delete(id);
  }

  /**
   * A keep-alive: the lease's full TTL from now, or -1 if it does not exist or has already
   * expired (its revoke is on its way).
   */
  renew(id: LeaseId): number {
    const lease = this.o.lessor.get(id);
    if (lease === undefined || !this.leader) return -1;
    const now = this.o.clock.monotonic();
    const at = this.expiries.get(id);
    if (this.revoking.has(id) || (at !== undefined && at <= now)) return -1;
    this.setExpiry(id, now + lease.ttlSeconds * 1000);
    return lease.ttlSeconds;
  }

  /** Seconds left (rounded up), -1 if the lease is unknown or expired. */
  remainingSeconds(id: LeaseId): number {
    const lease = this.o.lessor.get(id);
    if (lease === undefined) return -1;
    const at = this.expiries.get(id);
    if (at === undefined) return lease.ttlSeconds;
    const left = at - this.o.clock.monotonic();
    return left <= 0 ? -1 : Math.ceil(left / 1000);
  }

  private setExpiry(id: LeaseId, atMs: number): void {
    this.expiries.set(id, atMs);
    this.heap.push(atMs, id);
    // Stale entries (from renewals) outnumber live ones: drop them.
    if (this.heap.size > 2 * this.expiries.size + 1024) this.heap.rebuild(this.expiries);
    if (atMs < this.armedAtMs) this.arm();
  }

  private disarm(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.armedAtMs = Infinity;
  }

  private arm(): void {
    if (!this.leader || this.running) return;
    const head = this.dropStale();
    if (head === undefined) {
      this.disarm();
      return;
    }
    const now = this.o.clock.monotonic();
    // Coalesce: a future expiry wakes us at most once per resolution; a backlog of due leases
    // (more than one round) goes on at once.
    const at = head <= now ? now : Math.max(head, now + this.resolutionMs);
    if (this.cancelTimer !== undefined && this.armedAtMs <= at) return;
    this.disarm();
    this.armedAtMs = at;
    this.cancelTimer = this.o.scheduler.after(at - now, () => {
      this.cancelTimer = undefined;
      this.armedAtMs = Infinity;
      void this.round();
    });
  }

  /** Pops stale heap entries; returns the earliest live expiry. */
  private dropStale(): number | undefined {
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined) return undefined;
      if (this.expiries.get(top.id) === top.atMs && !this.revoking.has(top.id)) return top.atMs;
      this.heap.pop();
    }
  }

  private async round(): Promise<void> {
    if (!this.leader || this.running) return;
    this.running = true;
    try {
      const now = this.o.clock.monotonic();
      const due: LeaseId[] = [];
      while (due.length < this.maxRevokes) {
        const head = this.dropStale();
        if (head === undefined || head > now) break;
        const e = this.heap.pop()!;
        this.revoking.add(e.id);
        due.push(e.id);
      }
      if (due.length > 0) {
        try {
          await this.o.expire(due);
        } catch {
          // The member is stopping or lost leadership; a new primary starts over.
        }
        // A lease whose revoke did not happen (still in the table) is retried one resolution
        // later: a proposal refused at once (a leadership transfer, too many uncommitted
        // entries) must not be retried in a busy loop.
        for (const id of due) {
          if (this.revoking.delete(id) && this.o.lessor.exists(id) && this.leader) this.setExpiry(id, this.o.clock.monotonic() + this.resolutionMs);
        }
      }
    } finally {
      this.running = false;
    }
    this.arm();
  }
}
