import { EventEmitter } from 'node:events';
import { Backoff, toCairnError, type CairnClient, type CairnError } from '@cairn/client';
import { Session } from '@cairn/concurrency';
import { DEFAULT_PREFIX, instanceKey, makeInstance, type Instance } from './instance.js';
import { parseChecks, type CheckOptions, type CheckSpec, type CheckState, type HealthStatus } from './checks/options.js';
import { realProbe } from './checks/probes.js';
import { CheckRunner, realTimers } from './checks/runner.js';

export interface RegisterOptions {
  readonly service: string;
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly weight?: number;
  /** TTL of the registration's lease: a dead process disappears within it. Default 10. */
  readonly ttlSeconds?: number;
  /** Key prefix of the registry (default `services/`). */
  readonly prefix?: string;
  /** Deregister on SIGTERM and SIGINT, then let the signal do what it would have done. */
  readonly deregisterOnSignal?: boolean;
  /**
   * Health checks this process runs on the instance (see checks/options.ts); their worst status
   * is the instance's, written to its record whenever a check's status changes.
   */
  readonly checks?: readonly CheckOptions[];
}

/** Between attempts to register again after the lease was lost. */
const RETRY_BACKOFF = { initialMs: 250, maxMs: 5000 } as const;

/**
 * A live registration. Events: `registered` (Instance) after each successful (re)registration;
 * `lost` (CairnError) when the lease could not be kept (the registration is then redone as soon
 * as a member answers); `error` is never emitted, failures to re-register are retried with
 * back-off and reported as `retrying` (CairnError, delay ms). With checks: `status`
 * (HealthStatus, CheckState[]) when a check's status changes, and `deregistered` (CheckState)
 * once a check was critical for its deregisterAfterMs (the registration is then closed).
 */
export class Registration extends EventEmitter {
  readonly key: string;
  private current: Instance;
  private session: Session | undefined;
  private closed = false;
  private readonly backoff = new Backoff(RETRY_BACKOFF);
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly signalHandler: ((sig: NodeJS.Signals) => void) | undefined;
  private readonly checks: CheckRunner | undefined;
  /** Puts of the record, one after another, so that a later one never lands first. */
  private writes: Promise<void> = Promise.resolve();
  private readonly rewriteBackoff = new Backoff(RETRY_BACKOFF);
  private rewriteTimer: NodeJS.Timeout | undefined;

  /** @internal use `register()` */
  constructor(
    private readonly client: CairnClient,
    private readonly options: RegisterOptions,
  ) {
    super();
    this.current = makeInstance(options);
    this.key = instanceKey(options.prefix ?? DEFAULT_PREFIX, options.service, options.id);
    const specs: CheckSpec[] = parseChecks(options.checks);
    this.checks =
      specs.length === 0
        ? undefined
        : new CheckRunner(specs, {
            probe: realProbe,
            timers: realTimers,
            onChange: (status, checks) => this.onStatus(status, checks),
            onDeregister: (check) => this.onCritical(check),
          });
    if (options.deregisterOnSignal === true) {
      const handler = (sig: NodeJS.Signals): void => {
        process.off('SIGTERM', handler);
        process.off('SIGINT', handler);
        void this.close()
          .catch(() => undefined)
          // With no other listener left, re-raising does what the signal would have done.
          .then(() => (process.listenerCount(sig) === 0 ? process.kill(process.pid, sig) : undefined));
      };
      this.signalHandler = handler;
      process.on('SIGTERM', handler);
      process.on('SIGINT', handler);
    }
  }

  /** What is registered now. */
  get instance(): Instance {
    return this.current;
  }

  /** The instance's health: the worst of its checks (passing without checks). */
  get status(): HealthStatus {
    return this.current.status;
  }

  /** The lease the registration hangs on (changes after a re-registration). */
  get lease(): bigint | undefined {
    return this.session?.lease;
  }

  /** @internal */
  async start(): Promise<void> {
    // The first record already says what the checks found (each run once, at most its timeoutMs).
    if (this.checks !== undefined) {
      await this.checks.start();
      this.current = { ...this.current, status: this.checks.status, checks: this.checks.checks };
    }
    await this.attempt();
  }

