import type { Logger } from 'pino';
import { readFileSync } from 'node:fs';
import { defaultLimits } from '../api/limits.js';
import { defaultClientPortLimits, type ClientPortLimits } from '../api/clientPort.js';
import { DEFAULT_QUOTA_BACKEND_BYTES } from '../api/quota.js';
import { AutoCompactionError, DEFAULT_REVISION_CHECK_INTERVAL_MS, parseAutoCompaction, type AutoCompactionPolicy } from '../compaction/autoCompactor.js';
import { DEFAULT_AUTH_TOKEN_TTL_SECONDS } from '../auth/authorizer.js';
import { checkRocksMemory, defaultRocksMemory, RocksOptionError, type RocksMemoryOptions } from '../storage/rocks.js';
import { DEFAULT_LOGIN_FREE_FAILURES, DEFAULT_LOGIN_MAX_DELAY_MS } from '../auth/loginThrottle.js';
import { normalizeOrigin } from '../api/origin.js';
import { MIN_PEER_SECRET_BYTES, peerKeyFromSecret, peerKeyFromToken, type PeerKey } from '../transport/peerAuth.js';

/** TLS settings of one transport (etcd's --cert-file ... or --peer-cert-file ...). */
export interface TlsConfig {
  /** PEM certificate (chain) this member presents. */
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  /** PEM CA bundle that client (or peer) certificates must chain to. */
  readonly trustedCaFile?: string | undefined;
  /** Require and verify a client certificate; its common name is the user when no token is given. */
  readonly clientCertAuth?: boolean | undefined;
  /** Peer TLS only: a peer certificate must have this common name (etcd's --peer-cert-allowed-cn). */
  readonly allowedCn?: string | undefined;
  /** Peer TLS only: a peer certificate must be valid for this host name (--peer-cert-allowed-hostname). */
  readonly allowedHostname?: string | undefined;
}

/** Loaded PEM material, checked at start-up so a bad path fails before anything listens. */
export interface ResolvedTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
  readonly clientCertAuth: boolean;
  readonly allowedCn: string | undefined;
  readonly allowedHostname: string | undefined;
}

