import { mkdirSync } from 'node:fs';
import type { createServer, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Server as NetServer } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
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
import { resolveConfig, type CairnConfig } from './config/config.js';
import { boundUrl, checkPeerCertificates, listen, makeServer, peerClientTls, warnUnsafePeerListeners } from './listeners.js';
import { httpHandler } from './http/routes.js';
import { defaultConsoleDir, loadConsole } from './http/console.js';
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
import { DEFAULT_MAX_FRAME_BYTES } from '@cairn/protocol';

export { ListenError } from './listeners.js';

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
  /** Where the web console's built files are (default: dist/console of this package). */
  readonly consoleDir?: string;
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
  let metricsOnceKnown: Metrics | undefined;
  const parts: MemberParts = {};
  backend.onSyncedWrite = (seconds) => metricsOnceKnown?.synced(seconds);
  const peerServer = new PeerServer(
    peerHost,
    log,
    DEFAULT_MAX_FRAME_BYTES,
    (kind) => metricsOnceKnown?.peerRefused(kind),
    (from, bytes) => metricsOnceKnown?.network.peerBytesReceived(from, bytes),
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
  const metrics = (metricsOnceKnown = new Metrics(metricsSource(parts, backend, identity.memberId, cfg.quotaBackendBytes)));
  const m = (parts.member = opened.member = await Member.open({
    backend,
    identity,
    name: cfg.name,
    peerUrls: advertisePeerUrls,
    get clientUrls() {
      return cfg.advertiseClientUrls ?? clientUrls;
    },
    observer: metrics,
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
          sent: (to, bytes) => metrics.network.peerBytesSent(to, bytes),
          sendFailed: (to, n) => metrics.network.peerSendFailed(to, n),
          roundTrip: (to, seconds) => metrics.network.peerRoundTrip(to, seconds),
          connection: (to, up) => {
            metrics.network.peerConnection(to, up);
            if (!up) hooks.linkLost?.(to);
          },
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
    metrics.txnCompareKeysRefused();
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
    m.watchSource(),
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
  // Pages served by any member (the console at /ui/) may talk to this one.
  const memberClientUrls = (): string[] => m.members().flatMap((x) => x.clientUrls);
  const origins = new OriginPolicy(cfg.cors, memberClientUrls);
  for (const [k, v] of options.streams?.(m, auth) ?? []) streams.set(k, v);
  const sessionHost: SessionHost = {
      clusterId: identity.clusterId,
      memberId: identity.memberId,
      serverVersion: SERVER_VERSION,
      limits,
      unary: unaryHandlers({ member: m, limits, auth, quota, defrag, onCompareKeysRefused: compareKeysRefused }),
      streams,
      accepting: () => accepting,
      observe: (method, code, seconds) => metrics.network.request(method, code, seconds),
      streamStarted: (method) => metrics.network.streamStarted(method),
      streamEnded: (method, code, seconds) => metrics.network.streamHandled(method, code, seconds),
  };
  const api = new ClientApiServer(
    sessionHost,
    log,
    cfg.clientPort,
    metrics,
    origins,
  );
  parts.connections = () => api.connections;
  const httpHost = { metrics, health: healthHost(m, () => (fatal !== undefined ? 'member stopped' : !accepting ? 'shutting down' : '')) };
  const consoleFiles = cfg.console ? loadConsole(options.consoleDir ?? defaultConsoleDir()) : undefined;
  const routes = httpHandler(httpHost, {
    version: true,
    console: {
      files: consoleFiles,
      unavailable: cfg.console ? 'the web console was not built into this server (apps/console)' : 'the web console is off (--disable-console)',
      peers: memberClientUrls,
    },
  });
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
      const front = clientListener(url, cfg.tls, server, grpc, cfg.clientPort.handshakeTimeoutMs, log, () => metrics.refused('upgrade_timeout'));
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
