/**
 * The daemon's settings, with etcd's names, from three sources (read in sources.ts): command-line
 * flags (`--initial-cluster=...`), environment variables (`CAIRN_INITIAL_CLUSTER=...`, or etcd's
 * `ETCD_INITIAL_CLUSTER=...`) and a YAML file (`--config-file`, Cairn's keys or etcd's file as it
 * is). Like etcd, a config file replaces flags and environment entirely (a warning names what was
 * ignored); otherwise a flag beats its CAIRN_ variable, which beats its ETCD_ one, which beats the
 * default. etcd settings Cairn does not implement are ignored with one warning, or refused where
 * ignoring them is unsafe (etcdKeys.ts).
 */
import { existsSync } from 'node:fs';
import { parseDiscoveryUrl } from '@cairn/client';
import {
  AutoCompactionError,
  checkRocksMemory,
  DEFAULT_ROCKSDB_BLOCK_CACHE_BYTES,
  DEFAULT_ROCKSDB_MEMTABLE_BUDGET_BYTES,
  parseAutoCompaction,
  RocksOptionError,
} from '@cairn/server';
import { ConfigError } from './errors.js';
import { ETCD_ONLY } from './etcdKeys.js';
import { checkEtcdOnly, nonEmpty, type Origins, parseFlags, readConfigFile, reword, settingVariables } from './sources.js';

export { ConfigError };

type Kind = 'string' | 'urls' | 'int' | 'bool' | 'state';

interface Setting {
  readonly key: string;
  readonly kind: Kind;
  readonly help: string;
  readonly default?: string;
  /** Accepted so that etcd configs load, but Cairn does not act on it yet: refused if set. */
  readonly notYet?: string;
}