/** What the daemon passes to `startServer`; every field optional, etcd's defaults. */
export interface CairnConfig {
  /** Human-readable member name. Default 'default'. */
  readonly name?: string | undefined;
  /** Default './default.cairn' (etcd: './default.etcd'). */
  readonly dataDir?: string | undefined;
  /** URLs to serve clients on; port 0 picks a free port. Default ['http://127.0.0.1:2379']. */
  readonly listenClientUrls?: readonly string[] | undefined;
  /**
   * Extra listeners serving only /metrics, /health, /livez and /readyz (etcd's
   * --listen-metrics-urls); https ones use the client TLS settings. Default: none.
   */
  readonly listenMetricsUrls?: readonly string[] | undefined;
  /** URLs clients are told to use. Default: the bound listen URLs (real ports). */
  readonly advertiseClientUrls?: readonly string[] | undefined;
  /** URLs to serve peers on. Default ['http://127.0.0.1:2380']. */
  readonly listenPeerUrls?: readonly string[] | undefined;
  /** Default: listenPeerUrls. */
  readonly initialAdvertisePeerUrls?: readonly string[] | undefined;
  /** 'name=url,name=url', or name -> peer URLs. Default `${name}=${initialAdvertisePeerUrls}`. */
  readonly initialCluster?: string | Readonly<Record<string, string | readonly string[]>> | undefined;
  /** Default 'cairn-cluster'. */
  readonly initialClusterToken?: string | undefined;
  /** 'new' or 'existing'. Default 'new'. */
  readonly initialClusterState?: 'new' | 'existing' | undefined;
  /** Default 1.5 MiB. */
  readonly maxRequestBytes?: number | undefined;
  /** Default 128. */
  readonly maxTxnOps?: number | undefined;
  /** Default 32 KiB. */
  readonly maxKeyBytes?: number | undefined;
  /** Most keys the compares of one txn may visit (range compares count their keys). Default 10,000. */
  readonly maxTxnCompareKeys?: number | undefined;
  /** A client connection must upgrade, then say hello, each within this. Default 10,000 ms. */
  readonly clientHandshakeTimeoutMs?: number | undefined;
  /** Most client WebSockets open at once; 0 or absent: no limit. */
  readonly maxClientConnections?: number | undefined;
  /** Unsent reply bytes past which a socket's requests stop being read. Default 16 MiB. */
  readonly clientUnsentSoftBytes?: number | undefined;
  /** Unsent reply bytes past which a socket is closed (code 4429). Default 64 MiB. */
  readonly clientUnsentHardBytes?: number | undefined;
  /** Lifetime of an auth token in seconds (etcd's --auth-token-ttl). Default 300. */
  readonly authTokenTtlSeconds?: number | undefined;
  /**
   * Origins of browser pages allowed to use the client port (etcd's --cors): exact
   * 'scheme://host[:port]' entries, or '*' for any. Default: none (requests without an Origin
   * header and same-origin ones only).
   */
  readonly cors?: readonly string[] | undefined;
  /** Serve the web console at /ui/ on the client URLs (--disable-console turns it off). Default true. */
  readonly console?: boolean | undefined;
  /** Failed logins per user and per address before they are slowed down. Default 5. */
  readonly authLoginFreeFailures?: number | undefined;
  /** The longest a failed-login backoff gets, in ms. Default 30000. */
  readonly authLoginMaxDelayMs?: number | undefined;
  /** Backend size past which writes fail with no_space and NOSPACE is raised. 0 or absent: 2 GiB. */
  readonly quotaBackendBytes?: number | undefined;
  /** RocksDB block cache capacity in bytes; 0: no block cache. Default 32 MiB. */
  readonly rocksdbBlockCacheBytes?: number | undefined;
  /** RocksDB memtable budget in bytes (memtables use at most 1.5x). Default 32 MiB. */
  readonly rocksdbMemtableBudgetBytes?: number | undefined;
  /** Client TLS: needed for https:// listen-client-urls. */
  readonly tls?: TlsConfig | undefined;
  /** Peer TLS: needed for https:// listen-peer-urls; the client side of peer connections too. */
  readonly peerTls?: TlsConfig | undefined;
  /**
   * A file whose contents (at least 16 bytes; surrounding white space ignored) every member's
   * peer handshake proves it holds. Default: derived from initialClusterToken, which is weak
   * (anyone who knows the token can join the peer conversation).
   */
  readonly peerSecretFile?: string | undefined;
  /** One raft tick, etcd's --heartbeat-interval. Default 100. */
  readonly heartbeatIntervalMs?: number | undefined;
  /** etcd's --election-timeout, a multiple of the heartbeat interval. Default 1000. */
  readonly electionTimeoutMs?: number | undefined;
  /** Applied entries between raft log compactions (etcd's --snapshot-count). Default 10000. */
  readonly snapshotCount?: number | undefined;
  /** etcd's --auto-compaction-mode: `periodic` (default) or `revision`. */
  readonly autoCompactionMode?: string | undefined;
  /** etcd's --auto-compaction-retention: `1h`, `30m`, `5` (hours) or, in revision mode, `1000`; `0` (default): off. */
  readonly autoCompactionRetention?: string | undefined;
  /** How often revision-mode auto compaction looks (ms). Default 5 minutes, as in etcd. */
  readonly autoCompactionCheckIntervalMs?: number | undefined;
  /**
   * etcd's --experimental-initial-corrupt-check: before serving clients, compare this member's
   * hash with its peers' and refuse to start on a mismatch. Default false.
   */
  readonly experimentalInitialCorruptCheck?: boolean | undefined;
  /** etcd's --experimental-corrupt-check-time: period of the leader's check in ms; 0 (default) is off. */
  readonly experimentalCorruptCheckTimeMs?: number | undefined;
  /** This member was removed from the cluster; default: close and exit the process. */
  readonly onRemoved?: (() => void) | undefined;
  /** Default: a pino logger at 'info' on stdout. */
  readonly logger?: Logger | undefined;
  /**
   * Called when the member hits a broken invariant or a failed disk write and has stopped.
   * Default: log at fatal and exit the process with code 70.
   */
  readonly onFatal?: ((err: unknown) => void) | undefined;
}

