import type { Server as NetServer } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Logger } from 'pino';
import type { ResolvedTls } from '../config/config.js';
import type { GrpcServer } from './server.js';
import { plainClientListener, tlsClientListener } from './mux.js';
import { tlsServerOptions } from '../listeners.js';

/**
 * The listener of one --listen-client-urls URL: gRPC (HTTP/2) and the HTTP/1.1 server on one
 * port, over TLS for an https URL (with the client-certificate check of --client-cert-auth for
 * both protocols).
 */
export function clientListener(
  url: URL,
  tls: ResolvedTls | undefined,
  http: HttpServer | HttpsServer,
  grpc: GrpcServer,
  handshakeTimeoutMs: number,
  log: Logger,
  /** A plain connection said nothing within the handshake timeout (for metrics). */
  onTimeout: () => void = () => undefined,
): NetServer {
  const routes = { http, grpc: (socket: Parameters<GrpcServer['inject']>[0]) => grpc.inject(socket) };
  if (url.protocol === 'https:' && tls !== undefined) {
    const server = tlsClientListener(routes, tlsServerOptions(tls, handshakeTimeoutMs), handshakeTimeoutMs);
    // A failed TLS handshake (wrong CA, no client certificate) only concerns that socket.
    server.on('tlsClientError', (err) => log.debug({ err: err.message }, 'TLS handshake failed'));
    return server;
  }
  return plainClientListener(
    {
      ...routes,
      timedOut: (socket) => {
        onTimeout();
        log.info(
          { remote: socket.remoteAddress, handshakeTimeoutMs },
          'closed a client connection that sent no complete HTTP request within the handshake timeout (--client-handshake-timeout)',
        );
        socket.destroy();
      },
    },
    handshakeTimeoutMs,
  );
}
