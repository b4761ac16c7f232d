import { CairnError, ErrorCode } from '@cairn/protocol';
import type { Clock } from '../clock.js';

export interface LoginThrottleOptions {
  /** Failed logins from one address, or for one user, before they are slowed down. Default 5. */
  readonly freeFailures?: number;
  /** The first backoff after the free failures, in ms; it doubles with each further failure. Default 1000. */
  readonly baseDelayMs?: number;
  /** The longest backoff, in ms: no refusal asks to wait longer. Default 30000. */
  readonly maxDelayMs?: number;
  /** A record without a failure for this long is forgotten, in ms. Default 15 minutes. */
  readonly forgetAfterMs?: number;
  /** How long a successful login of a user from an address makes that pair trusted, in ms. Default 24 h. */
  readonly trustMs?: number;
  /** Password checks (scrypt) running at once for one address; more wait in line. Default 4. */
  readonly concurrentPerAddress?: number;
  /** Logins waiting in line for one address; more are refused. Default 32. */
  readonly queuePerAddress?: number;
  /** Records kept per table (addresses, users, trusted pairs); the oldest go first. Default 10000. */
  readonly maxEntries?: number;
}

export const DEFAULT_LOGIN_FREE_FAILURES = 5;
export const DEFAULT_LOGIN_MAX_DELAY_MS = 30_000;

interface Failures {
  failures: number;
  /** Refused until then (ms, the clock's); 0: not blocked. */
  blockedUntilMs: number;
  lastFailureMs: number;
}

interface AddressState extends Failures {
  inflight: number;
  readonly queue: (() => void)[];
}

/** One admitted login: report how the password check went. */
export interface LoginAttempt {
  done(ok: boolean): void;
}

/** Why a refusal happened, for the log line the caller writes when a block starts. */
export interface LoginBlock {
  readonly scope: 'address' | 'user';
  readonly key: string;
  readonly failures: number;
  readonly forMs: number;
}

/**
 * Slows down password guessing (etcd has no such thing; this is Cairn's):
 *
 * - per remote address: `freeFailures` failed logins are free; after that each failure blocks
 *   the address for an exponential backoff (base, 2·base, ... up to maxDelayMs), during which
 *   every login from it is refused with `too_many_requests` and `details.retryAfterMs`. A
 *   success from the address clears its record. At most `concurrentPerAddress` password
 *   checks run at once for one address; the rest wait in a short line (so a burst of 200
 *   parallel guesses gets the same few guesses as a sequential one, and a burst of right
 *   passwords is only queued, not refused);
 * - per user, against guessing from many addresses: the same count and backoff over all
 *   addresses, but the block only applies to addresses that are not trusted for that user.
 *   A pair (user, address) is trusted for `trustMs` after a successful login.
 *
 * So the right password from an address where the user logged in before, and that is not
 * failing itself, is never slowed down by failures elsewhere; from a new address during an
 * attack it is refused for at most maxDelayMs at a time. Nothing here is replicated: each
 * member keeps its own records (an attacker spreading over members gets each member's
 * allowance, which the docs state).
 */
