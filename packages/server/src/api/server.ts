import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, ErrorCode, type ServerFrame } from '@cairn/protocol';
import { WebSocketServer, type WsSocket as WebSocket } from './ws.js';
import type { Logger } from 'pino';
import { Session, type SessionHost } from './session.js';
import { OriginPolicy } from './origin.js';

/**
 * The client API on an HTTP server: any upgrade request (whatever the path) becomes a
 * WebSocket carrying MessagePack frames, one Session per socket.
 */
export class ClientApiServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: DEFAULT_MAX_FRAME_BYTES, perMessageDeflate: false });
  private readonly sessions = new Map<WebSocket, Session>();

  constructor(
    private readonly host: SessionHost,
    private readonly log: Logger,
    /** Which browser pages may open a socket (--cors); default: no Origin or same-origin. */
    private readonly origins: OriginPolicy = new OriginPolicy(),
  ) {}

  /** Routes the HTTP server's upgrade requests here. */
  attach(server: HttpServer | HttpsServer): void {
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
      this.wss.handleUpgrade(req, socket, head, (ws) => this.connection(ws, certUser(req), req.socket.remoteAddress));
    });
  }

  private connection(ws: WebSocket, user: string | undefined, remoteAddress: string | undefined): void {
    const sink = (frame: ServerFrame): void => {
      if (ws.readyState !== 1) return;
      let bytes: Uint8Array;
      try {
        bytes = encodeFrame(frame);
      } catch (err) {
        // A result that cannot be encoded is a server bug; fail the one request, not the socket.
        this.log.error({ err }, 'cannot encode a response frame');
        const id = 'id' in frame ? frame.id : -1;
        bytes = encodeFrame({ t: 'err', id, code: ErrorCode.Internal, message: 'cannot encode response' });
      }
      ws.send(bytes);
    };
    const session = new Session(this.host, sink, user, () => ws.bufferedAmount, remoteAddress);
    this.sessions.set(ws, session);
    ws.on('message', (data, isBinary) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
      void isBinary;
      session.receive(bytes);
    });
    ws.on('error', (err) => this.log.debug({ err }, 'client socket error'));
    ws.on('close', () => {
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
    for (const ws of sockets) ws.close(1001, 'server shutting down');
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
