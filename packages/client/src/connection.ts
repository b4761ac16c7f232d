import {
  CairnError,
  ErrorCode,
  PROTOCOL_VERSION,
  decodeServerFrame,
  encodeFrame,
  isErrorCode,
  type ClientFrame,
  type ClusterId,
  type MemberId,
  type ServerFrame,
} from '@cairn/protocol';
import { openWire } from './platform.js';
import type { WireSocket } from './wire.js';

/** What the member said about itself in its `hello`. */
export interface ServerHello {
  readonly clusterId: ClusterId;
  readonly memberId: MemberId;
  readonly serverVersion: string;
}

/**
 * Receives what the server sends for one id. Exactly one of `error`/`end` is called last, and
 * after it nothing more for that id.
 */
export interface FrameSink {
  result(value: unknown): void;
  data(value: unknown): void;
  /** The request failed, the stream ended with an error, or the socket went away. */
  error(err: CairnError): void;
  /** A stream ended normally (an `err` frame without a code). */
  end(): void;
}

export interface DialOptions {
  readonly url: string;
  readonly endpoint: string;
  readonly timeoutMs: number;
  readonly token?: string;
  readonly maxFrameBytes: number;
  readonly tls?: TlsOptions;
  /** Ping the member every this many ms (0: never); see CairnClientOptions.keepAliveTimeMs. */
  readonly keepAliveTimeMs?: number;
  /** Close the connection when a ping is not answered within this many ms. */
  readonly keepAliveTimeoutMs?: number;
}

/** PEM material for wss:// endpoints (Node only: in a browser, TLS is the browser's). */
export interface TlsOptions {
  /** CA bundle the member's certificate must chain to (default: the system's). */
  readonly ca?: string | Uint8Array;
  /** Client certificate and key, for members with --client-cert-auth. */
  readonly cert?: string | Uint8Array;
  readonly key?: string | Uint8Array;
  /** Accept any server certificate, unverified (etcdctl's --insecure-skip-tls-verify). For tests only. */
  readonly insecureSkipVerify?: boolean;
}

/** Builds the CairnError an `err` frame describes. */
export function errorFromFrame(frame: {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly details?: unknown;
}): CairnError {
  const code = isErrorCode(frame.code) ? frame.code : ErrorCode.Internal;
  const message = typeof frame.message === 'string' && frame.message !== '' ? frame.message : undefined;
  let details =
    typeof frame.details === 'object' && frame.details !== null
      ? (frame.details as Record<string, unknown>)
      : undefined;
  // A code this client does not know (a newer member): keep it for the caller to see.
  if (!isErrorCode(frame.code) && frame.code !== undefined) details = { ...details, serverCode: frame.code };
  return new CairnError(code, message, details);
}

/** Lets a timer not keep Node's process alive (browsers' timers are numbers: nothing to do). */
function unref(timer: ReturnType<typeof setTimeout>): void {
  (timer as { unref?: () => void }).unref?.();
}

const dialErrorText: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'no such host',
  ECONNRESET: 'connection reset by peer',
  EHOSTUNREACH: 'no route to host',
  ETIMEDOUT: 'i/o timeout',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'certificate signed by unknown authority',
  SELF_SIGNED_CERT_IN_CHAIN: 'certificate signed by unknown authority',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'certificate signed by unknown authority',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'certificate signed by unknown authority',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'tls: certificate required',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'tls: bad certificate',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'tls: unknown certificate authority',
};

/** Turns a socket-level failure into the message a user should see. */
function describeDialError(err: Error & { code?: string }): string {
  return (err.code !== undefined ? dialErrorText[err.code] : undefined) ?? (err.message || String(err));
}

/**
 * One WebSocket to one member, after the hello handshake. Owns the id -> sink table for the
 * requests and streams in flight on it; when the socket closes, every sink gets
 * `connection_closed` exactly once. Reconnection is the client's business, not this class's.
 */