/** Every setting the daemon knows. Defaults are etcd's embedded single-member defaults. */
export const SETTINGS: readonly Setting[] = [
  { key: 'name', kind: 'string', default: 'default', help: 'human-readable name for this member' },
  { key: 'data-dir', kind: 'string', help: 'path to the data directory (default: ./<name>.cairn)' },
  { key: 'listen-client-urls', kind: 'urls', default: 'http://127.0.0.1:2379', help: 'URLs to listen on for client traffic' },
  { key: 'advertise-client-urls', kind: 'urls', help: 'client URLs advertised to the rest of the cluster (default: listen-client-urls)' },
  { key: 'listen-peer-urls', kind: 'urls', default: 'http://127.0.0.1:2380', help: 'URLs to listen on for peer traffic' },
  { key: 'initial-advertise-peer-urls', kind: 'urls', help: 'peer URLs advertised to the rest of the cluster (default: listen-peer-urls)' },
  { key: 'initial-cluster', kind: 'string', help: 'initial cluster configuration: name=peerURL,... (default: <name>=<initial-advertise-peer-urls>)' },
  { key: 'initial-cluster-token', kind: 'string', default: 'cairn-cluster', help: 'identifies one new cluster; members with another token cannot join it' },
  { key: 'initial-cluster-state', kind: 'state', default: 'new', help: "'new' bootstraps a cluster, 'existing' joins or restarts a member of one" },
  { key: 'max-request-bytes', kind: 'int', default: String(1.5 * 1024 * 1024), help: 'largest client request accepted, in bytes' },
  { key: 'max-txn-ops', kind: 'int', default: '128', help: 'most operations allowed in one transaction' },
  { key: 'max-txn-compare-keys', kind: 'int', default: '10000', help: 'most keys the compares of one transaction (nested ones included) may visit; a range compare counts every key in its range' },
  { key: 'client-handshake-timeout', kind: 'int', default: '10000', help: 'milliseconds a client connection gets to finish its HTTP upgrade, and then to send its hello frame, before it is closed' },
  { key: 'max-client-connections', kind: 'int', default: '0', help: 'most client connections open at once; more are refused with HTTP 503 (0: no limit)' },
  { key: 'client-unsent-soft-bytes', kind: 'int', default: String(16 * 1024 * 1024), help: 'unsent reply bytes on one client socket past which its requests stop being read until it drains' },
  { key: 'client-unsent-hard-bytes', kind: 'int', default: String(64 * 1024 * 1024), help: 'unsent reply bytes on one client socket past which it is closed (WebSocket close code 4429)' },
  { key: 'log-level', kind: 'string', default: 'info', help: 'debug, info, warn, error, panic or fatal (panic: as fatal)' },
  { key: 'log-format', kind: 'string', default: 'json', help: "'json' (one JSON object a line) or 'console' (human-readable)" },
  { key: 'log-outputs', kind: 'string', default: 'default', help: "comma-separated: 'stdout', 'stderr', a file path (appended to), 'default' (stdout)" },
  { key: 'logger', kind: 'string', default: 'zap', help: "etcd's logger choice; only 'zap' (structured logs) is accepted" },
  { key: 'discovery', kind: 'string', help: 'bootstrap from a discovery token instead of initial-cluster: cairn://HOST:PORT/discovery/TOKEN (cairnctl discovery new)' },
  { key: 'heartbeat-interval', kind: 'int', default: '100', help: 'time (in milliseconds) of a heartbeat interval' },
  { key: 'election-timeout', kind: 'int', default: '1000', help: 'time (in milliseconds) for an election to timeout' },
  { key: 'snapshot-count', kind: 'int', default: '10000', help: 'number of committed transactions to trigger a snapshot' },
  { key: 'auto-compaction-mode', kind: 'string', default: 'periodic', help: "interpret auto-compaction-retention as 'periodic' (a duration; hours if it has no unit, e.g. '5m', '1') or 'revision' (a number of revisions)" },
  { key: 'auto-compaction-retention', kind: 'string', default: '0', help: 'auto compaction retention: how much history the leader keeps compacting away the rest (0: off)' },
  { key: 'auto-compaction-check-interval', kind: 'string', default: '5m', help: 'revision mode: how often the leader checks whether to compact (Cairn only; etcd fixes it at 5m)' },
  { key: 'quota-backend-bytes', kind: 'int', default: '0', help: 'raise a NOSPACE alarm and refuse writes when the backend size exceeds this many bytes (0: 2 GiB)' },
  { key: 'rocksdb-block-cache-bytes', kind: 'int', default: String(DEFAULT_ROCKSDB_BLOCK_CACHE_BYTES), help: 'RocksDB block cache capacity in bytes (0: no block cache)' },
  { key: 'rocksdb-memtable-budget-bytes', kind: 'int', default: String(DEFAULT_ROCKSDB_MEMTABLE_BUDGET_BYTES), help: 'RocksDB memtable budget in bytes: each memtable is a quarter, at most 1.5x in memory' },
  { key: 'auth-token-ttl', kind: 'int', default: '300', help: 'lifetime of an auth token, in seconds' },
  { key: 'auth-login-free-failures', kind: 'int', default: '5', help: 'failed logins per user and per remote address before further ones are refused for a backoff (too_many_requests)' },
  { key: 'auth-login-max-delay', kind: 'int', default: '30000', help: 'longest backoff after failed logins, in milliseconds (it starts at 1 s and doubles)' },
  { key: 'cors', kind: 'string', default: '', help: "comma-separated origins of browser pages allowed on the client port ('*' for any); default: requests without Origin and same-origin only" },
  { key: 'disable-console', kind: 'bool', default: 'false', help: 'do not serve the web console at /ui/ on the client URLs (docs/console.md)' },
  { key: 'experimental-initial-corrupt-check', kind: 'bool', default: 'false', help: "before serving clients, compare this member's KV hash with its peers' and refuse to start on a mismatch" },
  { key: 'experimental-corrupt-check-time', kind: 'string', default: '0s', help: 'how often the leader compares the KV hashes of all members (a duration like 5m; 0s: off); a mismatch raises CORRUPT' },
  { key: 'listen-metrics-urls', kind: 'urls', help: 'extra URLs serving only /metrics, /health, /livez and /readyz (https ones use the client TLS settings)' },
  { key: 'cert-file', kind: 'string', help: 'path to the client server TLS cert file (needed for https client URLs)' },
  { key: 'key-file', kind: 'string', help: 'path to the client server TLS key file' },
  { key: 'trusted-ca-file', kind: 'string', help: 'path to the client server TLS trusted CA cert file' },
  { key: 'client-cert-auth', kind: 'bool', help: 'require client certificates signed by trusted-ca-file; the common name is the user' },
  { key: 'peer-cert-file', kind: 'string', help: 'path to the peer server TLS cert file (applies to the peer transport)' },
  { key: 'peer-key-file', kind: 'string', help: 'path to the peer server TLS key file' },
  { key: 'peer-trusted-ca-file', kind: 'string', help: 'path to the peer server TLS trusted CA file' },
  { key: 'peer-client-cert-auth', kind: 'bool', help: 'require peer certificates signed by peer-trusted-ca-file' },
  { key: 'peer-cert-allowed-cn', kind: 'string', help: 'with peer-client-cert-auth: a peer certificate must have this common name' },
  { key: 'peer-cert-allowed-hostname', kind: 'string', help: 'with peer-client-cert-auth: a peer certificate must be valid for this host name' },
  {
    key: 'peer-secret-file',
    kind: 'string',
    help: 'file holding the secret (at least 16 bytes) every member proves it knows on each peer connection; the same file on every member (default: derived from initial-cluster-token, which is weak)',
  },
];

