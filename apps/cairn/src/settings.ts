/**
 * Every setting the daemon knows (etcd's names), what each means, and the checked result
 * (DaemonConfig). config.ts reads them from their sources; checks.ts checks them.
 */
import { DEFAULT_ROCKSDB_BLOCK_CACHE_BYTES, DEFAULT_ROCKSDB_MEMTABLE_BUDGET_BYTES } from '@cairn/server';

export type Kind = 'string' | 'urls' | 'int' | 'bool' | 'state';

export interface Setting {
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

export const byKey = new Map(SETTINGS.map((s) => [s.key, s]));

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
