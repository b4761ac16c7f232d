import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, ErrorCode, type ServerFrame } from '@cairn/protocol';
import { WebSocketServer, type WsSocket as WebSocket } from './ws.js';
import type { Logger } from 'pino';
import { Session, type SessionHost } from './session.js';
import { CloseCode, defaultClientPortLimits, ReplyFlow, type ClientPortLimits, type ClientPortObserver } from './clientPort.js';

/** After a close frame, how long a peer gets to answer it before its socket is destroyed. */
const CLOSE_GRACE_MS = 1000;
/** The connection-limit warning is logged at most once per this many milliseconds. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;
import { OriginPolicy } from './origin.js';

/**
 * The client API on an HTTP server: any upgrade request (whatever the path) becomes a
 * WebSocket carrying MessagePack frames, one Session per socket.
 */
export class ClientApiServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: DEFAULT_MAX_FRAME_BYTES, perMessageDeflate: false });
  private readonly sessions = new Map<WebSocket, Session>();
  /** Upgrades accepted and not yet finished, counted against maxConnections. */
  private upgrading = 0;
  private lastRefusalLogMs = -Infinity;
  private refusedSinceLog = 0;

  constructor(
    private readonly host: SessionHost,
    private readonly log: Logger,
    private readonly limits: ClientPortLimits = defaultClientPortLimits,
    private readonly observer?: ClientPortObserver,
    /** Which browser pages may open a socket (--cors); default: no Origin or same-origin. */
    private readonly origins: OriginPolicy = new OriginPolicy(),
  ) {}

  /** Client WebSockets open now. */
  get connections(): number {
    return this.sessions.size;
  }

  /** Routes the HTTP server's upgrade requests here. */
  attach(server: HttpServer | HttpsServer): void {
    this.idleConnections(server);
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      if (!this.host.accepting()) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
        return;
      }
      if (!this.origins.allows(req)) {
        refusedOrigin(this.log, req);
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const max = this.limits.maxConnections;
      if (max > 0 && this.sessions.size + this.upgrading >= max) {
        this.refuseConnection(socket, req, max);
        return;
      }
      this.upgrading++;
      let counted = true;
      const done = (): void => {
        if (counted) this.upgrading--;
        counted = false;
      };
      socket.once('close', done);
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        done();
        this.connection(ws, socket, certUser(req), req.socket.remoteAddress);
      });
    });
  }

  /**
   * A connection that has not finished an HTTP request (the upgrade or any other) within the
   * handshake timeout is destroyed. On TLS the clock starts once the TLS handshake is done
   * (that one is bounded by the server's own handshakeTimeout).
   */
  private idleConnections(server: HttpServer | HttpsServer): void {
    const ms = this.limits.handshakeTimeoutMs;
    const waiting = new WeakMap<object, NodeJS.Timeout>();
    const onConnection = (socket: Duplex & { remoteAddress?: string }): void => {
      const timer = setTimeout(() => {
        waiting.delete(socket);
        this.observer?.refused('upgrade_timeout');
        this.log.info(
          { remote: socket.remoteAddress, handshakeTimeoutMs: ms },
          'closed a client connection that sent no complete HTTP request within the handshake timeout (--client-handshake-timeout)',
        );
        socket.destroy();
      }, ms);
      timer.unref();
      waiting.set(socket, timer);
      socket.once('close', () => clearTimeout(timer));
    };
    const started = (req: IncomingMessage): void => {
      const timer = waiting.get(req.socket);
      if (timer === undefined) return;
      clearTimeout(timer);
      waiting.delete(req.socket);
    };
    server.on(server instanceof HttpsServer ? 'secureConnection' : 'connection', onConnection);
    server.on('request', started);
    server.on('upgrade', started);
  }

  private refuseConnection(socket: Duplex, req: IncomingMessage, max: number): void {
    this.observer?.refused('connection_limit');
    const reason = `too many client connections (--max-client-connections=${max})`;
    socket.end(
      `HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason) + 1}\r\n\r\n${reason}\n`,
    );
    this.refusedSinceLog++;
    const now = performance.now();
    if (now - this.lastRefusalLogMs < REFUSAL_LOG_INTERVAL_MS) return;
    this.log.warn(
      { remote: req.socket.remoteAddress, maxClientConnections: max, refused: this.refusedSinceLog },
      'refused client connections: the connection limit is reached; close idle clients or raise --max-client-connections',
    );
    this.lastRefusalLogMs = now;
    this.refusedSinceLog = 0;
  }

  /** Sends a close frame and destroys the socket if the peer does not answer it soon. */
  private shut(ws: WebSocket, code: number, reason: string): void {
    ws.close(code, reason);
    setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  private connection(ws: WebSocket, socket: Duplex, user: string | undefined, remote: string | undefined): void {
    const limits = this.limits;
    // The callbacks run only once `session` below exists.
    const flow = new ReplyFlow(
      ws,
      limits.unsentSoftBytes,
      () => session.inflightCount,
      (bytes) => session.receive(bytes),
      () => {
        this.observer?.paused();
        this.log.debug({ remote, clientUnsentSoftBytes: limits.unsentSoftBytes }, 'paused reading a client socket until its replies drain');
      },
    );
    const sink = (frame: ServerFrame): void => {
      if (ws.readyState !== 1) return;
      const unsent = ws.bufferedAmount;
      if (unsent > limits.unsentHardBytes) {
        // The frame is dropped with the socket: the client sees the close (connection_closed
        // for what it had in flight), as after any disconnect.
        this.observer?.refused('unsent_bytes');
        this.log.warn(
          { remote, unsentBytes: unsent, clientUnsentHardBytes: limits.unsentHardBytes },
          'closed a client socket that does not read its replies (unsent bytes over --client-unsent-hard-bytes); the client must read its socket, or raise the limit',
        );
        this.shut(ws, CloseCode.UnsentBytes, `client is not reading its replies: more than ${limits.unsentHardBytes} bytes unsent`);
        return;
      }
      let bytes: Uint8Array;
      try {
        bytes = encodeFrame(frame);
      } catch (err) {
        // A result that cannot be encoded is a server bug; fail the one request, not the socket.
        this.log.error({ err }, 'cannot encode a response frame');
        const id = 'id' in frame ? frame.id : -1;
        bytes = encodeFrame({ t: 'err', id, code: ErrorCode.Internal, message: 'cannot encode response' });
      }
      flow.replied(bytes.length);
      this.observer?.traffic?.(0, bytes.length);
      // Replies finished in one turn of the event loop (a written batch answers many) leave in
      // one write: the socket is corked until the current ticks and microtasks have run.
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      ws.send(bytes, pumpIfPaused);
      // A request just finished: what the socket is taken to owe went down.
      if (flow.isPaused) queueMicrotask(pumpIfPaused);
    };
    let corked = false;
    const uncork = (): void => {
      corked = false;
      socket.uncork();
    };
    const pumpIfPaused = (): void => {
      if (flow.isPaused) flow.pump();
    };
    const session = new Session(this.host, sink, user, () => ws.bufferedAmount, remote);
    this.sessions.set(ws, session);
    const hello = setTimeout(() => {
      if (session.helloed || ws.readyState !== 1) return;
      this.observer?.refused('handshake_timeout');
      this.log.info(
        { remote, handshakeTimeoutMs: limits.handshakeTimeoutMs },
        'closed a client socket that sent no hello frame within the handshake timeout (--client-handshake-timeout)',
      );
      this.shut(ws, CloseCode.HandshakeTimeout, `no hello frame within ${limits.handshakeTimeoutMs} ms`);
    }, limits.handshakeTimeoutMs);
    hello.unref();
    ws.on('message', (data, isBinary) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
      void isBinary;
      this.observer?.traffic?.(bytes.length, 0);
      flow.receive(bytes);
    });
    ws.on('error', (err) => this.log.debug({ err }, 'client socket error'));
    ws.on('close', () => {
      clearTimeout(hello);
      session.close();
      this.sessions.delete(ws);
    });
  }

  /** Requests still waiting for an answer, over all sockets. */
  get inflight(): number {
    let n = 0;
    for (const s of this.sessions.values()) n += s.inflightCount;
    return n;
  }

  /**
   * Closes every socket with 1001 (going away), waits up to `graceMs` for the close
   * handshakes, terminates what is left, and closes the WebSocket server.
   */
  async close(graceMs = 1000): Promise<void> {
    const sockets = [...this.sessions.keys()];
    const closed = sockets.map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())));
    for (const ws of sockets) ws.close(CloseCode.GoingAway, 'server shutting down');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const ws of this.sessions.keys()) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

