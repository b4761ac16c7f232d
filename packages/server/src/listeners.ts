/*
 * The HTTP(S) listeners a member serves on: one per client, peer and metrics URL, with the TLS
 * settings of its side, and the checks said once at start about the peer ones.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { checkServerIdentity, type TlsOptions, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { exposedPeerListeners, type ResolvedConfig, type ResolvedTls } from './config/config.js';
import type { WsClientOptions } from './api/ws.js';

/** A client URL could not be listened on (port in use, address not available ...). */
export class ListenError extends Error {
  override readonly name = 'ListenError';
  constructor(
    readonly url: string,
    /** The system error code, e.g. 'EADDRINUSE'. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const errorText: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this host',
  EACCES: 'permission denied',
};

export function listen(server: NetServer, url: URL, what = 'clients'): Promise<AddressInfo> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const code = err.code ?? 'UNKNOWN';
      reject(new ListenError(url.href, code, `cannot listen for ${what} on ${url.href}: ${errorText[code] ?? err.message} (${code})`));
    };
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

export function boundUrl(url: URL, addr: AddressInfo): string {
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return `${url.protocol}//${host}:${addr.port}`;
}

/** A member's TLS server options for its side's settings (client or peer). */
export function tlsServerOptions(tls: ResolvedTls, handshakeTimeoutMs: number | undefined): TlsOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    requestCert: tls.clientCertAuth,
    rejectUnauthorized: tls.clientCertAuth,
    minVersion: 'TLSv1.2',
    ...(handshakeTimeoutMs !== undefined ? { handshakeTimeout: handshakeTimeoutMs } : {}),
  };
}

/** An HTTP(S) server for one listen URL, with the TLS settings of its side. */
export function makeServer(
  url: URL,
  tls: ResolvedTls | undefined,
  handler?: Parameters<typeof createServer>[1],
  /** Bounds the TLS handshake (Node's default is 120 s). */
  handshakeTimeoutMs?: number,
): HttpServer | HttpsServer {
  const server =
    url.protocol === 'https:' && tls !== undefined
      ? createHttpsServer(tlsServerOptions(tls, handshakeTimeoutMs), handler)
      : createServer(handler);
  server.on('clientError', (_err, socket) => socket.destroy());
  return server;
}

/** The client side of peer TLS: trust the peer CA, present our peer certificate. */
export function peerClientTls(tls: ResolvedTls | undefined): WsClientOptions {
  if (tls === undefined) return {};
  return { ...(tls.ca !== undefined ? { ca: tls.ca } : {}), cert: tls.cert, key: tls.key };
}

/**
 * A peer listener others can reach, with neither TLS nor an explicit secret, is protected only
 * by the initial-cluster token: said once at start, with what to do.
 */
export function warnUnsafePeerListeners(cfg: ResolvedConfig, log: Logger): void {
  const exposed = exposedPeerListeners(cfg);
  if (exposed.length === 0) return;
  log.warn(
    { listenPeerUrls: exposed, peerAuth: 'initial-cluster-token' },
    'peers are authenticated only with a key derived from --initial-cluster-token, in plaintext: anyone who knows the token can act as a member. Set --peer-secret-file (the same file on every member) or peer TLS with --peer-client-cert-auth (docs/security.md)',
  );
}

/**
 * --peer-cert-allowed-cn / --peer-cert-allowed-hostname: a verified peer certificate must also
 * name the allowed common name or host; other sockets are closed before any byte is read.
 */
export function checkPeerCertificates(server: HttpServer | HttpsServer, tls: ResolvedTls, log: Logger): void {
  if (!tls.clientCertAuth || (tls.allowedCn === undefined && tls.allowedHostname === undefined)) return;
  server.on('secureConnection', (socket: TLSSocket) => {
    const cert = socket.getPeerCertificate();
    const cn = cert.subject?.CN;
    const cnOk = tls.allowedCn === undefined || cn === tls.allowedCn;
    const hostOk = tls.allowedHostname === undefined || checkServerIdentity(tls.allowedHostname, cert) === undefined;
    if (cnOk && hostOk) return;
    log.warn({ address: socket.remoteAddress, cn, allowedCn: tls.allowedCn, allowedHostname: tls.allowedHostname }, 'peer port: refused a peer certificate that is not allowed');
    socket.destroy();
  });
}
