import {
  Authenticate,
  backoffDelayMs,
  CairnError,
  DEFAULT_MAX_FRAME_BYTES,
  ErrorCode,
  toCairnError,
  traitsOf,
  type ClusterId,
  type RequestDescriptor,
  type StreamDescriptor,
} from '@cairn/protocol';
import { Connection, type ServerHello, type TlsOptions } from './connection.js';
import { endpointToUrl } from './endpoints.js';
import { CallScope } from './scope.js';
import { StreamChannel, type CairnStream } from './stream.js';

/** Where the client reports what it does; every method is optional. */
export interface Logger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
}

export interface CairnClientOptions {
  /** Members' client URLs: `host:port`, `http://host:port` or `ws://host:port`. Tried in order, then round robin. */
  readonly endpoints: readonly string[];
  /** Budget for establishing a connection, across endpoints and back-off. Default 5000. */
  readonly dialTimeoutMs?: number;
  /** Default deadline of a request, including reconnects and retries. Default 10000. */
  readonly requestTimeoutMs?: number;
  /** An auth token to present in the handshake. */
  readonly token?: string;
  /**
   * With `password`: authenticate on every new connection and use the token it yields; when a
   * member answers `invalid_auth_token` (the token expired), authenticate again and retry once.
   */
  readonly username?: string;
  readonly password?: string;
  readonly logger?: Logger;
  /** TLS for wss:// (https://) endpoints; bare host:port endpoints then use wss:// too. */
  readonly tls?: TlsOptions;
  /** Largest frame accepted from a member. Default: the protocol's 32 MiB. */
  readonly maxFrameBytes?: number;
  /** First delay before retrying a request or a round of endpoints; doubles up to `maxBackoffMs`. Default 50. */
  readonly initialBackoffMs?: number;
  /** Default 1000. */
  readonly maxBackoffMs?: number;
  /**
   * Cap of the back-off while a live member answers that the cluster has no leader right now
   * (`no_leader`, `leader_changed`, `unavailable`): an election takes about one election
   * timeout, and a long back-off would add itself to every failover. Default 100.
   */
  readonly maxLeaderBackoffMs?: number;
  /**
   * Ping the member every this many ms on an open connection (etcdctl's --keepalive-time).
   * Default 0: no pings.
   */
  readonly keepAliveTimeMs?: number;
  /**
   * With keepAliveTimeMs: a ping unanswered for this many ms closes the connection, and
   * requests fail over to the next endpoint (etcdctl's --keepalive-timeout). Default 20000.
   */
  readonly keepAliveTimeoutMs?: number;
}

export interface CallOptions {
  /** Aborting fails the call with `canceled` and tells the server to drop it. */
  readonly signal?: AbortSignal;
  /** This call's deadline instead of the client's `requestTimeoutMs`. */
  readonly timeoutMs?: number;
  /**
   * Resend a non-idempotent request (a put, a txn) on a new connection after the old one was
   * lost with the request in flight. It may then be applied twice; only for writes whose
   * repetition is harmless. Idempotent requests are always resent.
   */
  readonly retry?: boolean;
}

export interface StreamOptions {
  /** Aborting closes the stream. */
  readonly signal?: AbortSignal;
}

const DEFAULT_DIAL_TIMEOUT_MS = 5000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_KEEPALIVE_TIMEOUT_MS = 20_000;

function nonNegativeMs(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new CairnError(ErrorCode.InvalidArgument, `${name} must be a finite number of ms >= 0, got ${value}`);
  return value;
}

/**
 * The transport under every API: one WebSocket to one member at a time, requests multiplexed
 * on it by id, failover to the next endpoint when it is lost.
 *
 * Ownership: `connection` is the live socket or undefined; `connecting` is the single dial in
 * progress that every caller waits on. A connection is never replaced while it is open.
 */
