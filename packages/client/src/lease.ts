import {
  Backoff,
  CairnError,
  ErrorCode,
  LeaseGrant,
  LeaseKeepAlive,
  LeaseLeases,
  LeaseRevoke,
  LeaseTimeToLive,
  toCairnError,
  type LeaseGrantResponse,
  type LeaseId,
  type LeaseKeepAliveRequest,
  type LeaseKeepAliveResponse,
  type LeaseLeasesResponse,
  type LeaseRevokeResponse,
  type LeaseTimeToLiveResponse,
} from '@cairn/protocol';
import { TypedEmitter } from './emitter.js';
import { callOptionsOf, toInt64, type Int64Like } from './options.js';
import type { CairnStream } from './stream.js';
import type { CallOptions, Transport } from './transport.js';

export interface LeaseGrantOptions extends CallOptions {
  /** Choose the lease id (positive); default: the server picks one. */
  readonly id?: Int64Like;
}
export interface TimeToLiveOptions extends CallOptions {
  /** Also list the keys attached to the lease. */
  readonly keys?: boolean;
}

/**
 * Between attempts to reopen the shared keep-alive stream after it broke. The cap stays well
 * under any TTL: each handle also asks for the stream on its own renewal timer (TTL/6 while
 * unanswered), so a lease is renewed as soon as a member answers either way.
 */
const REOPEN_BACKOFF = { initialMs: 250, maxMs: 1000 } as const;

/**
 * A lease kept alive by `Lease.keepAlive`. Events: `keepalive` (ttlSeconds, the server's
 * LeaseKeepAliveResponse) after each renewal;
 * `lost` (CairnError) once the lease could not be kept: it expired or was revoked (the server
 * answered TTL 0), or no renewal succeeded for a whole TTL (the member is unreachable). After
 * `lost` or `close` the handle does nothing more.
 */
/** The events of a KeepAliveHandle and their listeners' arguments. */
export interface KeepAliveEvents extends Record<string, unknown[]> {
  keepalive: [ttlSeconds: number, response: LeaseKeepAliveResponse];
  lost: [err: CairnError];
}

export class KeepAliveHandle extends TypedEmitter<KeepAliveEvents> {
  /** The TTL the server last granted, in seconds (0 until the first answer). */
  ttlSeconds = 0;
  /** When the lease runs out if no renewal succeeds, in ms since the epoch. */
  deadlineMs = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private done = false;

  constructor(
    readonly id: LeaseId,
    private readonly mux: KeepAliveMux,
  ) {
    super();
  }

  get closed(): boolean {
    return this.done;
  }

  /** Stops renewing (the lease itself lives on until its TTL runs out or it is revoked). */
  close(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.mux.remove(this);
  }

  /** @internal */
  renewNow(): void {
    if (this.done) return;
    clearTimeout(this.timer);
    if (this.mux.clientClosed) {
      this.close();
      return;
    }
    if (this.deadlineMs !== 0 && Date.now() >= this.deadlineMs) {
      this.lose(new CairnError(ErrorCode.Timeout, `lease ${this.id.toString(16)} could not be kept alive within its TTL`));
      return;
    }
    this.mux.send(this.id);
    // Retry soon if no answer comes (the stream may be down); an answer re-arms at TTL/3.
    this.arm(this.ttlSeconds > 0 ? Math.max(100, (this.ttlSeconds * 1000) / 6) : 500);
  }

  /** @internal */
  answered(ttlSeconds: number, response: LeaseKeepAliveResponse): void {
    if (this.done) return;
    if (ttlSeconds <= 0) {
      this.lose(new CairnError(ErrorCode.LeaseNotFound, `lease ${this.id.toString(16)} expired or was revoked`));
      return;
    }
    this.ttlSeconds = ttlSeconds;
    this.deadlineMs = Date.now() + ttlSeconds * 1000;
    this.emit('keepalive', ttlSeconds, response);
    this.arm((ttlSeconds * 1000) / 3);
  }

  private arm(ms: number): void {
    clearTimeout(this.timer);
    // Node's timers hold at most 2^31 - 1 ms (longer ones fire after 1 ms); a very long TTL
    // is simply renewed early, every 24.8 days.
    this.timer = setTimeout(() => this.renewNow(), Math.min(ms, 2 ** 31 - 1));
  }

  private lose(err: CairnError): void {
    this.close();
    // 'lost' without a listener must not throw like 'error' would.
    this.emit('lost', err);
  }
}

/** One keep-alive stream per client, shared by every kept lease; reopened after a reconnect. */
class KeepAliveMux {
  private stream: CairnStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse> | undefined;
  private opening: Promise<void> | undefined;
  private readonly handles = new Map<LeaseId, Set<KeepAliveHandle>>();
  private reopenTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly reopenBackoff = new Backoff(REOPEN_BACKOFF);

  constructor(private readonly transport: Transport) {}