const byKey = new Map(SETTINGS.map((s) => [s.key, s]));

export interface DaemonConfig {
  readonly name: string;
  readonly dataDir: string;
  readonly listenClientUrls: string[];
  /** --listen-metrics-urls; empty: none. */
  readonly listenMetricsUrls: string[];
  readonly advertiseClientUrls: string[];
  readonly listenPeerUrls: string[];
  readonly initialAdvertisePeerUrls: string[];
  /**
   * name -> peer URLs, in the order given. With `discovery`, only this member until
   * resolveDiscovery (discovery.ts) replaces it with the discovered cluster.
   */
  readonly initialCluster: Map<string, string[]>;
  /** The discovery URL (`--discovery`), when the cluster bootstraps from a token. */
  readonly discovery: string | undefined;
  readonly initialClusterToken: string;
  readonly initialClusterState: 'new' | 'existing';
  readonly maxRequestBytes: number;
  readonly maxTxnOps: number;
  readonly maxTxnCompareKeys: number;
  readonly clientHandshakeTimeoutMs: number;
  /** 0: no limit. */
  readonly maxClientConnections: number;
  readonly clientUnsentSoftBytes: number;
  readonly clientUnsentHardBytes: number;
  /** pino's level: etcd's `panic` is `fatal`. */
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  readonly logFormat: 'json' | 'console';
  /** 'stdout', 'stderr', 'systemd/journal' or file paths, in the order given. */
  readonly logOutputs: string[];
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  readonly snapshotCount: number;
  /** 0: the default (2 GiB). */
  readonly quotaBackendBytes: number;
  readonly autoCompactionMode: string;
  readonly autoCompactionRetention: string;
  readonly autoCompactionCheckIntervalMs: number;
  readonly rocksdbBlockCacheBytes: number;
  readonly rocksdbMemtableBudgetBytes: number;
  readonly authTokenTtlSeconds: number;
  readonly authLoginFreeFailures: number;
  readonly authLoginMaxDelayMs: number;
  /** --cors, split on commas; empty: no cross-origin page allowed. */
  readonly cors: string[];
  /** --disable-console: no web console at /ui/. */
  readonly disableConsole: boolean;
  readonly experimentalInitialCorruptCheck: boolean;
  /** 0: off. */
  readonly experimentalCorruptCheckTimeMs: number;
  readonly tls: TlsSettings | undefined;
  /** Parsed and checked; applies to the peer transport once it exists. */
  readonly peerTls: TlsSettings | undefined;
  /** `--peer-secret-file`: undefined means the weak default (derived from the token). */
  readonly peerSecretFile: string | undefined;
}

export interface TlsSettings {
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly trustedCaFile?: string;
  readonly clientCertAuth: boolean;
  readonly allowedCn?: string;
  readonly allowedHostname?: string;
}