export class Connection {
  readonly endpoint: string;
  readonly hello: ServerHello;
  private readonly socket: WireSocket;
  private readonly sinks = new Map<number, FrameSink>();
  private closedError: CairnError | undefined;
  private readonly closeListeners: ((err: CairnError) => void)[] = [];
  private keepAliveTimer: ReturnType<typeof setInterval> | undefined;
  private pongTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(endpoint: string, socket: WireSocket, hello: ServerHello) {
    this.endpoint = endpoint;
    this.socket = socket;
    this.hello = hello;
    socket.handle({
      open: () => undefined,
      message: (bytes) => this.onMessage(bytes),
      close: (code, reason) => {
        const why = reason.length > 0 ? `: ${reason}` : code !== 1000 && code !== 1005 ? ` (code ${code})` : '';
        this.shutdown(new CairnError(ErrorCode.ConnectionClosed, `connection to ${endpoint} closed${why}`));
      },
      error: (err) => {
        this.shutdown(new CairnError(ErrorCode.ConnectionClosed, `connection to ${endpoint} lost: ${describeDialError(err)}`));
      },
      pong: () => {
        clearTimeout(this.pongTimer);
        this.pongTimer = undefined;
      },
    });
  }

  /**
   * Opens a socket and performs the handshake: our `hello` first, then the member's. Rejects
   * with `unavailable` (cannot connect) or the error the member answered the hello with.
   */
  static dial(options: DialOptions): Promise<Connection> {
    return new Promise<Connection>((resolve, reject) => {
      const socket = openWire(options.url, {
        handshakeTimeoutMs: options.timeoutMs,
        maxFrameBytes: options.maxFrameBytes,
        ...(options.tls !== undefined ? { tls: options.tls } : {}),
      });
      let settled = false;
      const fail = (err: CairnError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.terminate();
        reject(err);
      };
      const timer = setTimeout(
        () => fail(new CairnError(ErrorCode.Unavailable, `cannot connect to ${options.endpoint}: context deadline exceeded`)),
        options.timeoutMs,
      );
      socket.handle({
        error: (err) => fail(new CairnError(ErrorCode.Unavailable, `cannot connect to ${options.endpoint}: ${describeDialError(err)}`)),
        close: () => fail(new CairnError(ErrorCode.Unavailable, `cannot connect to ${options.endpoint}: connection closed during handshake`)),
        pong: () => undefined,
        open: () => {
          const hello: ClientFrame =
            options.token === undefined
              ? { t: 'hello', version: PROTOCOL_VERSION }
              : { t: 'hello', version: PROTOCOL_VERSION, token: options.token };
          socket.send(encodeFrame(hello));
        },
        message: (bytes) => {
          if (settled) return;
          let frame: ServerFrame;
          try {
            frame = decodeServerFrame(bytes);
          } catch (err) {
            fail(err as CairnError);
            return;
          }
          if (frame.t === 'hello') {
            settled = true;
            clearTimeout(timer);
            const hello = { clusterId: frame.clusterId, memberId: frame.memberId, serverVersion: frame.serverVersion };
            const conn = new Connection(options.endpoint, socket, hello);
            conn.startKeepAlive(options.keepAliveTimeMs ?? 0, options.keepAliveTimeoutMs ?? 0);
            resolve(conn);
          } else if (frame.t === 'err') {
            fail(errorFromFrame(frame));
          } else {
            fail(new CairnError(ErrorCode.MalformedFrame, `expected hello from ${options.endpoint}, got ${frame.t}`));
          }
        },
      });
    });
  }