/** The config with every default filled in and checked. */
export interface ResolvedConfig {
  readonly name: string;
  readonly dataDir: string;
  readonly listenClientUrls: readonly URL[];
  readonly listenMetricsUrls: readonly URL[];
  readonly advertiseClientUrls: readonly string[] | undefined;
  readonly listenPeerUrls: readonly string[];
  readonly initialAdvertisePeerUrls: readonly string[];
  readonly initialCluster: ReadonlyMap<string, readonly string[]>;
  readonly initialClusterToken: string;
  readonly initialClusterState: 'new' | 'existing';
  readonly maxRequestBytes: number;
  readonly maxTxnOps: number;
  readonly maxKeyBytes: number;
  readonly maxTxnCompareKeys: number;
  readonly clientPort: ClientPortLimits;
  readonly authTokenTtlSeconds: number;
  readonly cors: readonly string[];
  readonly console: boolean;
  readonly loginThrottle: { readonly freeFailures: number; readonly maxDelayMs: number; readonly baseDelayMs: number };
  readonly quotaBackendBytes: number;
  readonly rocksdbMemory: RocksMemoryOptions;
  readonly tls: ResolvedTls | undefined;
  readonly peerTls: ResolvedTls | undefined;
  readonly peerKey: PeerKey;
  /** Where the peer key comes from: an explicit secret, or the weak default. */
  readonly peerKeySource: 'peer-secret-file' | 'initial-cluster-token';
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly snapshotCount: number;
  readonly autoCompaction: AutoCompactionPolicy;
  readonly autoCompactionCheckIntervalMs: number;
  readonly initialCorruptCheck: boolean;
  /** 0: the periodic corruption check is off. */
  readonly corruptCheckTimeMs: number;
}

/** A configuration Cairn cannot start with. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function urls(list: readonly string[], what: string, tls = false): URL[] {
  if (list.length === 0) throw new ConfigError(`${what}: at least one URL is needed`);
  return list.map((u) => {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new ConfigError(`${what}: ${JSON.stringify(u)} is not a URL`);
    }
    if (url.protocol === 'https:' && !tls) throw new ConfigError(`${what}: ${u}: https needs a certificate and key (cert-file, key-file)`);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${what}: ${u}: scheme must be http or https`);
    return url;
  });
}

function positive(v: number | undefined, dflt: number, what: string): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v <= 0) throw new ConfigError(`${what} must be a positive integer, got ${v}`);
  return v;
}

/** Parses 'a=http://x:2380,b=http://y:2380' (a name may appear more than once). */
export function parseInitialCluster(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of text.split(',')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) throw new ConfigError(`initial-cluster: ${JSON.stringify(trimmed)} is not name=url`);
    const name = trimmed.slice(0, eq);
    const url = trimmed.slice(eq + 1);
    urls([url], 'initial-cluster', true);
    out.set(name, [...(out.get(name) ?? []), url]);
  }
  return out;
}

function clusterFromRecord(r: Readonly<Record<string, string | readonly string[]>>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, v] of Object.entries(r)) {
    const list = typeof v === 'string' ? [v] : [...v];
    urls(list, 'initial-cluster', true);
    out.set(name, list);
  }
  return out;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Loads a transport's PEM files; undefined when no TLS is configured for it. */
export function resolveTls(t: TlsConfig | undefined, prefix: '' | 'peer-'): ResolvedTls | undefined {
  if (t === undefined) return undefined;
  const any =
    t.certFile !== undefined || t.keyFile !== undefined || t.trustedCaFile !== undefined || t.clientCertAuth === true || t.allowedCn !== undefined || t.allowedHostname !== undefined;
  if (!any) return undefined;
  if (t.certFile === undefined || t.keyFile === undefined) {
    throw new ConfigError(`${prefix}cert-file and ${prefix}key-file must be given together`);
  }
  const clientCertAuth = t.clientCertAuth === true;
  if (clientCertAuth && t.trustedCaFile === undefined) {
    throw new ConfigError(`${prefix}client-cert-auth needs ${prefix}trusted-ca-file to verify certificates against`);
  }
  return {
    cert: readPem(t.certFile, `${prefix}cert-file`),
    key: readPem(t.keyFile, `${prefix}key-file`),
    ca: t.trustedCaFile === undefined ? undefined : readPem(t.trustedCaFile, `${prefix}trusted-ca-file`),
    clientCertAuth,
    allowedCn: t.allowedCn,
    allowedHostname: t.allowedHostname,
  };
}

function rocksMemory(c: CairnConfig): RocksMemoryOptions {
  try {
    return checkRocksMemory({
      blockCacheBytes: c.rocksdbBlockCacheBytes ?? defaultRocksMemory.blockCacheBytes,
      memtableBudgetBytes: c.rocksdbMemtableBudgetBytes ?? defaultRocksMemory.memtableBudgetBytes,
    });
  } catch (err) {
    if (err instanceof RocksOptionError) throw new ConfigError(err.message);
    throw err;
  }
}