export const envName = (key: string): string => `CAIRN_${key.toUpperCase().replace(/-/g, '_')}`;
/** etcd's spelling of the same variable: accepted as an alias; the CAIRN_ one wins. */
export const etcdEnvName = (key: string): string => `ETCD_${key.toUpperCase().replace(/-/g, '_')}`;

export type Parsed =
  | { kind: 'help' }
  | { kind: 'version' }
  | {
      kind: 'run';
      config: DaemonConfig;
      source: string;
      /** Lines to log as warnings at start: what was ignored, and why. */
      warnings: string[];
    };

type Env = Readonly<Record<string, string | undefined>>;

/** Reads argv (without node and script) and env into a validated config. Throws ConfigError. */
export function loadConfig(argv: readonly string[], env: Env): Parsed {
  const flags = parseFlags(argv, byKey);
  if (flags.cairn.has('help')) return { kind: 'help' };
  if (flags.cairn.has('version')) return { kind: 'version' };
  const configFile = flags.cairn.get('config-file') ?? nonEmpty(env['CAIRN_CONFIG_FILE']) ?? nonEmpty(env['ETCD_CONFIG_FILE']);
  const warnings: string[] = [];
  let raw: Map<string, string>;
  let etcdOnly: Map<string, string>;
  let source: string;
  let origins: Origins;
  if (configFile !== undefined) {
    let shown: Map<string, string>;
    ({ raw, etcdOnly, shown } = readConfigFile(configFile, byKey));
    source = `config file ${configFile}`;
    origins = { prefix: `config file ${configFile}: `, names: new Map([...shown].map(([k, n]) => [k, `key '${n}'`])) };
    const ignored = [
      ...[...flags.cairn.keys()].filter((k) => k !== 'config-file').map((k) => `--${k}`),
      ...[...flags.etcdOnly.keys()].map((k) => `--${k}`),
      ...settingVariables(env, byKey),
    ];
    if (ignored.length > 0) warnings.push(`config file ${configFile} is given, so these flags and environment variables are ignored (as etcd does): ${ignored.join(', ')}`);
  } else {
    raw = new Map();
    etcdOnly = new Map();
    origins = { prefix: '', names: new Map() };
    for (const s of SETTINGS) {
      for (const name of [envName(s.key), etcdEnvName(s.key)]) {
        const v = nonEmpty(env[name]);
        if (v === undefined) continue;
        raw.set(s.key, v);
        origins.names.set(s.key, name);
        break;
      }
    }
    const unrecognized: string[] = [];
    for (const [name, value] of Object.entries(env)) {
      if (!name.startsWith('ETCD_') || value === undefined || value === '' || name === 'ETCD_CONFIG_FILE') continue;
      const key = name.slice(5).toLowerCase().replace(/_/g, '-');
      if (byKey.has(key)) continue;
      if (ETCD_ONLY.has(key)) {
        etcdOnly.set(key, value);
        origins.names.set(key, name);
      } else unrecognized.push(name);
    }
    if (unrecognized.length > 0) warnings.push(`unrecognized environment variables, ignored: ${unrecognized.sort().join(', ')}`);
    for (const [k, v] of flags.cairn) {
      if (k === 'config-file') continue;
      raw.set(k, v);
      origins.names.set(k, `--${k}`);
    }
    for (const [k, v] of flags.etcdOnly) {
      etcdOnly.set(k, v);
      origins.names.set(k, `--${k}`);
    }
    source = 'flags and environment';
  }
  try {
    const ignored = checkEtcdOnly(etcdOnly, raw, origins);
    if (ignored.length > 0) warnings.push(`etcd settings this version of cairn does not implement, ignored: ${ignored.join(', ')}`);
    return { kind: 'run', config: resolve(raw), source, warnings };
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(reword(err.message, origins, byKey));
    throw err;
  }
}

function parseUrls(key: string, value: string, tls = true): string[] {
  const urls = value.split(',').map((u) => u.trim()).filter((u) => u !== '');
  if (urls.length === 0) throw new ConfigError(`--${key} is empty`);
  for (const u of urls) checkUrl(key, u, tls);
  return urls;
}

