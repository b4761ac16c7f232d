/**
 * etcd's settings that Cairn does not implement, so that an etcd config file, etcd's flags and
 * ETCD_* variables carry over unchanged. Each is either ignored (listed in one warning line at
 * start) or, where ignoring it would change what the member does in a way its operator relies
 * on (safety, bootstrap, security), refused unless it has etcd's default value.
 *
 * The names come from etcd 3.4 to 3.6 (etcd.conf.yml.sample, `etcd --help`), experimental-*
 * spellings included.
 */

/** Why a non-default value is refused; undefined: the value is harmless to ignore. */
type Refusal = (value: string, tlsInUse: boolean) => string | undefined;

const isOff = (v: string): boolean => v === '' || /^(false|0|f)$/i.test(v);

const whenTrue = (why: string): Refusal => (v) => (isOff(v) ? undefined : why);
const whenSet = (why: string): Refusal => (v) => (v === '' ? undefined : why);

/** The key is ignored; a Refusal when some values must stop the start instead. */
export const ETCD_ONLY: ReadonlyMap<string, Refusal | undefined> = new Map<string, Refusal | undefined>([
  // member
  ['wal-dir', undefined],
  ['max-snapshots', undefined],
  ['max-wals', undefined],
  ['snapshot-catchup-entries', undefined],
  ['experimental-snapshot-catchup-entries', undefined],
  ['initial-election-tick-advance', undefined],
  ['backend-batch-interval', undefined],
  ['backend-batch-limit', undefined],
  ['backend-bbolt-freelist-type', undefined],
  ['experimental-backend-bbolt-freelist-type', undefined],
  ['max-concurrent-streams', undefined],
  ['grpc-keepalive-min-time', undefined],
  ['grpc-keepalive-interval', undefined],
  ['grpc-keepalive-timeout', undefined],
  ['socket-reuse-port', undefined],
  ['socket-reuse-address', undefined],
  ['raft-read-timeout', undefined],
  ['raft-write-timeout', undefined],
  ['listen-client-http-urls', undefined],
  ['unsafe-no-fsync', undefined], // Cairn always syncs: ignoring it is the safe side
  ['force-new-cluster', whenTrue('force-new-cluster (rewrite the membership to this member alone) is not supported; restore a snapshot instead (see operations.md)')],
  // clustering
  ['strict-reconfig-check', undefined],
  ['pre-vote', undefined], // Cairn always runs pre-vote
  ['discovery-fallback', undefined],
  ['discovery-proxy', undefined],
  ['discovery-srv', whenSet('DNS discovery (discovery-srv) is not supported: give initial-cluster, or a cairn:// discovery URL')],
  ['discovery-srv-name', undefined],
  ['discovery-endpoints', whenSet('etcd v3 discovery (discovery-endpoints) is not supported: give initial-cluster, or a cairn:// discovery URL')],
  ['discovery-token', whenSet('etcd v3 discovery (discovery-token) is not supported: give initial-cluster, or a cairn:// discovery URL')],
  ['discovery-dial-timeout', undefined],
  ['discovery-request-timeout', undefined],
  ['discovery-keepalive-time', undefined],
  ['discovery-keepalive-timeout', undefined],
  ['discovery-insecure-transport', undefined],
  ['discovery-insecure-skip-tls-verify', undefined],
  ['discovery-cert', undefined],
  ['discovery-key', undefined],
  ['discovery-cacert', undefined],
  ['discovery-user', undefined],
  ['discovery-password', undefined],
  ['discovery-config', undefined],
  ['max-learners', undefined],
  ['experimental-max-learners', undefined],
  // proxy: a member started as a proxy must not join the cluster as a voter instead
  ['proxy', (v) => (v === '' || v === 'off' ? undefined : "proxy mode is not supported (only 'off')")],
  ['proxy-failure-wait', undefined],
  ['proxy-refresh-interval', undefined],
  ['proxy-dial-timeout', undefined],
  ['proxy-write-timeout', undefined],
  ['proxy-read-timeout', undefined],
  // security
  ['auto-tls', whenTrue('auto-tls (self-signed client certificates) is not supported: give cert-file and key-file')],
  ['peer-auto-tls', whenTrue('peer-auto-tls (self-signed peer certificates) is not supported: give peer-cert-file and peer-key-file')],
  ['self-signed-cert-validity', undefined],
  ['client-cert-file', undefined],
  ['client-key-file', undefined],
  ['peer-client-cert-file', undefined],
  ['peer-client-key-file', undefined],
  ['client-crl-file', whenSet('certificate revocation lists (client-crl-file) are not supported; a revoked certificate would still be accepted')],
  ['peer-crl-file', whenSet('certificate revocation lists (peer-crl-file) are not supported; a revoked certificate would still be accepted')],
  ['client-cert-allowed-hostname', whenSet('client-cert-allowed-hostname is not supported; client certificates would not be restricted')],
  ['peer-skip-client-san-verification', undefined],
  ['experimental-peer-skip-client-san-verification', undefined],
  ['cipher-suites', (v, tls) => (v !== '' && tls ? 'cipher-suites cannot be restricted in this version of cairn (Node.js picks them); remove the key' : undefined)],
  ['tls-min-version', (v, tls) => (v === '' || v === 'TLS1.2' || !tls ? undefined : 'tls-min-version other than TLS1.2 is not supported (Cairn accepts TLS 1.2 and 1.3)')],
  ['tls-max-version', undefined],
  ['host-whitelist', (v) => (v === '' || v === '*' ? undefined : "host-whitelist is not supported; requests for other host names would be served (use 'cors' for browser pages)")],
  // v2 and gateway
  ['enable-v2', undefined],
  ['experimental-enable-v2v3', undefined],
  ['v2-deprecation', undefined],
  ['enable-grpc-gateway', undefined],
  // logging and observability
  ['enable-log-rotation', undefined],
  ['log-rotation-config-json', undefined],
  ['disable-log-sampling', undefined],
  ['enable-pprof', undefined],
  ['metrics', undefined],
  ['enable-distributed-tracing', undefined],
  ['distributed-tracing-address', undefined],
  ['distributed-tracing-service-name', undefined],
  ['distributed-tracing-instance-id', undefined],
  ['distributed-tracing-sampling-rate', undefined],
  ['experimental-enable-distributed-tracing', undefined],
  ['experimental-distributed-tracing-address', undefined],
  ['experimental-distributed-tracing-service-name', undefined],
  ['experimental-distributed-tracing-instance-id', undefined],
  ['experimental-distributed-tracing-sampling-rate', undefined],
  // auth
  ['auth-token', undefined],
  ['bcrypt-cost', undefined],
  // background work Cairn schedules its own way
  ['corrupt-check-time', undefined],
  ['compact-hash-check-enabled', undefined],
  ['compact-hash-check-time', undefined],
  ['experimental-compact-hash-check-enabled', undefined],
  ['experimental-compact-hash-check-time', undefined],
  ['compaction-batch-limit', undefined],
  ['compaction-sleep-interval', undefined],
  ['experimental-compaction-batch-limit', undefined],
  ['experimental-compaction-sleep-interval', undefined],
  ['watch-progress-notify-interval', undefined],
  ['experimental-watch-progress-notify-interval', undefined],
  ['warning-apply-duration', undefined],
  ['experimental-warning-apply-duration', undefined],
  ['warning-unary-request-duration', undefined],
  ['experimental-warning-unary-request-duration', undefined],
  ['downgrade-check-time', undefined],
  ['experimental-downgrade-check-time', undefined],
  ['bootstrap-defrag-threshold-megabytes', undefined],
  ['experimental-bootstrap-defrag-threshold-megabytes', undefined],
  ['memory-mlock', undefined],
  ['experimental-memory-mlock', undefined],
  ['experimental-enable-lease-checkpoint', undefined],
  ['experimental-enable-lease-checkpoint-persist', undefined],
  ['experimental-txn-mode-write-with-shared-buffer', undefined],
  ['experimental-stop-grpc-service-on-defrag', undefined],
  ['experimental-local-address', undefined],
  ['feature-gates', undefined],
]);