const originLogged = new Map<string, number>();
const ORIGIN_LOG_EVERY_MS = 60_000;

/**
 * A request from a page of a foreign origin was refused: say which, and what to do. Once a
 * minute per origin at most, so that a page retrying in a loop cannot flood the log.
 */
export function refusedOrigin(log: Logger, req: IncomingMessage): void {
  const origin = String(req.headers.origin);
  const now = Date.now();
  const last = originLogged.get(origin);
  if (last !== undefined && now - last < ORIGIN_LOG_EVERY_MS) return;
  originLogged.delete(origin);
  originLogged.set(origin, now);
  if (originLogged.size > 1000) originLogged.delete(originLogged.keys().next().value!);
  log.warn(
    { origin: req.headers.origin, remote: req.socket.remoteAddress, path: req.url },
    'refused a request from a browser page of another origin (HTTP 403); to allow that page, add its origin to --cors',
  );
}

/**
 * The common name of the client certificate on a TLS socket, when the server asked for one and
 * it verified against the trusted CA (with --client-cert-auth a socket without one never gets
 * this far).
 */
function certUser(req: IncomingMessage): string | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (socket.encrypted !== true || socket.authorized !== true || socket.getPeerCertificate === undefined) return undefined;
  const cn = socket.getPeerCertificate().subject?.CN;
  return typeof cn === 'string' && cn !== '' ? cn : undefined;
}