function checkUrl(key: string, u: string, tls = true): void {
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    throw new ConfigError(`--${key}: ${JSON.stringify(u)} is not a URL (expected e.g. http://127.0.0.1:2379)`);
  }
  if (url.protocol === 'https:' && !tls) throw new ConfigError(`--${key}: ${u}: https needs --${key.includes('peer') ? 'peer-' : ''}cert-file and --${key.includes('peer') ? 'peer-' : ''}key-file`);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`--${key}: ${u}: scheme must be http or https`);
  if (url.port === '') throw new ConfigError(`--${key}: ${u}: a port is required`);
  if (url.pathname !== '/' || url.search !== '') throw new ConfigError(`--${key}: ${u}: URL must not have a path`);
}

function parseInt10(key: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new ConfigError(`--${key} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** Parses `a=http://h:1,b=http://h:2` (a name may repeat for several URLs). */
export function parseInitialCluster(value: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of value.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--initial-cluster: ${JSON.stringify(part)} is not name=url`);
    const name = part.slice(0, eq);
    const url = part.slice(eq + 1);
    checkUrl('initial-cluster', url);
    out.set(name, [...(out.get(name) ?? []), url]);
  }
  if (out.size === 0) throw new ConfigError('--initial-cluster is empty');
  return out;
}

function resolve(raw: Map<string, string>): DaemonConfig {
  for (const [key, value] of raw) {
    const s = byKey.get(key)!;
    if (s.notYet !== undefined && value !== '' && value !== 'false') {
      throw new ConfigError(`--${key}: ${s.notYet} is not supported by this version of cairn yet`);
    }
  }
  const get = (key: string): string | undefined => raw.get(key) ?? byKey.get(key)?.default;
  const name = get('name')!;
  if (name === '') throw new ConfigError('--name must not be empty');
  const tls = tlsSettings(raw, '');
  const peerTls = tlsSettings(raw, 'peer-');
  const listenPeerUrls = parseUrls('listen-peer-urls', get('listen-peer-urls')!, peerTls?.certFile !== undefined);
  const listenClientUrls = parseUrls('listen-client-urls', get('listen-client-urls')!, tls?.certFile !== undefined);
  const initialAdvertisePeerUrls = raw.has('initial-advertise-peer-urls')
    ? parseUrls('initial-advertise-peer-urls', raw.get('initial-advertise-peer-urls')!)
    : listenPeerUrls;
  const advertiseClientUrls = raw.has('advertise-client-urls')
    ? parseUrls('advertise-client-urls', raw.get('advertise-client-urls')!)
    : listenClientUrls;
  const discovery = discoverySetting(raw);
  const initialCluster = raw.has('initial-cluster')
    ? parseInitialCluster(raw.get('initial-cluster')!)
    : new Map([[name, initialAdvertisePeerUrls]]);
  const mine = initialCluster.get(name);
  if (mine === undefined) {
    throw new ConfigError(`--initial-cluster has no member named ${JSON.stringify(name)} (it lists ${[...initialCluster.keys()].join(', ')})`);
  }
  const sameUrls = (a: string[], b: string[]) => a.map((u) => new URL(u).href).sort().join() === b.map((u) => new URL(u).href).sort().join();
  if (!sameUrls(mine, initialAdvertisePeerUrls)) {
    throw new ConfigError(
      `--initial-cluster lists ${name}=${mine.join(',')} but --initial-advertise-peer-urls is ${initialAdvertisePeerUrls.join(',')}; they must match`,
    );
  }
  const state = get('initial-cluster-state')!;
  if (state !== 'new' && state !== 'existing') throw new ConfigError(`--initial-cluster-state must be 'new' or 'existing', got ${JSON.stringify(state)}`);
  const heartbeatIntervalMs = parseInt10('heartbeat-interval', get('heartbeat-interval')!);
  const electionTimeoutMs = parseInt10('election-timeout', get('election-timeout')!);
  if (heartbeatIntervalMs === 0) throw new ConfigError('--heartbeat-interval must be at least 1');
  if (electionTimeoutMs < 5 * heartbeatIntervalMs) {
    throw new ConfigError('--election-timeout must be at least 5 times --heartbeat-interval');
  }
  const maxTxnOps = parseInt10('max-txn-ops', get('max-txn-ops')!);
  if (maxTxnOps === 0) throw new ConfigError('--max-txn-ops must be at least 1');
  const rocksdbBlockCacheBytes = parseInt10('rocksdb-block-cache-bytes', get('rocksdb-block-cache-bytes')!);
  const rocksdbMemtableBudgetBytes = parseInt10('rocksdb-memtable-budget-bytes', get('rocksdb-memtable-budget-bytes')!);
  try {
    checkRocksMemory({ blockCacheBytes: rocksdbBlockCacheBytes, memtableBudgetBytes: rocksdbMemtableBudgetBytes });
  } catch (err) {
    if (err instanceof RocksOptionError) throw new ConfigError(`--${err.message}`);
    throw err;
  }
  const clientUnsentSoftBytes = positiveInt('client-unsent-soft-bytes', get('client-unsent-soft-bytes')!);
  const clientUnsentHardBytes = positiveInt('client-unsent-hard-bytes', get('client-unsent-hard-bytes')!);
  if (clientUnsentHardBytes < clientUnsentSoftBytes) {
    throw new ConfigError('--client-unsent-hard-bytes must be at least --client-unsent-soft-bytes');
  }
  const peerAllowedCn = raw.get('peer-cert-allowed-cn') ?? '';
  if (peerAllowedCn.includes(',')) throw new ConfigError(`--peer-cert-allowed-cn takes one common name in this version of cairn, got ${JSON.stringify(peerAllowedCn)}`);
  const peerAllowedHost = raw.get('peer-cert-allowed-hostname') ?? '';
  if (peerAllowedHost.includes(',')) throw new ConfigError(`--peer-cert-allowed-hostname takes one host name in this version of cairn, got ${JSON.stringify(peerAllowedHost)}`);
  return {
    name,
    dataDir: raw.get('data-dir') ?? `${name}.cairn`,
    listenClientUrls,
    listenMetricsUrls: raw.has('listen-metrics-urls') ? parseUrls('listen-metrics-urls', raw.get('listen-metrics-urls')!, tls?.certFile !== undefined) : [],
    advertiseClientUrls,
    listenPeerUrls,
    initialAdvertisePeerUrls,
    initialCluster,
    discovery,
    initialClusterToken: get('initial-cluster-token')!,
    initialClusterState: state,
    maxRequestBytes: parseInt10('max-request-bytes', get('max-request-bytes')!),
    maxTxnOps,
    maxTxnCompareKeys: positiveInt('max-txn-compare-keys', get('max-txn-compare-keys')!),
    clientHandshakeTimeoutMs: positiveInt('client-handshake-timeout', get('client-handshake-timeout')!),
    maxClientConnections: parseInt10('max-client-connections', get('max-client-connections')!),
    clientUnsentSoftBytes,
    clientUnsentHardBytes,
    ...logSettings(get),
    heartbeatIntervalMs,
    electionTimeoutMs,
    snapshotCount: parseInt10('snapshot-count', get('snapshot-count')!),
    quotaBackendBytes: parseInt10('quota-backend-bytes', get('quota-backend-bytes')!),
    ...autoCompactionSettings(get('auto-compaction-mode')!, get('auto-compaction-retention')!, get('auto-compaction-check-interval')!),
    rocksdbBlockCacheBytes,
    rocksdbMemtableBudgetBytes,
    authTokenTtlSeconds: positiveInt('auth-token-ttl', get('auth-token-ttl')!),
    authLoginFreeFailures: positiveInt('auth-login-free-failures', get('auth-login-free-failures')!),
    authLoginMaxDelayMs: positiveInt('auth-login-max-delay', get('auth-login-max-delay')!),
    cors: corsSetting(get('cors')!),
    disableConsole: parseBool('disable-console', get('disable-console')!),
    experimentalInitialCorruptCheck: parseBool('experimental-initial-corrupt-check', get('experimental-initial-corrupt-check')!),
    experimentalCorruptCheckTimeMs: parseDurationMs('experimental-corrupt-check-time', get('experimental-corrupt-check-time')!),
    tls,
    peerTls,
    peerSecretFile: peerSecretFile(raw),
  };
}

/** etcd's logging flags: --log-level, --log-format, --log-outputs and --logger. */
function logSettings(get: (key: string) => string | undefined): Pick<DaemonConfig, 'logLevel' | 'logFormat' | 'logOutputs'> {
  const level = get('log-level')!;
  if (!['debug', 'info', 'warn', 'error', 'panic', 'fatal'].includes(level)) {
    throw new ConfigError(`--log-level must be debug, info, warn, error, panic or fatal, got ${JSON.stringify(level)}`);
  }
  const format = get('log-format')!;
  if (format !== 'json' && format !== 'console') throw new ConfigError(`--log-format must be json or console, got ${JSON.stringify(format)}`);
  const logger = get('logger')!;
  if (logger !== 'zap') throw new ConfigError(`--logger must be zap (structured logs; etcd 3.5 removed capnslog), got ${JSON.stringify(logger)}`);
  const outputs = get('log-outputs')!.split(',').map((o) => o.trim()).filter((o) => o !== '');
  if (outputs.length === 0) throw new ConfigError('--log-outputs is empty');
  return {
    logLevel: level === 'panic' ? 'fatal' : (level as DaemonConfig['logLevel']),
    logFormat: format,
    logOutputs: [...new Set(outputs.map((o) => (o === 'default' ? 'stdout' : o)))],
  };
}

/** The auto-compaction flags, checked here so that a bad value fails like every other flag. */
function autoCompactionSettings(mode: string, retention: string, interval: string): Pick<DaemonConfig, 'autoCompactionMode' | 'autoCompactionRetention' | 'autoCompactionCheckIntervalMs'> {
  try {
    parseAutoCompaction(mode, retention);
  } catch (err) {
    if (err instanceof AutoCompactionError) throw new ConfigError(`--${err.message}`);
    throw err;
  }
  const ms = parseDurationMs('auto-compaction-check-interval', interval);
  if (ms === 0) throw new ConfigError('--auto-compaction-check-interval must be more than 0');
  return { autoCompactionMode: mode, autoCompactionRetention: retention, autoCompactionCheckIntervalMs: ms };
}

/** `--cors`: '*' or http(s) origins, comma-separated. */
function corsSetting(text: string): string[] {
  const list = text.split(',').map((o) => o.trim()).filter((o) => o !== '');
  for (const o of list) {
    if (o === '*') continue;
    let url: URL | undefined;
    try {
      url = new URL(o);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new ConfigError(`--cors: ${JSON.stringify(o)} is not an origin like https://console.example.com (or '*')`);
    }
  }
  return list;
}