/** etcd's boolean flags among the above: `--enable-v2` alone means true, as with Go's flag package. */
export const ETCD_BOOL_FLAGS: ReadonlySet<string> = new Set([
  'unsafe-no-fsync', 'force-new-cluster', 'strict-reconfig-check', 'pre-vote', 'initial-election-tick-advance',
  'socket-reuse-port', 'socket-reuse-address', 'discovery-insecure-transport', 'discovery-insecure-skip-tls-verify',
  'auto-tls', 'peer-auto-tls', 'peer-skip-client-san-verification', 'experimental-peer-skip-client-san-verification',
  'enable-v2', 'enable-grpc-gateway', 'enable-log-rotation', 'disable-log-sampling', 'enable-pprof',
  'enable-distributed-tracing', 'experimental-enable-distributed-tracing', 'compact-hash-check-enabled',
  'experimental-compact-hash-check-enabled', 'memory-mlock', 'experimental-memory-mlock',
  'experimental-enable-lease-checkpoint', 'experimental-enable-lease-checkpoint-persist',
  'experimental-txn-mode-write-with-shared-buffer', 'experimental-stop-grpc-service-on-defrag',
]);

/**
 * The keys of etcd's `client-transport-security` / `peer-transport-security` blocks, and the
 * flat setting each one is (etcd's flag of the same meaning). `ca-file` is etcd 3.3's shorthand
 * for trusted-ca-file plus client-cert-auth.
 */
export function tlsBlockKey(block: 'client' | 'peer', key: string): string | undefined {
  const p = block === 'peer' ? 'peer-' : '';
  switch (key) {
    case 'cert-file':
    case 'key-file':
    case 'trusted-ca-file':
    case 'client-cert-auth':
    case 'auto-tls':
    case 'crl-file':
      return key === 'crl-file' ? `${block}-crl-file` : `${p}${key}`;
    case 'client-cert-file':
    case 'client-key-file':
      return `${p}${key}`;
    case 'allowed-cn':
      return block === 'peer' ? 'peer-cert-allowed-cn' : 'client-cert-allowed-cn';
    case 'allowed-hostname':
      return block === 'peer' ? 'peer-cert-allowed-hostname' : 'client-cert-allowed-hostname';
    case 'skip-client-san-verification':
      return `${block === 'peer' ? 'peer-' : 'client-'}skip-client-san-verification`;
    case 'ca-file':
      return `${p}ca-file`;
    default:
      return undefined;
  }
}

/** Settings only reachable through a TLS block; refused when set (see tlsBlockKey). */
export const TLS_BLOCK_ONLY: ReadonlyMap<string, Refusal | undefined> = new Map<string, Refusal | undefined>([
  ['client-cert-allowed-cn', whenSet('client-transport-security.allowed-cn is not supported; client certificates would not be restricted')],
  ['client-skip-client-san-verification', undefined],
  ['ca-file', whenSet('client-transport-security.ca-file (etcd 3.3) is not supported: use trusted-ca-file and client-cert-auth: true')],
  ['peer-ca-file', whenSet('peer-transport-security.ca-file (etcd 3.3) is not supported: use trusted-ca-file and client-cert-auth: true')],
]);

/** The known key nearest to `key` (edit distance at most 3), for "did you mean". */
export function nearest(key: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const k of known) {
    const d = editDistance(key, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