  /** Changes metadata or weight in place (same lease, one put). */
  async update(change: { metadata?: Readonly<Record<string, string>>; weight?: number }): Promise<void> {
    const { status, checks } = this.current;
    // Checked like at registration; the health it reports is the checks' business, kept as it is.
    this.current = {
      ...makeInstance({ ...this.current, metadata: change.metadata ?? this.current.metadata, weight: change.weight ?? this.current.weight }),
      status,
      checks,
    };
    await this.serially(async () => {
      const s = this.session;
      if (s !== undefined && s.endedWith === undefined) await this.put(s);
    });
  }

  /** Deregisters: stops renewing and revokes the lease, which deletes the key at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.checks?.stop();
    clearTimeout(this.retryTimer);
    clearTimeout(this.rewriteTimer);
    if (this.signalHandler !== undefined) {
      process.off('SIGTERM', this.signalHandler);
      process.off('SIGINT', this.signalHandler);
    }
    const s = this.session;
    this.session = undefined;
    await s?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Runs `fn` after every write queued before it. */
  private serially(fn: () => Promise<void>): Promise<void> {
    const p = this.writes.then(fn);
    this.writes = p.catch(() => undefined);
    return p;
  }

  private onStatus(status: HealthStatus, checks: readonly CheckState[]): void {
    if (this.closed) return;
    this.current = { ...this.current, status, checks };
    this.emit('status', status, checks);
    this.rewrite();
  }

  /**
   * Writes the record again with what is current. A failed write is retried with back-off; a
   * re-registration in between writes it anyway (it puts `current`).
   */
  private rewrite(): void {
    clearTimeout(this.rewriteTimer);
    this.rewriteTimer = undefined;
    this.serially(async () => {
      const s = this.session;
      if (this.closed || s === undefined || s.endedWith !== undefined) return;
      await this.put(s);
      this.rewriteBackoff.reset();
    }).catch((err: unknown) => {
      if (this.closed) return;
      const delay = this.rewriteBackoff.next();
      this.emit('retrying', toCairnError(err), delay);
      this.rewriteTimer = setTimeout(() => this.rewrite(), delay);
    });
  }

  private onCritical(check: CheckState): void {
    if (this.closed) return;
    this.emit('deregistered', check);
    void this.close().catch(() => undefined);
  }

  private async put(s: Session): Promise<void> {
    // A put is safe to resend: it writes the same instance on the same lease.
    await this.client.kv.put(this.key, JSON.stringify(this.current), { lease: s.lease, retry: true });
  }

  /** One (re)registration: a fresh session, then the put. Throws on failure. */
  private async attempt(): Promise<void> {
    const s = await Session.create(this.client, { ttlSeconds: this.options.ttlSeconds ?? 10 });
    let written: Instance;
    try {
      if (this.closed) throw new Error('closed');
      this.current = written = { ...this.current, registeredAt: new Date().toISOString() };
      await this.put(s);
    } catch (err) {
      await s.close().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await s.close();
      return;
    }
    this.session = s;
    this.backoff.reset();
    s.once('lost', (err: CairnError) => this.onLost(s, err));
    // A status change while the put was in flight found no session to write with.
    if (this.current !== written) this.rewrite();
    this.emit('registered', this.current);
  }

  private onLost(s: Session, err: CairnError): void {
    if (this.closed || this.session !== s) return;
    this.session = undefined;
    this.emit('lost', err);
    this.retry();
  }

  private retry(): void {
    // A closed client cannot register again: stop instead of retrying forever.
    if (this.closed || this.client.isClosed) return;
    this.attempt().catch((err: unknown) => {
      if (this.closed) return;
      const delay = this.backoff.next();
      this.emit('retrying', toCairnError(err), delay);
      this.retryTimer = setTimeout(() => this.retry(), delay);
    });
  }
}

/**
 * Registers an instance of a service and keeps it registered: a lease kept alive by heartbeats
 * (TTL/3), redone after a lease loss. Resolves once the instance is visible to discoverers.
 *
 *   const reg = await register(client, { service: 'payments', id: 'pay-1', address: '10.0.0.7', port: 8080 });
 *   ...
 *   await reg.close(); // deregisters at once
 */
export async function register(client: CairnClient, options: RegisterOptions): Promise<Registration> {
  const r = new Registration(client, options);
  try {
    await r.start();
  } catch (err) {
    await r.close().catch(() => undefined);
    throw err;
  }
  return r;
}
