import { EventEmitter } from 'node:events';
import { CairnError, ErrorCode, toCairnError, type CairnClient, type Int64Like, type KeepAliveHandle, type LeaseId } from '@cairn/client';

export interface SessionOptions {
  /** TTL of the session's lease in seconds (default 60, like etcd's). Ignored with `lease`. */
  readonly ttlSeconds?: number;
  /** Adopt this existing lease instead of granting one; `close()` still revokes it. */
  readonly lease?: Int64Like;
  /** Aborting before the session is established fails `Session.create` with `canceled`. */
  readonly signal?: AbortSignal;
}

export const DEFAULT_SESSION_TTL_SECONDS = 60;

/**
 * A lease kept alive for as long as this process wants it. Locks and campaigns hang their keys
 * on it, so they vanish within the TTL if the process dies. Events: `lost` (CairnError) once the
 * lease could not be kept (expired, revoked, or no renewal for a whole TTL); `signal` aborts at
 * the same moment, so work that must stop with the session can pass it on.
 *
 *   const session = await Session.create(client, { ttlSeconds: 10 });
 *   session.on('lost', (err) => console.error('session lost:', err.message));
 *   try { ... } finally { await session.close(); }
 *
 * (In TypeScript 5.2+, `await using session = ...` closes it at the end of the block.)
 */
export class Session extends EventEmitter {
  private readonly aborter = new AbortController();
  private ended: CairnError | undefined;
  private readonly endedPromise: Promise<CairnError>;
  private markEnded!: (err: CairnError) => void;

  private constructor(
    readonly client: CairnClient,
    /** The session's lease id. */
    readonly lease: LeaseId,
    /** The lease's TTL as granted, in seconds. */
    readonly ttlSeconds: number,
    private readonly keeper: KeepAliveHandle,
  ) {
    super();
    this.endedPromise = new Promise((resolve) => (this.markEnded = resolve));
    keeper.on('lost', (err: CairnError) => this.end(new CairnError(ErrorCode.SessionExpired, `session ${this.leaseHex} lost: ${err.message}`)));
  }

  /** Grants (or adopts) the lease and starts keeping it alive. */
  static async create(client: CairnClient, options: SessionOptions = {}): Promise<Session> {
    const signal = options.signal;
    let lease: LeaseId;
    let ttlSeconds: number;
    if (options.lease !== undefined) {
      const ttl = await client.lease.timeToLive(options.lease, signal === undefined ? {} : { signal });
      if (ttl.ttlSeconds <= 0) throw new CairnError(ErrorCode.LeaseNotFound, `lease ${ttl.id.toString(16)} not found`);
      lease = ttl.id;
      ttlSeconds = ttl.grantedTtlSeconds;
    } else {
      const requested = options.ttlSeconds ?? DEFAULT_SESSION_TTL_SECONDS;
      if (!Number.isSafeInteger(requested) || requested <= 0) {
        throw new CairnError(ErrorCode.InvalidArgument, `session TTL must be a positive whole number of seconds, got ${requested}`);
      }
      // A grant is safe to resend: a lease orphaned by a lost answer just expires.
      const granted = await client.lease.grant(requested, { retry: true, ...(signal === undefined ? {} : { signal }) });
      lease = granted.id;
      ttlSeconds = granted.ttlSeconds;
    }
    const session = new Session(client, lease, ttlSeconds, client.lease.keepAlive(lease));
    if (signal?.aborted === true) {
      await session.close();
      throw new CairnError(ErrorCode.Canceled, 'session creation canceled');
    }
    return session;
  }

  /** The lease id in hex, as etcdctl prints it. */
  get leaseHex(): string {
    return this.lease.toString(16);
  }

  /** Aborted once the session is lost or closed. */
  get signal(): AbortSignal {
    return this.aborter.signal;
  }

  /** Why the session ended (`session_expired` when lost, `canceled` when closed), if it has. */
  get endedWith(): CairnError | undefined {
    return this.ended;
  }

  /** Resolves with the reason once the session is lost or closed. */
  get done(): Promise<CairnError> {
    return this.endedPromise;
  }

  /** Throws `session_expired` (or `canceled`) if the session is over. */
  throwIfEnded(): void {
    if (this.ended !== undefined) throw this.ended;
  }

  /**
   * Ends the session: stops the keep-alive and revokes the lease, which deletes every key the
   * session holds (its locks and campaigns) in one revision. Safe to call twice.
   */
  async close(): Promise<void> {
    const wasLost = this.ended?.code === ErrorCode.SessionExpired;
    this.end(new CairnError(ErrorCode.Canceled, `session ${this.leaseHex} closed`));
    if (wasLost || this.client.isClosed) return;
    try {
      // Bounded: a client that cannot reach any member must not hang its caller's shutdown; the
      // lease then expires on its own within its TTL.
      await this.client.lease.revoke(this.lease, { timeoutMs: Math.min(5000, this.ttlSeconds * 1000) });
    } catch (err) {
      const e = toCairnError(err);
      if (e.code !== ErrorCode.LeaseNotFound) throw e;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private end(err: CairnError): void {
    if (this.ended !== undefined) return;
    this.ended = err;
    this.keeper.close();
    this.aborter.abort(err);
    this.markEnded(err);
    if (err.code === ErrorCode.SessionExpired) this.emit('lost', err);
  }
}