  /** Whether the client was closed: nothing can be renewed any more. */
  get clientClosed(): boolean {
    return this.transport.isClosed;
  }

  add(h: KeepAliveHandle): void {
    let set = this.handles.get(h.id);
    if (set === undefined) this.handles.set(h.id, (set = new Set()));
    set.add(h);
    h.renewNow();
  }

  /** Closes every handle (no `lost`: their leases live on until their TTL runs out). */
  closeAll(): void {
    for (const set of [...this.handles.values()]) for (const h of [...set]) h.close();
  }

  remove(h: KeepAliveHandle): void {
    const set = this.handles.get(h.id);
    set?.delete(h);
    if (set?.size === 0) this.handles.delete(h.id);
    if (this.handles.size === 0) {
      clearTimeout(this.reopenTimer);
      this.stream?.close();
      this.stream = undefined;
    }
  }

  send(id: LeaseId): void {
    const s = this.stream;
    if (s !== undefined && !s.closed) {
      try {
        s.send({ id });
      } catch {
        // The stream broke; the reader loop reopens it.
      }
      return;
    }
    this.open();
  }

  private open(): void {
    if (this.opening !== undefined || this.transport.isClosed || this.handles.size === 0) return;
    this.opening = (async () => {
      try {
        const s = await this.transport.openStream(LeaseKeepAlive, {});
        this.stream = s;
        for (const id of this.handles.keys()) s.send({ id });
        void this.read(s);
      } catch {
        this.scheduleReopen();
      } finally {
        this.opening = undefined;
      }
    })();
  }

  private async read(s: CairnStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse>): Promise<void> {
    try {
      for await (const r of s) {
        this.reopenBackoff.reset();
        for (const h of [...(this.handles.get(r.id) ?? [])]) h.answered(r.ttlSeconds, r);
      }
    } catch (err) {
      void toCairnError(err);
    }
    if (this.stream === s) {
      this.stream = undefined;
      this.scheduleReopen();
    }
  }

  private scheduleReopen(): void {
    if (this.handles.size === 0 || this.transport.isClosed) return;
    clearTimeout(this.reopenTimer);
    this.reopenTimer = setTimeout(() => this.open(), this.reopenBackoff.next());
  }
}

/** The lease API: grant, revoke, time-to-live, list, keep-alive. Ids are bigints. */
export class Lease {
  private readonly mux: KeepAliveMux;

  constructor(private readonly transport: Transport) {
    this.mux = new KeepAliveMux(transport);
  }

  /** A new lease of `ttlSeconds` (raised to the server's minimum). */
  grant(ttlSeconds: number, options: LeaseGrantOptions = {}): Promise<LeaseGrantResponse> {
    if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 0) {
      return Promise.reject(new CairnError(ErrorCode.InvalidArgument, 'ttlSeconds must be a non-negative integer'));
    }
    const params = options.id === undefined ? { ttlSeconds } : { ttlSeconds, id: toInt64(options.id, 'id') };
    return this.transport.request(LeaseGrant, params, callOptionsOf(options));
  }

  /** Revokes the lease: every key attached to it is deleted in one revision. */
  revoke(id: Int64Like, options: CallOptions = {}): Promise<LeaseRevokeResponse> {
    return this.transport.request(LeaseRevoke, { id: toInt64(id, 'id') }, callOptionsOf(options));
  }

  /** Remaining and granted TTL; `ttlSeconds` is -1 if the lease does not exist. */
  timeToLive(id: Int64Like, options: TimeToLiveOptions = {}): Promise<LeaseTimeToLiveResponse> {
    const params = { id: toInt64(id, 'id'), ...(options.keys === true ? { keys: true } : {}) };
    return this.transport.request(LeaseTimeToLive, params, callOptionsOf(options));
  }

  leases(options: CallOptions = {}): Promise<LeaseLeasesResponse> {
    return this.transport.request(LeaseLeases, {}, callOptionsOf(options));
  }

  /** Renews the lease once; resolves with its fresh TTL (0: it no longer exists). */
  async keepAliveOnce(id: Int64Like): Promise<LeaseKeepAliveResponse> {
    const s = await this.transport.openStream(LeaseKeepAlive, {});
    try {
      s.send({ id: toInt64(id, 'id') });
      for await (const r of s) return r;
      throw new CairnError(ErrorCode.ConnectionClosed, 'keep-alive stream ended');
    } finally {
      s.close();
    }
  }

  /** Keeps the lease alive (renewing at TTL/3) until `close()` on the handle or `lost`. */
  keepAlive(id: Int64Like): KeepAliveHandle {
    const h = new KeepAliveHandle(toInt64(id, 'id'), this.mux);
    this.mux.add(h);
    return h;
  }

  /** @internal Called by `CairnClient.close()`: stops every keep-alive without `lost`. */
  closeKeepAlives(): void {
    this.mux.closeAll();
  }
}

export type { KeepAliveMux };
