import { mkdirSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { checkServerIdentity, type TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { CairnError, ErrorCode } from '@cairn/protocol';
import { ClientApiServer, refusedOrigin } from './api/server.js';
import type { SessionHost } from './api/session.js';
import { OriginPolicy } from './api/origin.js';
import { LoginThrottle } from './auth/loginThrottle.js';
import { unaryHandlers } from './api/dispatch.js';
import { Quota } from './api/quota.js';
import { defragger } from './api/defragment.js';
import { AutoCompactor } from './compaction/autoCompactor.js';
import { Authorizer } from './auth/authorizer.js';
import type { StreamOpener } from './api/streams.js';
import { systemClock, systemScheduler, type Clock, type Scheduler } from './clock.js';
import { memberStreams } from './api/streamHandlers.js';
import { snapshotStream } from './api/snapshotSave.js';
import { snapshotHost } from './backup/host.js';
import { WatchHub } from './watch/hub.js';
import { exposedPeerListeners, resolveConfig, type CairnConfig, type ResolvedConfig, type ResolvedTls } from './config/config.js';
import { httpHandler } from './http/routes.js';
import { createGrpcServer } from './grpc/server.js';
import { clientListener } from './grpc/clientListener.js';
import { gatewayHandler } from './grpc/gateway.js';
import { Metrics } from './http/metrics.js';
import { healthHost, metricsSource, type MemberParts } from './http/memberHttp.js';
import { openIdentity } from './identity.js';
import { Member, SERVER_VERSION } from './member.js';
import { RocksBackend } from './storage/rocks.js';
import { DatabaseLockedError, DataDirLockedError } from './storage/dataDirErrors.js';
import { PeerServer, type PeerServerHost } from './transport/peerServer.js';
import { PeerTransport } from './transport/transport.js';
import { fetchMembers } from './transport/peerHttp.js';
import { peerKeyFingerprint } from './transport/peerAuth.js';
import type { WsClientOptions } from './api/ws.js';
import { DEFAULT_MAX_FRAME_BYTES } from '@cairn/protocol';

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

/** The running server the daemon holds. */
export interface CairnServer {
  readonly member: Member;
  readonly name: string;
  readonly clusterId: bigint;
  readonly memberId: bigint;
  /** The client URLs actually bound (with the real port when 0 was asked for). */
  readonly clientUrls: readonly string[];
  /** Where the data lives: `${dataDir}/member/db`. */
  readonly dbDir: string;
  /** The peer URLs actually bound. */
  readonly peerUrls: readonly string[];
  /** The --listen-metrics-urls actually bound (with the real port when 0 was asked for). */
  readonly metricsUrls: readonly string[];
  /** Open watches, and how many of them are behind (being caught up from history). */
  watchStats(): { readonly watchers: number; readonly unsynced: number };
  /**
   * Graceful stop: refuse new requests and connections, finish the applies in flight (their
   * answers are still sent), close the sockets and RocksDB. Idempotent.
   */
  close(): Promise<void>;
}

/** Options only tests and the daemon's internals need. */
export interface StartOptions {
  readonly clock?: Clock;
  readonly scheduler?: Scheduler;
  /** Watch hub tuning (tests make the slow-consumer and progress paths quick). */
  readonly watch?: { readonly maxBufferedBytes?: number; readonly progressIntervalMs?: number };
  /**
   * Stream methods (watch, lease keep-alive) by method name, built once the member exists;
   * the watch and lease tasks register here.
   */
  readonly streams?: (member: Member, auth: Authorizer) => ReadonlyMap<string, StreamOpener>;
}

const errorText: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this host',
  EACCES: 'permission denied',
};

function listen(server: NetServer, url: URL, what = 'clients'): Promise<AddressInfo> {
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

function boundUrl(url: URL, addr: AddressInfo): string {
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return `${url.protocol}//${host}:${addr.port}`;
}

/** An HTTP(S) server for one listen URL, with the TLS settings of its side. */
function makeServer(
  url: URL,
  tls: ResolvedTls | undefined,
  handler?: Parameters<typeof createServer>[1],
  /** Bounds the TLS handshake (Node's default is 120 s). */
  handshakeTimeoutMs?: number,
): HttpServer | HttpsServer {
  const server =
    url.protocol === 'https:' && tls !== undefined
      ? createHttpsServer(
          {
            cert: tls.cert,
            key: tls.key,
            ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
            requestCert: tls.clientCertAuth,
            rejectUnauthorized: tls.clientCertAuth,
            minVersion: 'TLSv1.2',
            ...(handshakeTimeoutMs !== undefined ? { handshakeTimeout: handshakeTimeoutMs } : {}),
          },
          handler,
        )
      : createServer(handler);
  server.on('clientError', (_err, socket) => socket.destroy());
  return server;
}

/** The client side of peer TLS: trust the peer CA, present our peer certificate. */
function peerClientTls(tls: ResolvedTls | undefined): WsClientOptions {
  if (tls === undefined) return {};
  return { ...(tls.ca !== undefined ? { ca: tls.ca } : {}), cert: tls.cert, key: tls.key };
}

/**
 * A peer listener others can reach, with neither TLS nor an explicit secret, is protected only
 * by the initial-cluster token: said once at start, with what to do.
 */
function warnUnsafePeerListeners(cfg: ResolvedConfig, log: Logger): void {
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
function checkPeerCertificates(server: HttpServer | HttpsServer, tls: ResolvedTls, log: Logger): void {
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

/**
 * Opens the data directory, joins or bootstraps the cluster (see identity.ts), starts the
 * member and serves peers and clients on every listen URL.
 */
export async function startServer(config: CairnConfig = {}, options: StartOptions = {}): Promise<CairnServer> {
  const cfg = resolveConfig(config);
  const log = config.logger ?? pino({ level: 'info' });
  const clock = options.clock ?? systemClock;
  const dbDir = join(cfg.dataDir, 'member', 'db');
  mkdirSync(dbDir, { recursive: true });
  let backend: RocksBackend;
  try {
    backend = await RocksBackend.open(dbDir, cfg.rocksdbMemory);
  } catch (err) {
    if (err instanceof DatabaseLockedError) {
      throw new DataDirLockedError(cfg.dataDir, err.lockFile, 'is another cairn member or cairnutl running on it?', { cause: err });
    }
    throw new Error(`cannot open the data directory ${cfg.dataDir}: ${(err as Error).message}`, { cause: err });
  }
  const servers: (HttpServer | HttpsServer)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const s of servers) s.close();
    await backend.close();
  };

  // Peers first: a port in use fails before anything else happens, and a joining member's
  // peers can reach it as soon as it exists.
  // Set once the member exists; the peer endpoint answers `unavailable` until then.
  const opened: { member?: Member } = {};
  const notReady = (): never => {
    throw new CairnError(ErrorCode.Unavailable, 'member is starting');
  };
  const peerHost: PeerServerHost = {
    get clusterId() {
      return opened.member?.clusterId ?? 0n;
    },
    get selfId() {
      return opened.member?.memberId ?? 0n;
    },
    key: cfg.peerKey,
    isRemoved: (id) => opened.member?.peer.isRemoved(id) ?? false,
    isMember: (id) => opened.member?.peer.isMember(id) ?? false,
    messages: (from, msgs) => opened.member?.peer.messages(from, msgs),
    rpc: (from, method, params) => (opened.member === undefined ? Promise.reject(new CairnError(ErrorCode.Unavailable)) : opened.member.peer.rpc(from, method, params)),
    snapshot: (from, term) => (opened.member === undefined ? notReady() : opened.member.peer.snapshot(from, term)),
    clusterMembers: () => (opened.member === undefined ? notReady() : opened.member.peer.clusterMembers()),
  };
  // Created once the member's id is known; the peer port may count refusals before that.
  let metrics: Metrics | undefined;
  const parts: MemberParts = {};
  backend.onSyncedWrite = (seconds) => metrics?.synced(seconds);
  const peerServer = new PeerServer(
    peerHost,
    log,
    DEFAULT_MAX_FRAME_BYTES,
    (kind) => metrics?.peerRefused(kind),
    (from, bytes) => metrics?.network.peerBytesReceived(from, bytes),
  );
  const peerUrls: string[] = [];
  const peerTls = peerClientTls(cfg.peerTls);
  let identity;
  let kind;
  let hints;
  let advertisePeerUrls: readonly string[] = cfg.initialAdvertisePeerUrls;
  try {
    for (const u of cfg.listenPeerUrls) {
      const url = new URL(u);
      const server = makeServer(url, cfg.peerTls);
      server.on('tlsClientError', (err) => log.warn({ err: err.message }, 'peer TLS handshake failed'));
      if (cfg.peerTls !== undefined) checkPeerCertificates(server, cfg.peerTls, log);
      peerServer.attach(server);
      servers.push(server);
      peerUrls.push(boundUrl(url, await listen(server, url, 'peers')));
    }
    warnUnsafePeerListeners(cfg, log);
    // Port 0 (tests): what peers are told is the port actually bound.
    if (config.initialAdvertisePeerUrls === undefined) advertisePeerUrls = peerUrls;
    ({ identity, kind, peerHints: hints } = await openIdentity(
      backend,
      {
        name: cfg.name,
        peerUrls: advertisePeerUrls,
        initialClusterToken: cfg.initialClusterToken,
        initialCluster: config.initialCluster === undefined ? new Map([[cfg.name, advertisePeerUrls]]) : cfg.initialCluster,
        initialClusterState: cfg.initialClusterState,
        fetchMembers: (urls) => fetchMembers(urls, peerTls, cfg.peerKey, 60_000, (err) => log.info({ err: err.message }, 'waiting for the cluster to answer')),
      },
      cfg.dataDir,
      clock,
    ));
  } catch (err) {
    await closeAll();
    throw err;
  }
  log.info({ memberId: identity.memberId.toString(16), clusterId: identity.clusterId.toString(16), start: kind }, 'member identity');
  log.info(
    { peerAuth: cfg.peerKeySource, peerKey: peerKeyFingerprint(cfg.peerKey), peerTls: cfg.peerTls === undefined ? 'off' : cfg.peerTls.clientCertAuth ? 'mutual' : 'server-only' },
    'peers must prove they hold the peer key on every connection',
  );

  let fatal: unknown;
  let accepting = true;
  const clientUrls: string[] = [];
  let closing: Promise<void> | undefined;
  const raftLog = log.child({ component: 'raft' });
  const mx = (metrics = new Metrics(metricsSource(parts, backend, identity.memberId, cfg.quotaBackendBytes)));
  const m = (parts.member = opened.member = await Member.open({
    backend,
    identity,
    name: cfg.name,
    peerUrls: advertisePeerUrls,
    get clientUrls() {
      return cfg.advertiseClientUrls ?? clientUrls;
    },
    observer: mx,
    clock,
    scheduler: options.scheduler ?? systemScheduler,
    raft: { tickMs: cfg.tickMs, electionTicks: cfg.electionTicks, snapshotCount: cfg.snapshotCount },
    corruptCheckTimeMs: cfg.corruptCheckTimeMs,
    peerHints: hints,
    log: raftLog,
    transport: (hooks) =>
      new PeerTransport({
        clusterId: identity.clusterId,
        selfId: identity.memberId,
        tls: peerTls,
        key: cfg.peerKey,
        maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
        unreachable: hooks.unreachable,
        refused: hooks.refused,
        log: raftLog,
        observer: {
          sent: (to, bytes) => mx.network.peerBytesSent(to, bytes),
          sendFailed: (to, n) => mx.network.peerSendFailed(to, n),
          roundTrip: (to, seconds) => mx.network.peerRoundTrip(to, seconds),
          connection: (to, up) => mx.network.peerConnection(to, up),
        },
      }),
    onRemoved: () => {
      accepting = false;
      if (config.onRemoved !== undefined) config.onRemoved();
      else void close().finally(() => process.exit(0));
    },
    onFatal: (err) => {
      fatal = err;
      accepting = false;
      log.fatal({ err }, 'member stopped: broken invariant or failed disk write');
      if (config.onFatal !== undefined) config.onFatal(err);
      else process.exit(70);
    },
  }));
  if (cfg.initialCorruptCheck) {
    // etcd's --experimental-initial-corrupt-check: compare with the peers before serving anyone.
    try {
      await m.integrity.initialCheck();
    } catch (err) {
      peerServer.close();
      for (const s of servers) s.close();
      await m.close();
      throw err;
    }
  }

  const limits = { maxRequestBytes: cfg.maxRequestBytes, maxTxnOps: cfg.maxTxnOps, maxKeyBytes: cfg.maxKeyBytes, maxTxnCompareKeys: cfg.maxTxnCompareKeys };
  let lastCompareLogMs = -Infinity;
  const compareKeysRefused = (): void => {
    mx.txnCompareKeysRefused();
    const now = performance.now();
    if (now - lastCompareLogMs < 10_000) return;
    lastCompareLogMs = now;
    log.info(
      { maxTxnCompareKeys: cfg.maxTxnCompareKeys },
      'refused a txn whose compares would visit too many keys; the client should compare fewer or narrower ranges, or raise --max-txn-compare-keys',
    );
  };
  const throttle = new LoginThrottle(clock, cfg.loginThrottle, (b) =>
    log.warn(
      { [b.scope]: b.key, failures: b.failures, blockedMs: b.forMs },
      `failed logins: ${b.scope} ${JSON.stringify(b.key)} is refused for ${b.forMs} ms (too_many_requests); if this is not an attack, check the password the client uses`,
    ),
  );
  const auth = new Authorizer(() => m.applier.auth, clock, cfg.authTokenTtlSeconds, throttle);
  const quota = new Quota(m, cfg.quotaBackendBytes, () => m.dbSizes().dbSizeBytes);
  const compactor = new AutoCompactor(
    cfg.autoCompaction,
    {
      scheduler: options.scheduler ?? systemScheduler,
      nowMs: () => performance.now(),
      isLeader: () => m.isLeader(),
      revision: () => m.revision,
      compact: (revision) => m.propose({ compact: { revision } }),
      log: log.child({ component: 'compactor' }),
    },
    cfg.autoCompactionCheckIntervalMs,
  );
  compactor.start();
  const defrag = defragger(backend, log);
  const hub = new WatchHub(
    {
      onChange: (l) => m.onChange(l),
      historyRange: (from, to) => m.historyRange(from, to),
      get visibleRevision() {
        return m.visibleRevision;
      },
      get compactRevision() {
        return BigInt(m.applier.store.compactRevision);
      },
      header: () => m.header(),
    },
    { scheduler: options.scheduler ?? systemScheduler, ...options.watch },
  );
  parts.hub = hub;
  m.onReset(() => hub.resync());
  m.onAuthChange(() => {
    const ended = hub.recheckAuth();
    if (ended > 0) log.info({ watches: ended }, 'auth changed: ended watches whose user may no longer read their range');
  });
  const streams = new Map(memberStreams(m, hub, limits, auth));
  streams.set(...snapshotStream(snapshotHost(m, backend, log), auth));
  const origins = new OriginPolicy(cfg.cors);
  for (const [k, v] of options.streams?.(m, auth) ?? []) streams.set(k, v);
  const sessionHost: SessionHost = {
      clusterId: identity.clusterId,
      memberId: identity.memberId,
      serverVersion: SERVER_VERSION,
      limits,
      unary: unaryHandlers({ member: m, limits, auth, quota, defrag, onCompareKeysRefused: compareKeysRefused }),
      streams,
      accepting: () => accepting,
      observe: (method, code, seconds) => mx.network.request(method, code, seconds),
      streamStarted: (method) => mx.network.streamStarted(method),
      streamEnded: (method, code, seconds) => mx.network.streamHandled(method, code, seconds),
  };
  const api = new ClientApiServer(
    sessionHost,
    log,
    cfg.clientPort,
    mx,
    origins,
  );
  parts.connections = () => api.connections;
  const httpHost = { metrics: mx, health: healthHost(m, () => (fatal !== undefined ? 'member stopped' : !accepting ? 'shutting down' : '')) };
  const routes = httpHandler(httpHost);
  // etcd's gRPC services and its JSON gateway, over the same handlers as the WebSocket sessions.
  const grpc = createGrpcServer(sessionHost, log);
  const gateway = gatewayHandler(sessionHost, () => grpc.services, routes);
  // The HTTP side answers browser pages of other origins only if --cors lists them.
  const handler: Parameters<typeof createServer>[1] = (req, res) => {
    if (!origins.allows(req)) {
      refusedOrigin(log, req);
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'origin not allowed (see --cors)' }));
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'Origin');
    }
    gateway(req, res);
  };

  const listeners: NetServer[] = [];
  const metricsUrls: string[] = [];
  try {
    for (const url of cfg.listenClientUrls) {
      // The HTTP(S) server only parses: the listener in front (TLS included) owns the port and
      // hands it HTTP/1.1 connections, gRPC ones going to the gRPC server.
      const server = makeServer(url, cfg.tls, handler, cfg.clientPort.handshakeTimeoutMs);
      api.attach(server);
      servers.push(server);
      const front = clientListener(url, cfg.tls, server, grpc, cfg.clientPort.handshakeTimeoutMs, log, () => mx.refused('upgrade_timeout'));
      listeners.push(front);
      clientUrls.push(boundUrl(url, await listen(front, url)));
      // Starts the HTTP server's connection tracking (request timeouts, closeAllConnections),
      // which Node starts on 'listening'.
      server.emit('listening');
    }
    // etcd's --listen-metrics-urls: the metrics and health endpoints only, for a scraper or
    // a probe that must not reach the client API.
    const metricsRoutes = httpHandler(httpHost, { version: false });
    for (const url of cfg.listenMetricsUrls) {
      const server = makeServer(url, cfg.tls, metricsRoutes, cfg.clientPort.handshakeTimeoutMs);
      servers.push(server);
      metricsUrls.push(boundUrl(url, await listen(server, url, 'metrics')));
    }
  } catch (err) {
    peerServer.close();
    for (const s of servers) s.close();
    for (const l of listeners) l.close();
    await grpc.close();
    await m.close();
    throw err;
  }
  log.info({ name: cfg.name, clientUrls, peerUrls, ...(metricsUrls.length > 0 ? { metricsUrls } : {}) }, 'serving clients and peers');

  const close = (): Promise<void> =>
    (closing ??= (async () => {
      accepting = false;
      compactor.stop();
      const stopped = [...servers, ...listeners].map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      hub.close();
      await m.close();
      await api.close();
      await grpc.close();
      peerServer.close();
      for (const s of servers) s.closeAllConnections();
      await Promise.all(stopped);
      log.info({ name: cfg.name }, 'stopped');
    })());

  return {
    member: m,
    name: cfg.name,
    clusterId: identity.clusterId,
    memberId: identity.memberId,
    get clientUrls() {
      return clientUrls;
    },
    peerUrls,
    metricsUrls,
    dbDir,
    watchStats: () => ({ watchers: hub.size, unsynced: hub.unsyncedCount }),
    close,
  };
}