function clientPortLimits(c: CairnConfig): ClientPortLimits {
  const d = defaultClientPortLimits;
  const maxConnections = c.maxClientConnections ?? 0;
  if (!Number.isSafeInteger(maxConnections) || maxConnections < 0) {
    throw new ConfigError(`max-client-connections must be a non-negative integer, got ${maxConnections}`);
  }
  const unsentSoftBytes = positive(c.clientUnsentSoftBytes, d.unsentSoftBytes, 'client-unsent-soft-bytes');
  const unsentHardBytes = positive(c.clientUnsentHardBytes, Math.max(d.unsentHardBytes, unsentSoftBytes), 'client-unsent-hard-bytes');
  if (unsentHardBytes < unsentSoftBytes) {
    throw new ConfigError(`client-unsent-hard-bytes (${unsentHardBytes}) must be at least client-unsent-soft-bytes (${unsentSoftBytes})`);
  }
  return {
    handshakeTimeoutMs: positive(c.clientHandshakeTimeoutMs, d.handshakeTimeoutMs, 'client-handshake-timeout'),
    maxConnections,
    unsentSoftBytes,
    unsentHardBytes,
  };
}

/** --cors entries, each checked to be '*' or an http(s) origin. */
function corsList(list: readonly string[]): string[] {
  return list.map((o) => {
    if (o === '*') return o;
    try {
      return normalizeOrigin(o);
    } catch {
      throw new ConfigError(`cors: ${JSON.stringify(o)} is not an origin (scheme://host[:port]) or '*'`);
    }
  });
}

function loginThrottle(c: CairnConfig): ResolvedConfig['loginThrottle'] {
  const maxDelayMs = positive(c.authLoginMaxDelayMs, DEFAULT_LOGIN_MAX_DELAY_MS, 'auth-login-max-delay');
  return {
    freeFailures: positive(c.authLoginFreeFailures, DEFAULT_LOGIN_FREE_FAILURES, 'auth-login-free-failures'),
    maxDelayMs,
    // The first step: a second, or the maximum if that is shorter.
    baseDelayMs: Math.min(1000, maxDelayMs),
  };
}

/** Reads --peer-secret-file: its contents, white space around them ignored. */
export function readPeerSecret(path: string): Buffer {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    throw new ConfigError(`peer-secret-file: cannot read ${path}: ${(err as Error).message}`);
  }
  const secret = Buffer.from(raw.toString('utf8').trim(), 'utf8');
  if (secret.length < MIN_PEER_SECRET_BYTES) {
    throw new ConfigError(`peer-secret-file: ${path} holds ${secret.length} bytes; a peer secret needs at least ${MIN_PEER_SECRET_BYTES} bytes (e.g. openssl rand -hex 32 > ${path})`);
  }
  return secret;
}

/** Peer TLS settings with http:// peer URLs would serve plaintext: refused, not ignored. */
function checkPeerSchemes(peerTls: ResolvedTls | undefined, lists: readonly (readonly [string, readonly string[]])[]): void {
  if (peerTls === undefined) return;
  for (const [what, list] of lists) {
    for (const u of list) {
      if (u.startsWith('http://')) {
        throw new ConfigError(`${what}: ${u} is http:// but peer TLS is configured (peer-cert-file ...): peers would talk in plaintext; use https:// peer URLs, or drop the peer TLS settings`);
      }
    }
  }
}