export class Transport {
  private readonly endpoints: readonly string[];
  private readonly urls: readonly string[];
  private readonly dialTimeoutMs: number;
  readonly requestTimeoutMs: number;
  private readonly options: CairnClientOptions;
  private readonly logger: Logger;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxLeaderBackoffMs: number;
  private connection: Connection | undefined;
  private connecting: Promise<Connection> | undefined;
  /** Index of the endpoint the next dial tries (round robin). */
  private nextEndpoint = 0;
  /** The first cluster id seen; members of another cluster are refused. */
  private clusterId: ClusterId | undefined;
  private nextId = 1;
  private closed = false;
  private readonly scopes = new Set<CallScope>();
  private readonly streams = new Set<StreamChannel<unknown, unknown>>();

  constructor(options: CairnClientOptions) {
    if (options.endpoints.length === 0) {
      throw new CairnError(ErrorCode.InvalidArgument, 'at least one endpoint is required');
    }
    this.options = options;
    this.endpoints = [...options.endpoints];
    this.urls = this.endpoints.map((e) => endpointToUrl(e, options.tls !== undefined));
    this.dialTimeoutMs = options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.logger = options.logger ?? {};
    this.initialBackoffMs = nonNegativeMs(options.initialBackoffMs ?? 50, 'initialBackoffMs');
    this.maxBackoffMs = nonNegativeMs(options.maxBackoffMs ?? 1000, 'maxBackoffMs');
    this.maxLeaderBackoffMs = nonNegativeMs(options.maxLeaderBackoffMs ?? 100, 'maxLeaderBackoffMs');
  }

  /** Connects now (instead of on the first request) and returns what the member said. */
  async connect(options: StreamOptions = {}): Promise<ServerHello> {
    const scope = this.openScope(undefined, options.signal);
    try {
      const conn = await scope.race(this.currentConnection());
      return conn.hello;
    } finally {
      this.closeScope(scope);
    }
  }

  /** The endpoint of the open connection, if any. */
  get activeEndpoint(): string | undefined {
    return this.connection?.isOpen === true ? this.connection.endpoint : undefined;
  }

  async request<Req, Res>(descriptor: RequestDescriptor<Req, Res>, params: Req, options: CallOptions = {}): Promise<Res> {
    const scope = this.openScope(options.timeoutMs ?? this.requestTimeoutMs, options.signal);
    try {
      let renewed = false;
      for (let attempt = 0; ; attempt++) {
        // A failure to connect is final here: the dial already spent its budget on every endpoint.
        const conn = await scope.race(this.currentConnection());
        try {
          return (await this.send(conn, descriptor.method, params, scope)) as Res;
        } catch (err) {
          const e = toCairnError(err);
          // user_empty with credentials: auth was enabled after this connection logged in.
          const refused = e.code === ErrorCode.InvalidAuthToken || e.code === ErrorCode.UserEmpty;
          if (refused && !renewed && this.options.username !== undefined && scope.error === undefined) {
            // The token expired (or auth was re-enabled with a new secret): log in again on
            // this connection and retry once. The server never applied the refused request.
            renewed = true;
            this.logger.debug?.('auth token refused, authenticating again', { method: descriptor.method });
            await scope.race(this.authenticate(conn, this.options.username, this.options.password ?? '', this.requestTimeoutMs));
            continue;
          }
          if (scope.error !== undefined || !this.mayRetry(descriptor, options, e)) throw e;
          this.logger.debug?.('retrying request', { method: descriptor.method, attempt, error: e.message });
          // A member that answers "no leader" is up: the cluster is electing, and the retry
          // should land soon after the new leader does.
          await scope.sleep(traitsOf(e.code).transient ? this.backoff(attempt, Math.min(this.maxLeaderBackoffMs, this.maxBackoffMs)) : this.backoff(attempt));
        }
      }
    } finally {
      this.closeScope(scope);
    }
  }