export class LoginThrottle {
  private readonly free: number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly forgetMs: number;
  private readonly trustMs: number;
  private readonly concurrent: number;
  private readonly queueMax: number;
  private readonly maxEntries: number;
  private readonly addresses = new Map<string, AddressState>();
  private readonly users = new Map<string, Failures>();
  /** `${user}\0${address}` -> when the user last logged in from there. */
  private readonly trusted = new Map<string, number>();

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    o: LoginThrottleOptions = {},
    /** Told when an address or a user starts being blocked (once per block). */
    private readonly onBlock: (b: LoginBlock) => void = () => undefined,
  ) {
    this.free = o.freeFailures ?? DEFAULT_LOGIN_FREE_FAILURES;
    this.baseMs = o.baseDelayMs ?? 1000;
    this.maxMs = o.maxDelayMs ?? DEFAULT_LOGIN_MAX_DELAY_MS;
    this.forgetMs = o.forgetAfterMs ?? 15 * 60_000;
    this.trustMs = o.trustMs ?? 24 * 3600_000;
    this.concurrent = o.concurrentPerAddress ?? 4;
    this.queueMax = o.queuePerAddress ?? 32;
    this.maxEntries = o.maxEntries ?? 10_000;
  }

  /**
   * Admits one login of `user` from `address` (waiting in line if that address already has
   * checks running), or throws `too_many_requests`.
   */
  async admit(user: string, address: string): Promise<LoginAttempt> {
    const a = this.address(address);
    let woken = false;
    for (;;) {
      try {
        this.refuseIfBlocked(user, address, a);
      } catch (err) {
        // Woken for a slot it will not use: hand it on, so that the line keeps moving.
        if (woken) a.queue.shift()?.();
        throw err;
      }
      if (a.inflight < this.concurrent) break;
      if (a.queue.length >= this.queueMax) throw tooMany(this.baseMs, 'too many logins at once from this address');
      await new Promise<void>((resolve) => a.queue.push(resolve));
      woken = true;
    }
    a.inflight++;
    let finished = false;
    return {
      done: (ok) => {
        if (finished) return;
        finished = true;
        a.inflight--;
        if (ok) this.succeeded(user, address, a);
        else this.failed(user, address, a);
        a.queue.shift()?.();
      },
    };
  }

  private refuseIfBlocked(user: string, address: string, a: AddressState): void {
    const now = this.clock.now();
    if (a.blockedUntilMs > now) throw tooMany(a.blockedUntilMs - now, 'too many failed logins from this address');
    const u = this.fresh(this.users.get(user), now);
    if (u !== undefined && u.blockedUntilMs > now && !this.isTrusted(user, address, now)) {
      throw tooMany(u.blockedUntilMs - now, `too many failed logins for user ${JSON.stringify(user)}`);
    }
  }

  private succeeded(user: string, address: string, a: AddressState): void {
    a.failures = 0;
    a.blockedUntilMs = 0;
    const k = `${user}\0${address}`;
    this.trusted.delete(k);
    this.trusted.set(k, this.clock.now());
    this.bound(this.trusted);
  }

  private failed(user: string, address: string, a: AddressState): void {
    const now = this.clock.now();
    this.fail(a, now, { scope: 'address', key: address });
    let u = this.fresh(this.users.get(user), now);
    if (u === undefined) {
      u = { failures: 0, blockedUntilMs: 0, lastFailureMs: now };
      this.users.set(user, u);
      this.bound(this.users);
    }
    this.fail(u, now, { scope: 'user', key: user });
  }

  private fail(r: Failures, now: number, who: { scope: 'address' | 'user'; key: string }): void {
    r.failures++;
    r.lastFailureMs = now;
    if (r.failures < this.free) return;
    const steps = Math.min(r.failures - this.free, 30);
    const forMs = Math.min(this.baseMs * 2 ** steps, this.maxMs);
    const wasBlocked = r.blockedUntilMs > now;
    r.blockedUntilMs = Math.max(r.blockedUntilMs, now + forMs);
    if (!wasBlocked) this.onBlock({ ...who, failures: r.failures, forMs });
  }

  private address(address: string): AddressState {
    const now = this.clock.now();
    let a = this.addresses.get(address);
    if (a !== undefined && a.inflight === 0 && a.queue.length === 0 && this.fresh(a, now) === undefined) {
      this.addresses.delete(address);
      a = undefined;
    }
    if (a === undefined) {
      a = { failures: 0, blockedUntilMs: 0, lastFailureMs: now, inflight: 0, queue: [] };
      this.addresses.set(address, a);
      this.bound(this.addresses, (x) => x.inflight === 0 && x.queue.length === 0);
    }
    return a;
  }

  /** The record, or undefined if it has had no failure for forgetAfterMs. */
  private fresh<T extends Failures>(r: T | undefined, now: number): T | undefined {
    if (r === undefined || r.failures === 0) return r;
    return now - r.lastFailureMs > this.forgetMs && r.blockedUntilMs <= now ? undefined : r;
  }

  private isTrusted(user: string, address: string, now: number): boolean {
    const at = this.trusted.get(`${user}\0${address}`);
    return at !== undefined && now - at <= this.trustMs;
  }

  /** Drops the oldest entries past maxEntries (Maps iterate in insertion order). */
  private bound<V>(m: Map<string, V>, removable: (v: V) => boolean = () => true): void {
    if (m.size <= this.maxEntries) return;
    for (const [k, v] of m) {
      if (m.size <= this.maxEntries) return;
      if (removable(v)) m.delete(k);
    }
  }
}

function tooMany(retryAfterMs: number, why: string): CairnError {
  const ms = Math.max(1, Math.ceil(retryAfterMs));
  return new CairnError(ErrorCode.TooManyRequests, `${why}; retry in ${ms} ms`, { retryAfterMs: ms });
}