export function resolveConfig(c: CairnConfig): ResolvedConfig {
  const name = c.name ?? 'default';
  const tls = resolveTls(c.tls, '');
  const peerTls = resolveTls(c.peerTls, 'peer-');
  const listenPeerUrls = c.listenPeerUrls ?? ['http://127.0.0.1:2380'];
  urls(listenPeerUrls, 'listen-peer-urls', peerTls !== undefined);
  const initialAdvertisePeerUrls = c.initialAdvertisePeerUrls ?? listenPeerUrls;
  urls(initialAdvertisePeerUrls, 'initial-advertise-peer-urls', peerTls !== undefined);
  const initialCluster =
    typeof c.initialCluster === 'object'
      ? clusterFromRecord(c.initialCluster)
      : parseInitialCluster(c.initialCluster ?? `${name}=${initialAdvertisePeerUrls.join(`,${name}=`)}`);
  if (!initialCluster.has(name)) throw new ConfigError(`initial-cluster has no member named ${JSON.stringify(name)}`);
  checkPeerSchemes(peerTls, [
    ['listen-peer-urls', listenPeerUrls],
    ['initial-advertise-peer-urls', initialAdvertisePeerUrls],
    ['initial-cluster', [...initialCluster.values()].flat()],
  ]);
  if (peerTls !== undefined && !peerTls.clientCertAuth && (peerTls.allowedCn !== undefined || peerTls.allowedHostname !== undefined)) {
    throw new ConfigError('peer-cert-allowed-cn and peer-cert-allowed-hostname check peer certificates: they need peer-client-cert-auth');
  }
  const token = c.initialClusterToken ?? 'cairn-cluster';
  const tickMs = positive(c.heartbeatIntervalMs, 100, 'heartbeat-interval');
  const electionMs = positive(c.electionTimeoutMs, 1000, 'election-timeout');
  if (electionMs < 5 * tickMs) throw new ConfigError('election-timeout must be at least 5 times heartbeat-interval');
  const state = c.initialClusterState ?? 'new';
  if (state !== 'new' && state !== 'existing') throw new ConfigError(`initial-cluster-state must be new or existing, got ${String(state)}`);
  if (c.advertiseClientUrls !== undefined) urls(c.advertiseClientUrls, 'advertise-client-urls', true);
  return {
    name,
    dataDir: c.dataDir ?? './default.cairn',
    listenClientUrls: urls(c.listenClientUrls ?? ['http://127.0.0.1:2379'], 'listen-client-urls', tls !== undefined),
    listenMetricsUrls: c.listenMetricsUrls === undefined || c.listenMetricsUrls.length === 0 ? [] : urls(c.listenMetricsUrls, 'listen-metrics-urls', tls !== undefined),
    advertiseClientUrls: c.advertiseClientUrls,
    listenPeerUrls,
    initialAdvertisePeerUrls,
    initialCluster,
    initialClusterToken: token,
    initialClusterState: state,
    maxRequestBytes: positive(c.maxRequestBytes, defaultLimits.maxRequestBytes, 'max-request-bytes'),
    maxTxnOps: positive(c.maxTxnOps, defaultLimits.maxTxnOps, 'max-txn-ops'),
    maxKeyBytes: positive(c.maxKeyBytes, defaultLimits.maxKeyBytes, 'max-key-bytes'),
    maxTxnCompareKeys: positive(c.maxTxnCompareKeys, defaultLimits.maxTxnCompareKeys, 'max-txn-compare-keys'),
    clientPort: clientPortLimits(c),
    authTokenTtlSeconds: positive(c.authTokenTtlSeconds, DEFAULT_AUTH_TOKEN_TTL_SECONDS, 'auth-token-ttl'),
    cors: corsList(c.cors ?? []),
    console: c.console !== false,
    loginThrottle: loginThrottle(c),
    quotaBackendBytes: c.quotaBackendBytes === 0 ? DEFAULT_QUOTA_BACKEND_BYTES : positive(c.quotaBackendBytes, DEFAULT_QUOTA_BACKEND_BYTES, 'quota-backend-bytes'),
    rocksdbMemory: rocksMemory(c),
    tls,
    peerTls,
    peerKey: c.peerSecretFile !== undefined ? peerKeyFromSecret(readPeerSecret(c.peerSecretFile)) : peerKeyFromToken(token),
    peerKeySource: c.peerSecretFile !== undefined ? 'peer-secret-file' : 'initial-cluster-token',
    tickMs,
    electionTicks: Math.round(electionMs / tickMs),
    snapshotCount: positive(c.snapshotCount, 10_000, 'snapshot-count'),
    autoCompaction: autoCompaction(c),
    autoCompactionCheckIntervalMs: positive(c.autoCompactionCheckIntervalMs, DEFAULT_REVISION_CHECK_INTERVAL_MS, 'auto-compaction-check-interval'),
    initialCorruptCheck: c.experimentalInitialCorruptCheck === true,
    corruptCheckTimeMs: c.experimentalCorruptCheckTimeMs === undefined || c.experimentalCorruptCheckTimeMs === 0 ? 0 : positive(c.experimentalCorruptCheckTimeMs, 0, 'experimental-corrupt-check-time'),
  };
}

function autoCompaction(c: CairnConfig): AutoCompactionPolicy {
  try {
    return parseAutoCompaction(c.autoCompactionMode ?? 'periodic', c.autoCompactionRetention ?? '0');
  } catch (err) {
    if (err instanceof AutoCompactionError) throw new ConfigError(err.message);
    throw err;
  }
}

const isLoopback = (host: string): boolean => host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host);

/**
 * The peer listeners reachable from other hosts while peers are authenticated only by the weak
 * default (no peer TLS, no --peer-secret-file): the daemon warns about these at start.
 */
export function exposedPeerListeners(cfg: Pick<ResolvedConfig, 'listenPeerUrls' | 'peerTls' | 'peerKeySource'>): string[] {
  if (cfg.peerTls !== undefined || cfg.peerKeySource === 'peer-secret-file') return [];
  return cfg.listenPeerUrls.filter((u) => !isLoopback(new URL(u).hostname));
}
