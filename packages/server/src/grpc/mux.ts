import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { createServer as createTlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import { EARLY_SETTINGS, firstFrames } from './authority.js';

/** HTTP/2's connection preface: every gRPC connection opens with these 24 bytes. */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Where a connection on the client port goes once its protocol is known. */
export interface ClientPortRoutes {
  /** The HTTP/1.1 server (metrics, health, the JSON gateway, the WebSocket upgrade); it listens on nothing itself. */
  readonly http: HttpServer | HttpsServer;
  /** HTTP/2: the gRPC server. */
  grpc(socket: Socket | TLSSocket): void;
  /** A connection that said too little to be told apart within the handshake timeout. */
  timedOut?(socket: Socket): void;
}

/**
 * Reads the first bytes of `socket` until they either are the HTTP/2 preface or cannot be,
 * then puts them back and calls `route` (`true` for HTTP/2). One read is usually enough: a
 * client sends the preface, or its request line, in its first segment.
 */
export function sniff(socket: Socket, timeoutMs: number, route: (http2: boolean) => void, timedOut: () => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => {
    cleanup();
    timedOut();
  }, timeoutMs);
  timer.unref();
  const cleanup = (): void => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', onClose);
  };
  const onClose = (): void => cleanup();
  const onData = (chunk: Buffer): void => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, PREFACE.length);
    const samePrefix = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (samePrefix && seen.length < PREFACE.length) return; // could still be either: read on
    cleanup();
    socket.pause();
    socket.unshift(seen);
    route(samePrefix);
  };
  socket.on('data', onData);
  socket.on('close', onClose);
  socket.on('error', () => socket.destroy());
}

/** At most this many bytes are read ahead of the HTTP/2 server for the first request. */
const FIRST_REQUEST_MAX_BYTES = 64 * 1024;
/**
 * At most this long a connection is held for its first request; then a client that connected
 * ahead of its first call is handed over unfixed. A loaded member (or client) can take over a
 * second between the connection and the first request, so this is long; it stays below
 * etcdctl's 6 s keepalive timeout, and a PING ends the wait at once (firstFrames).
 */
export const FIRST_REQUEST_WAIT_MS = 5000;

/**
 * Holds an HTTP/2 connection back from the HTTP/2 server until its first request's headers
 * (and the ACK of the SETTINGS sent here first) have come, so that their `:authority` can be
 * fixed (authority.ts); then `ready`. Bounded by FIRST_REQUEST_MAX_BYTES and `timeoutMs`.
 */
export function firstRequest(socket: Socket, timeoutMs: number, ready: () => void): void {
  let seen: Buffer = Buffer.alloc(0);
  let finished = false;
  const finish = (bytes: Buffer): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.pause();
    if (bytes.length > 0) socket.unshift(bytes);
    ready();
  };
  const timer = setTimeout(() => finish(firstFrames(seen, PREFACE.length).bytes), Math.min(timeoutMs, FIRST_REQUEST_WAIT_MS));
  timer.unref();
  const onData = (chunk: Buffer): void => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const r = firstFrames(seen, PREFACE.length);
    if (r.state === 'done' || seen.length >= FIRST_REQUEST_MAX_BYTES) finish(r.bytes);
  };
  socket.on('data', onData);
  socket.write(EARLY_SETTINGS);
  socket.resume();
}

/**
 * The one listener of a plain client URL: HTTP/2 (gRPC, by its connection preface) and
 * HTTP/1.1 (with its WebSocket upgrade) share the port, as etcd serves gRPC and HTTP on one.
 */
export function plainClientListener(routes: ClientPortRoutes, handshakeTimeoutMs: number): NetServer {
  return createNetServer({ noDelay: true }, (socket) => {
    sniff(
      socket,
      handshakeTimeoutMs,
      (http2) => {
        if (http2) return firstRequest(socket, handshakeTimeoutMs, () => routes.grpc(socket));
        routes.http.emit('connection', socket);
        // Paused by sniff(); the HTTP parser's data listener does not resume it by itself.
        socket.resume();
      },
      () => (routes.timedOut !== undefined ? routes.timedOut(socket) : socket.destroy()),
    );
  });
}

/**
 * The TLS listener of an https client URL: ALPN offers h2 and http/1.1; h2 goes to gRPC,
 * anything else to the HTTPS server (a client that offered no ALPN is sniffed like a plain one).
 * The client certificate, when --client-cert-auth asks for one, is checked here for both.
 */
export function tlsClientListener(routes: ClientPortRoutes, options: TlsOptions, handshakeTimeoutMs: number): NetServer {
  const server = createTlsServer({ ...options, ALPNProtocols: ['h2', 'http/1.1'] }, (socket: TLSSocket) => {
    if (socket.alpnProtocol === 'h2') {
      firstRequest(socket, handshakeTimeoutMs, () => routes.grpc(socket));
      return;
    }
    const toHttp = (): void => {
      routes.http.emit('secureConnection', socket);
      socket.resume();
    };
    if (socket.alpnProtocol === 'http/1.1') {
      toHttp();
      return;
    }
    sniff(socket, handshakeTimeoutMs, (http2) => (http2 ? firstRequest(socket, handshakeTimeoutMs, () => routes.grpc(socket)) : toHttp()), () => socket.destroy());
  });
  return server;
}
