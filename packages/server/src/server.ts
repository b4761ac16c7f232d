import { mkdirSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { ClientApiServer } from './api/server.js';
import { unaryHandlers } from './api/dispatch.js';
import { Quota } from './api/quota.js';
import { Authorizer } from './auth/authorizer.js';
import type { StreamOpener } from './api/streams.js';
import { systemClock, systemScheduler, type Clock, type Scheduler } from './clock.js';
import { memberStreams } from './api/streamHandlers.js';
import { WatchHub } from './watch/hub.js';
import { resolveConfig, type CairnConfig } from './config/config.js';
import { httpHandler } from './http/routes.js';
import { Metrics } from './http/metrics.js';
import { loadOrCreateIdentity } from './identity.js';
import { Member, SERVER_VERSION } from './member.js';
import { RocksBackend } from './storage/rocks.js';

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

function listen(server: HttpServer | HttpsServer, url: URL): Promise<AddressInfo> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const code = err.code ?? 'UNKNOWN';
      reject(new ListenError(url.href, code, `cannot listen for clients on ${url.href}: ${errorText[code] ?? err.message} (${code})`));
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

/** Opens the data directory, starts the member and serves clients on every listen URL. */
export async function startServer(config: CairnConfig = {}, options: StartOptions = {}): Promise<CairnServer> {
  const cfg = resolveConfig(config);
  const log = config.logger ?? pino({ level: 'info' });
  const dbDir = join(cfg.dataDir, 'member', 'db');
  mkdirSync(dbDir, { recursive: true });
  let backend: RocksBackend;
  try {
    backend = await RocksBackend.open(dbDir);
  } catch (err) {
    throw new Error(`cannot open the data directory ${cfg.dataDir}: ${(err as Error).message}`, { cause: err });
  }
  const identity = await loadOrCreateIdentity(
    backend,
    { name: cfg.name, peerUrls: cfg.initialAdvertisePeerUrls, initialClusterToken: cfg.initialClusterToken },
    options.clock ?? systemClock,
  );

  let fatal: unknown;
  let accepting = true;
  const clientUrls: string[] = [];
  const metricsBox: { m?: Metrics } = {};
  const member = new Member({
    backend,
    identity,
    name: cfg.name,
    peerUrls: cfg.initialAdvertisePeerUrls,
    get clientUrls() {
      return cfg.advertiseClientUrls ?? clientUrls;
    },
    observer: {
      applied: (s) => metricsBox.m?.applied(s),
      committed: (s, n) => metricsBox.m?.committed(s, n),
    },
    clock: options.clock ?? systemClock,
    scheduler: options.scheduler ?? systemScheduler,
    onFatal: (err) => {
      fatal = err;
      accepting = false;
      log.fatal({ err }, 'member stopped: broken invariant or failed disk write');
      if (config.onFatal !== undefined) config.onFatal(err);
      else process.exit(70);
    },
  });
  const metrics = new Metrics({
    dbSizeBytes: () => backend.sizeBytes(),
    revision: () => member.revision,
    appliedIndex: () => member.appliedIndex,
  });
  metricsBox.m = metrics;

  const limits = { maxRequestBytes: cfg.maxRequestBytes, maxTxnOps: cfg.maxTxnOps, maxKeyBytes: cfg.maxKeyBytes };
  const auth = new Authorizer(member.applier.auth, options.clock ?? systemClock, cfg.authTokenTtlSeconds);
  const quota = new Quota(member, cfg.quotaBackendBytes, () => backend.sizeBytes());
  const hub = new WatchHub(
    {
      onChange: (l) => member.onChange(l),
      historyRange: (from, to) => member.historyRange(from, to),
      get durableRevision() {
        return member.durableRevision;
      },
      get compactRevision() {
        return BigInt(member.applier.store.compactRevision);
      },
      header: () => member.header(),
    },
    { scheduler: options.scheduler ?? systemScheduler, ...options.watch },
  );
  const streams = new Map(memberStreams(member, hub, limits, auth));
  for (const [k, v] of options.streams?.(member, auth) ?? []) streams.set(k, v);
  const api = new ClientApiServer(
    {
      clusterId: identity.clusterId,
      memberId: identity.memberId,
      serverVersion: SERVER_VERSION,
      limits,
      unary: unaryHandlers({ member, limits, auth, quota }),
      streams,
      accepting: () => accepting,
      observe: (method, code) => metrics.request(method, code),
    },
    log,
  );
  const handler = httpHandler({
    metrics,
    healthProblem: () => (fatal !== undefined ? 'member stopped' : accepting ? '' : 'shutting down'),
  });

  const servers: (HttpServer | HttpsServer)[] = [];
  try {
    for (const url of cfg.listenClientUrls) {
      const tls = cfg.tls;
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
              },
              handler,
            )
          : createServer(handler);
      // A failed TLS handshake (wrong CA, no client certificate) only concerns that socket.
      server.on('tlsClientError', (err) => log.debug({ err: err.message }, 'TLS handshake failed'));
      server.on('clientError', (_err, socket) => socket.destroy());
      api.attach(server);
      servers.push(server);
      clientUrls.push(boundUrl(url, await listen(server, url)));
    }
  } catch (err) {
    for (const s of servers) s.close();
    await member.close();
    throw err;
  }
  log.info({ name: cfg.name, memberId: identity.memberId.toString(16), clusterId: identity.clusterId.toString(16), clientUrls }, 'serving clients');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      accepting = false;
      const stopped = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      hub.close();
      await member.close();
      await api.close();
      for (const s of servers) s.closeAllConnections();
      await Promise.all(stopped);
      log.info({ name: cfg.name }, 'stopped');
    })());

  return {
    member,
    name: cfg.name,
    clusterId: identity.clusterId,
    memberId: identity.memberId,
    get clientUrls() {
      return clientUrls;
    },
    dbDir,
    watchStats: () => ({ watchers: hub.size, unsynced: hub.unsyncedCount }),
    close,
  };
}
