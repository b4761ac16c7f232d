import {
  CairnError,
  decodeClientFrame,
  encodeFrame,
  ErrorCode,
  LeaseKeepAlive,
  PROTOCOL_VERSION,
  toCairnError,
  Watch,
  type ClientFrame,
  type ServerFrame,
} from '@cairn/protocol';
import type { Caller } from '../auth/authorizer.js';
import type { UnaryHandler } from './unary.js';
import { checkRequestBytes, type ApiLimits } from './limits.js';
import type { StreamOpener, StreamSession } from './streams.js';

/** What a session needs from the server around it. */
export interface SessionHost {
  readonly clusterId: bigint;
  readonly memberId: bigint;
  readonly serverVersion: string;
  readonly limits: ApiLimits;
  readonly unary: ReadonlyMap<string, UnaryHandler>;
  readonly streams: ReadonlyMap<string, StreamOpener>;
  /** False once the server is shutting down: new requests get `stopped`. */
  accepting(): boolean;
  /** One finished request, for metrics: method ('unknown' when not in the table), code ('ok' or the error code), seconds taken. */
  observe(method: string, code: string, seconds: number): void;
  /** A stream was opened (for metrics). */
  streamStarted?(method: string): void;
  /** A stream opened by `streamStarted` ended: by the server (`ok` or an error code), or `canceled` by the client or its socket. */
  streamEnded?(method: string, code: string, seconds: number): void;
}

const seconds = (sinceMs: number): number => (performance.now() - sinceMs) / 1000;

/** Sends a frame; returns false if the socket is gone. */
export type FrameSink = (frame: ServerFrame) => void;

/** Stream methods the protocol declares but this member does not serve yet. */
const plannedStreams: ReadonlySet<string> = new Set([Watch.method, LeaseKeepAlive.method]);

/**
 * The protocol state of one client socket: the hello handshake, then any number of requests
 * in flight, answered by id in whatever order they finish. Nothing a client sends can throw
 * out of `receive`: every failure becomes an `err` frame and the socket stays open.
 */
export class Session {
  private isHelloed = false;
  /**
   * Unary requests in flight, id -> a token unique to that request. A `close` frame removes
   * one (its answer is then dropped); the token keeps a late answer from being sent under a
   * reused id.
   */
  private readonly inflight = new Map<number, object>();
  private readonly streams = new Map<number, StreamSession>();
  /** Open streams' method and start (performance.now() ms), for metrics. */
  private readonly streamInfo = new Map<number, { readonly method: string; readonly t0: number }>();
  private closed = false;
  /** Who this socket speaks for: the token from hello/auth frames, a client certificate's name. */
  private readonly caller: Caller;

  constructor(
    private readonly host: SessionHost,
    private readonly sink: FrameSink,
    certUser?: string,
    /** Bytes queued on the socket and not yet sent (backpressure for watches). */
    private readonly buffered: () => number = () => 0,
    remoteAddress?: string,
  ) {
    this.caller = { ...(certUser !== undefined ? { certUser } : {}), ...(remoteAddress !== undefined ? { remoteAddress } : {}) };
  }