  /**
   * Client-side keepalive, like gRPC's: a WebSocket ping every `timeMs`; a ping not answered
   * (pong) within `timeoutMs` means the member or the path to it is gone, and the connection
   * closes with `connection_closed` so the client fails over instead of waiting on a dead
   * socket. The timers never keep the process alive.
   */
  private startKeepAlive(timeMs: number, timeoutMs: number): void {
    const ping = this.socket.ping;
    if (timeMs <= 0 || ping === undefined) return;
    this.keepAliveTimer = setInterval(() => {
      if (this.closedError !== undefined || this.pongTimer !== undefined) return;
      try {
        ping();
      } catch {
        return;
      }
      if (timeoutMs > 0) {
        this.pongTimer = setTimeout(() => {
          this.shutdown(
            new CairnError(ErrorCode.ConnectionClosed, `connection to ${this.endpoint} lost: keepalive ping not answered within ${timeoutMs}ms`),
          );
          this.socket.terminate();
        }, timeoutMs);
        unref(this.pongTimer);
      }
    }, timeMs);
    unref(this.keepAliveTimer);
  }

  get isOpen(): boolean {
    return this.closedError === undefined;
  }

  /** Called once, with the reason, when the socket is gone. */
  onClose(listener: (err: CairnError) => void): void {
    if (this.closedError !== undefined) listener(this.closedError);
    else this.closeListeners.push(listener);
  }

  /**
   * Registers `sink` under `id` and sends `frame`. Returns false, and leaves the sink alone, if
   * the socket is already gone: then nothing was sent.
   */
  start(id: number, frame: ClientFrame, sink: FrameSink): boolean {
    if (this.closedError !== undefined) return false;
    this.sinks.set(id, sink);
    this.send(frame);
    return true;
  }

  /** Sends a frame on an id already registered (stream messages, the auth frame). */
  send(frame: ClientFrame): void {
    if (this.closedError !== undefined) return;
    try {
      this.socket.send(encodeFrame(frame));
    } catch (err) {
      const cause = err instanceof Error ? err.message : String(err);
      this.shutdown(new CairnError(ErrorCode.ConnectionClosed, `connection to ${this.endpoint} lost: ${cause}`));
    }
  }

  /** Forgets `id` (its sink gets nothing more) and tells the server with a `close` frame. */
  cancel(id: number): void {
    if (this.sinks.delete(id)) this.send({ t: 'close', id });
  }

  /** Forgets `id` without telling the server (the server already ended it). */
  forget(id: number): void {
    this.sinks.delete(id);
  }

  close(): void {
    this.shutdown(new CairnError(ErrorCode.ConnectionClosed, 'client closed'));
  }

  private onMessage(bytes: Uint8Array): void {
    let frame: ServerFrame;
    try {
      frame = decodeServerFrame(bytes);
    } catch (err) {
      this.shutdown(new CairnError(ErrorCode.ConnectionClosed, `connection to ${this.endpoint}: ${(err as Error).message}`));
      return;
    }
    switch (frame.t) {
      case 'res': {
        const sink = this.sinks.get(frame.id);
        if (sink === undefined) return;
        this.sinks.delete(frame.id);
        sink.result(frame.result);
        return;
      }
      case 'data':
        this.sinks.get(frame.id)?.data(frame.result);
        return;
      case 'err': {
        if (frame.id === -1) {
          // Nothing to attribute it to: the server found the socket unusable.
          this.shutdown(new CairnError(ErrorCode.ConnectionClosed, `connection to ${this.endpoint}: ${errorFromFrame(frame).message}`));
          return;
        }
        const sink = this.sinks.get(frame.id);
        if (sink === undefined) return;
        this.sinks.delete(frame.id);
        if (frame.code == null) sink.end();
        else sink.error(errorFromFrame(frame));
        return;
      }
      case 'hello':
        return;
    }
  }

  private shutdown(err: CairnError): void {
    if (this.closedError !== undefined) return;
    this.closedError = err;
    clearInterval(this.keepAliveTimer);
    clearTimeout(this.pongTimer);
    this.socket.handle({ open: () => undefined, message: () => undefined, close: () => undefined, error: () => undefined, pong: () => undefined });
    if (this.socket.openOrConnecting) this.socket.close(1000);
    const sinks = [...this.sinks.values()];
    this.sinks.clear();
    for (const sink of sinks) sink.error(err);
    for (const listener of this.closeListeners.splice(0)) listener(err);
  }
}