function peerSecretFile(raw: Map<string, string>): string | undefined {
  const path = raw.get('peer-secret-file');
  if (path === undefined || path === '') return undefined;
  if (!existsSync(path)) throw new ConfigError(`--peer-secret-file: ${path} does not exist`);
  return path;
}

/** `--discovery`: a well-formed token URL, and the only way this member bootstraps. */
function discoverySetting(raw: Map<string, string>): string | undefined {
  const url = raw.get('discovery');
  if (url === undefined || url === '') return undefined;
  if (raw.has('initial-cluster')) {
    throw new ConfigError('--discovery and --initial-cluster are both set: choose one way to bootstrap the cluster');
  }
  if (raw.get('initial-cluster-state') === 'existing') {
    throw new ConfigError('--discovery bootstraps a new cluster (--initial-cluster-state=new); to add a member to a running cluster use cairnctl member add');
  }
  try {
    parseDiscoveryUrl(url);
  } catch (err) {
    throw new ConfigError(`--discovery: ${(err as Error).message}`);
  }
  return url;
}

function positiveInt(key: string, value: string): number {
  const n = parseInt10(key, value);
  if (n === 0) throw new ConfigError(`--${key} must be at least 1`);
  return n;
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go-style duration (`500ms`, `30s`, `5m`, `1h30m`; a bare `0` too), in whole milliseconds. */
export function parseDurationMs(key: string, value: string): number {
  const text = value.trim();
  if (text === '0') return 0;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new ConfigError(`--${key} must be a duration like 30s, 5m or 1h (0s: off), got ${JSON.stringify(value)}`);
  }
  const ms = Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * DURATION_UNITS_MS[p[2]!]!, 0));
  if (!Number.isSafeInteger(ms)) throw new ConfigError(`--${key} is too large: ${JSON.stringify(value)}`);
  return ms;
}