  /** Whether the hello frame was received. */
  get helloed(): boolean {
    return this.isHelloed;
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  receive(bytes: Uint8Array): void {
    let frame: ClientFrame;
    try {
      frame = decodeClientFrame(bytes);
    } catch (err) {
      const e = toCairnError(err);
      const id = e.details?.['id'];
      this.error(typeof id === 'number' ? id : -1, e);
      return;
    }
    try {
      this.handle(frame, bytes.length);
    } catch (err) {
      this.error('id' in frame ? frame.id : -1, toCairnError(err));
    }
  }

  private handle(frame: ClientFrame, bytes: number): void {
    if (frame.t === 'hello') {
      if (frame.version !== PROTOCOL_VERSION) {
        throw new CairnError(ErrorCode.UnsupportedVersion, `unsupported protocol version ${frame.version}`, {
          supported: [PROTOCOL_VERSION],
        });
      }
      this.isHelloed = true;
      if (frame.token !== undefined) this.caller.token = frame.token;
      const h = this.host;
      this.sink({ t: 'hello', version: PROTOCOL_VERSION, clusterId: h.clusterId, memberId: h.memberId, serverVersion: h.serverVersion });
      return;
    }
    if (!this.isHelloed) throw new CairnError(ErrorCode.InvalidArgument, 'expected a hello frame first');
    switch (frame.t) {
      case 'req':
        this.request(frame.id, frame.method, frame.params, bytes);
        return;
      case 'open':
        this.open(frame.id, frame.method, frame.params, bytes);
        return;
      case 'send': {
        const s = this.streams.get(frame.id);
        if (s === undefined) throw new CairnError(ErrorCode.InvalidArgument, `no open stream ${frame.id}`);
        s.message(frame.params);
        return;
      }
      case 'close': {
        if (this.inflight.delete(frame.id)) return;
        const s = this.streams.get(frame.id);
        if (s !== undefined) {
          this.streams.delete(frame.id);
          this.streamDone(frame.id, ErrorCode.Canceled);
          s.close();
        }
        return;
      }
      case 'auth':
        // Checked on each request: a bad token fails those with invalid_auth_token.
        this.caller.token = frame.token;
        return;
    }
  }

  private request(id: number, method: string, params: unknown, bytes: number): void {
    const t0 = performance.now();
    const handler = this.host.unary.get(method);
    const label = handler === undefined ? 'unknown' : method;
    const fail = (e: CairnError): void => {
      this.host.observe(label, e.code, seconds(t0));
      this.error(id, e);
    };
    if (this.inflight.has(id) || this.streams.has(id)) {
      return fail(new CairnError(ErrorCode.InvalidArgument, `request id ${id} is already in use`));
    }
    if (handler === undefined) return fail(new CairnError(ErrorCode.UnknownMethod, `unknown method ${JSON.stringify(method)}`));
    if (!this.host.accepting()) return fail(new CairnError(ErrorCode.Stopped));
    try {
      checkRequestBytes(bytes, this.host.limits);
    } catch (err) {
      return fail(toCairnError(err));
    }
    const token = {};
    this.inflight.set(id, token);
    const mine = (): boolean => this.inflight.get(id) === token && this.inflight.delete(id);
    let p: Promise<unknown>;
    try {
      p = handler(params, this.caller);
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      (result) => {
        this.host.observe(label, 'ok', seconds(t0));
        if (mine()) this.send({ t: 'res', id, result });
      },
      (err: unknown) => {
        const e = toCairnError(err);
        this.host.observe(label, e.code, seconds(t0));
        if (mine()) this.error(id, e);
      },
    ).catch(() => undefined); // `send` never throws; this only keeps a bug from becoming an unhandled rejection
  }

  private open(id: number, method: string, params: unknown, bytes: number): void {
    if (this.inflight.has(id) || this.streams.has(id)) {
      throw new CairnError(ErrorCode.InvalidArgument, `stream id ${id} is already in use`);
    }
    checkRequestBytes(bytes, this.host.limits);
    const opener = this.host.streams.get(method);
    if (opener === undefined) {
      if (plannedStreams.has(method)) throw new CairnError(ErrorCode.NotCapable, `${method} is not served by this member yet`);
      throw new CairnError(ErrorCode.UnknownMethod, `unknown stream method ${JSON.stringify(method)}`);
    }
    if (!this.host.accepting()) throw new CairnError(ErrorCode.Stopped);
    this.streamInfo.set(id, { method, t0: performance.now() });
    this.host.streamStarted?.(method);
    // Registered before the opener runs, so that it may send (or end) at once.
    const opening: StreamSession = { message: () => undefined, close: () => undefined };
    this.streams.set(id, opening);
    let session: StreamSession;
    try {
      session = opener(params, {
        id,
        caller: this.caller,
        send: (result) => {
          if (this.streams.has(id)) this.send({ t: 'data', id, result });
        },
        bufferedBytes: () => this.buffered(),
        end: (error) => {
          if (!this.streams.delete(id)) return;
          this.streamDone(id, error === undefined ? 'ok' : error.code);
          if (error === undefined) this.send({ t: 'err', id });
          else this.error(id, error);
        },
      });
    } catch (err) {
      if (this.streams.get(id) === opening) this.streams.delete(id);
      this.streamDone(id, toCairnError(err).code);
      throw err;
    }
    // Unless the stream already ended while opening.
    if (this.streams.get(id) === opening) this.streams.set(id, session);
  }

  /** Stream `id` ended with `code`: reported once. */
  private streamDone(id: number, code: string): void {
    const info = this.streamInfo.get(id);
    if (info === undefined) return;
    this.streamInfo.delete(id);
    this.host.streamEnded?.(info.method, code, seconds(info.t0));
  }

  private error(id: number, e: CairnError): void {
    const frame: { t: 'err'; id: number; code: ErrorCode; message: string; details?: Record<string, unknown> } = {
      t: 'err',
      id,
      code: e.code,
      message: e.message,
    };
    if (e.details !== undefined) frame.details = { ...e.details };
    this.send(frame);
  }

  private send(frame: ServerFrame): void {
    if (this.closed) return;
    try {
      this.sink(frame);
    } catch {
      // The socket is going away; its close event ends the session.
    }
  }

  /** The socket is gone: close streams, drop pending answers. */
  close(): void {
    this.closed = true;
    this.inflight.clear();
    for (const s of this.streams.values()) s.close();
    for (const id of [...this.streamInfo.keys()]) this.streamDone(id, ErrorCode.Canceled);
    this.streams.clear();
  }
}

/** Encodes a frame; exported for the socket layer. */
export const encodeServerFrame = (frame: ServerFrame): Uint8Array => encodeFrame(frame);