  async openStream<Open, ClientMsg, ServerMsg>(
    descriptor: StreamDescriptor<Open, ClientMsg, ServerMsg>,
    params: Open,
    options: StreamOptions = {},
  ): Promise<CairnStream<ClientMsg, ServerMsg>> {
    const scope = this.openScope(undefined, options.signal);
    let conn: Connection;
    try {
      conn = await scope.race(this.currentConnection());
    } finally {
      this.closeScope(scope);
    }
    const id = this.nextId++;
    const stream: StreamChannel<ClientMsg, ServerMsg> = new StreamChannel<ClientMsg, ServerMsg>(id, conn, () => {
      this.streams.delete(stream as StreamChannel<unknown, unknown>);
      options.signal?.removeEventListener('abort', onAbort);
    });
    const onAbort = (): void => stream.close();
    this.streams.add(stream as StreamChannel<unknown, unknown>);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (!conn.start(id, { t: 'open', id, method: descriptor.method, params }, stream)) {
      stream.error(new CairnError(ErrorCode.ConnectionClosed, `connection to ${conn.endpoint} closed`));
    }
    return stream;
  }

  /** Closes the socket; pending requests fail with `connection_closed`, open streams end with it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const err = new CairnError(ErrorCode.ConnectionClosed, 'client closed');
    for (const scope of [...this.scopes]) scope.fail(err);
    this.connection?.close();
    this.connection = undefined;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private mayRetry(descriptor: RequestDescriptor<unknown, unknown>, options: CallOptions, err: CairnError): boolean {
    if (err.code === ErrorCode.ConnectionClosed) {
      // A request that never left is always safe to send again.
      const notSent = err.details?.['notSent'] === true;
      return !this.closed && (notSent || descriptor.idempotent || options.retry === true);
    }
    // A member that is up but between leaders (or stopping): an idempotent request, or one
    // that certainly had no effect, is sent again.
    const traits = traitsOf(err.code);
    return traits.transient && (descriptor.idempotent || traits.notApplied);
  }

  /** The delay before retry `attempt`: doubling from initialBackoffMs up to `cap`, ±20% jitter (never past the cap). */
  private backoff(attempt: number, cap = this.maxBackoffMs): number {
    return backoffDelayMs({ initialMs: Math.min(this.initialBackoffMs, cap), maxMs: cap }, attempt);
  }

  private openScope(timeoutMs: number | undefined, signal: AbortSignal | undefined): CallScope {
    const scope = new CallScope(timeoutMs, signal);
    if (this.closed) scope.fail(new CairnError(ErrorCode.ConnectionClosed, 'client closed'));
    else this.scopes.add(scope);
    return scope;
  }

  private closeScope(scope: CallScope): void {
    scope.dispose();
    this.scopes.delete(scope);
  }