function parseBool(key: string, value: string): boolean {
  if (/^(true|1|t)$/i.test(value)) return true;
  if (/^(false|0|f)$/i.test(value)) return false;
  throw new ConfigError(`--${key} must be true or false, got ${JSON.stringify(value)}`);
}

/** --cert-file ... or --peer-cert-file ...: undefined when none is set. */
function tlsSettings(raw: Map<string, string>, prefix: '' | 'peer-'): TlsSettings | undefined {
  const file = (k: string): string | undefined => {
    const v = raw.get(`${prefix}${k}`);
    return v === undefined || v === '' ? undefined : v;
  };
  const certFile = file('cert-file');
  const keyFile = file('key-file');
  const trustedCaFile = file('trusted-ca-file');
  const auth = raw.get(`${prefix}client-cert-auth`);
  const clientCertAuth = auth === undefined ? false : parseBool(`${prefix}client-cert-auth`, auth);
  const allowedCn = prefix === 'peer-' ? file('cert-allowed-cn') : undefined;
  const allowedHostname = prefix === 'peer-' ? file('cert-allowed-hostname') : undefined;
  if (certFile === undefined && keyFile === undefined && trustedCaFile === undefined && !clientCertAuth && allowedCn === undefined && allowedHostname === undefined) return undefined;
  if ((allowedCn !== undefined || allowedHostname !== undefined) && !clientCertAuth) {
    throw new ConfigError('--peer-cert-allowed-cn and --peer-cert-allowed-hostname check peer certificates: they need --peer-client-cert-auth');
  }
  if (certFile === undefined || keyFile === undefined) throw new ConfigError(`--${prefix}cert-file and --${prefix}key-file must be given together`);
  if (clientCertAuth && trustedCaFile === undefined) throw new ConfigError(`--${prefix}client-cert-auth needs --${prefix}trusted-ca-file`);
  for (const [k, path] of [['cert-file', certFile], ['key-file', keyFile], ['trusted-ca-file', trustedCaFile]] as const) {
    if (path !== undefined && !existsSync(path)) throw new ConfigError(`--${prefix}${k}: ${path} does not exist`);
  }
  return {
    certFile,
    keyFile,
    ...(trustedCaFile !== undefined ? { trustedCaFile } : {}),
    clientCertAuth,
    ...(allowedCn !== undefined ? { allowedCn } : {}),
    ...(allowedHostname !== undefined ? { allowedHostname } : {}),
  };
}

export function helpText(): string {
  const lines = [
    'Usage: cairn [flags]',
    '',
    'Starts a Cairn member. With no flags: a single member serving clients on 127.0.0.1:2379,',
    'peers on 127.0.0.1:2380, data in ./default.cairn.',
    '',
    'Flags (each also as environment variable CAIRN_<NAME> or ETCD_<NAME>, e.g. CAIRN_DATA_DIR; CAIRN_ wins):',
    "  --config-file PATH   read settings from a YAML file (Cairn's keys, or etcd's file as it is); flags and environment are then ignored",
  ];
  for (const s of SETTINGS) {
    if (s.notYet) continue;
    const def = s.default !== undefined ? ` (default ${s.default})` : '';
    lines.push(`  --${s.key.padEnd(29)} ${s.help}${def}`);
  }
  lines.push('  --version                       print the version and exit');
  lines.push('', "etcd's other flags are accepted and ignored with a warning (a few unsafe ones are refused): see docs/migrating-from-etcd.md.");
  return lines.join('\n');
}