  private send(conn: Connection, method: string, params: unknown, scope: CallScope): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const id = this.nextId++;
      const off = scope.onFail((err) => {
        // Tell the member we gave up; a write may still be applied.
        conn.cancel(id);
        reject(err);
      });
      if (scope.error !== undefined) return;
      const sent = conn.start(id, { t: 'req', id, method, params }, {
        result: (value) => {
          off();
          resolve(value);
        },
        data: () => undefined,
        error: (err) => {
          off();
          reject(err);
        },
        end: () => {
          off();
          reject(new CairnError(ErrorCode.Internal, `${method}: the member ended the request without an answer`));
        },
      });
      if (!sent) {
        off();
        reject(new CairnError(ErrorCode.ConnectionClosed, `connection to ${conn.endpoint} closed`, { notSent: true }));
      }
    });
  }

  private currentConnection(): Promise<Connection> {
    if (this.closed) return Promise.reject(new CairnError(ErrorCode.ConnectionClosed, 'client closed'));
    if (this.connection?.isOpen === true) return Promise.resolve(this.connection);
    this.connecting ??= this.dial().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /**
   * Tries the endpoints round robin, starting after the last one used, with back-off between
   * rounds, until one answers the handshake or `dialTimeoutMs` is spent.
   */
  private async dial(): Promise<Connection> {
    const startedMs = Date.now();
    const n = this.endpoints.length;
    const failures = new Map<string, CairnError>();
    for (let round = 0; ; round++) {
      for (let i = 0; i < n; i++) {
        if (this.closed) throw new CairnError(ErrorCode.ConnectionClosed, 'client closed');
        const remainingMs = this.dialTimeoutMs - (Date.now() - startedMs);
        if (remainingMs <= 0) return this.dialFailed(failures);
        const index = this.nextEndpoint;
        this.nextEndpoint = (index + 1) % n;
        const endpoint = this.endpoints[index]!;
        try {
          const conn = await this.dialOne(endpoint, this.urls[index]!, remainingMs);
          this.adopt(conn);
          return conn;
        } catch (err) {
          const e = toCairnError(err);
          if (this.closed) throw new CairnError(ErrorCode.ConnectionClosed, 'client closed');
          if (!traitsOf(e.code).tryNextEndpoint) throw e;
          failures.set(endpoint, e);
          this.logger.debug?.('dial failed', { endpoint, error: e.message });
        }
      }
      const remainingMs = this.dialTimeoutMs - (Date.now() - startedMs);
      if (remainingMs <= 0) return this.dialFailed(failures);
      await new Promise((resolve) => setTimeout(resolve, Math.min(remainingMs, this.backoff(round))));
    }
  }

  private dialFailed(failures: Map<string, CairnError>): never {
    const errors = [...failures.values()];
    if (errors.length === 1) throw errors[0]!;
    const detail = [...failures].map(([ep, e]) => `${ep}: ${e.message.replace(`cannot connect to ${ep}: `, '')}`);
    throw new CairnError(
      ErrorCode.Unavailable,
      errors.length === 0 ? 'context deadline exceeded' : `cannot connect to any endpoint (${detail.join('; ')})`,
      { endpoints: [...this.endpoints] },
    );
  }

  private async dialOne(endpoint: string, url: string, timeoutMs: number): Promise<Connection> {
    const token = this.options.token;
    const conn = await Connection.dial({
      url,
      endpoint,
      timeoutMs,
      maxFrameBytes: this.options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      ...(token !== undefined ? { token } : {}),
      ...(this.options.tls !== undefined ? { tls: this.options.tls } : {}),
      keepAliveTimeMs: nonNegativeMs(this.options.keepAliveTimeMs ?? 0, 'keepAliveTimeMs'),
      keepAliveTimeoutMs: nonNegativeMs(this.options.keepAliveTimeoutMs ?? DEFAULT_KEEPALIVE_TIMEOUT_MS, 'keepAliveTimeoutMs'),
    });
    try {
      if (this.closed) throw new CairnError(ErrorCode.ConnectionClosed, 'client closed');
      if (this.clusterId !== undefined && conn.hello.clusterId !== this.clusterId) {
        throw new CairnError(
          ErrorCode.ClusterIdMismatch,
          `${endpoint} belongs to cluster ${conn.hello.clusterId.toString(16)}, not ${this.clusterId.toString(16)}`,
        );
      }
      const { username, password } = this.options;
      if (username !== undefined) await this.authenticate(conn, username, password ?? '', timeoutMs);
      return conn;
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  private async authenticate(conn: Connection, name: string, password: string, timeoutMs: number): Promise<void> {
    const scope = new CallScope(timeoutMs, undefined);
    try {
      let res: { token: string };
      try {
        res = (await this.send(conn, Authenticate.method, { name, password }, scope)) as { token: string };
      } catch (err) {
        // Like etcd's client: credentials for a cluster without auth are simply not needed.
        if (toCairnError(err).code === ErrorCode.AuthNotEnabled) return;
        throw err;
      }
      conn.send({ t: 'auth', token: res.token });
    } finally {
      scope.dispose();
    }
  }

  private adopt(conn: Connection): void {
    this.connection = conn;
    this.clusterId ??= conn.hello.clusterId;
    this.logger.debug?.('connected', { endpoint: conn.endpoint, memberId: conn.hello.memberId.toString(16) });
    conn.onClose((err) => {
      if (this.connection === conn) this.connection = undefined;
      if (!this.closed) this.logger.warn?.('connection lost', { endpoint: conn.endpoint, error: err.message });
    });
  }
}
