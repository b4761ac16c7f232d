/**
 * Checks the daemon's settings (text by key, from config.ts) into a DaemonConfig. Every error
 * names a setting through `n`, so the operator reads it as they wrote it: `--max-txn-ops`,
 * `CAIRN_MAX_TXN_OPS`, `ETCD_MAX_TXN_OPS` or the YAML key `max-txn-ops`.
 */
import { existsSync } from 'node:fs';
import { parseDiscoveryUrl } from '@cairn/client';
import { AutoCompactionError, checkRocksMemory, parseAutoCompaction, RocksOptionError } from '@cairn/server';
import { ConfigError } from './errors.js';
import { byKey, type DaemonConfig, type TlsSettings } from './settings.js';

/** How an error names a setting: the flag, the variable or the YAML key the operator used. */
export type SettingName = (key: string) => string;
export const flagName: SettingName = (key) => `--${key}`;

/** A library's message that starts with a setting's key, with the key named as the operator wrote it. */
function namedLeadingKey(n: SettingName, message: string): string {
  const m = /^([a-z][a-z0-9-]*)(.*)$/s.exec(message);
  return m === null ? message : `${n(m[1]!)}${m[2]!}`;
}

function parseUrls(n: SettingName, key: string, value: string, tls = true): string[] {
  const urls = value.split(',').map((u) => u.trim()).filter((u) => u !== '');
  if (urls.length === 0) throw new ConfigError(`${n(key)} is empty`);
  for (const u of urls) checkUrl(n, key, u, tls);
  return urls;
}

function checkUrl(n: SettingName, key: string, u: string, tls = true): void {
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    throw new ConfigError(`${n(key)}: ${JSON.stringify(u)} is not a URL (expected e.g. http://127.0.0.1:2379)`);
  }
  const p = key.includes('peer') ? 'peer-' : '';
  if (url.protocol === 'https:' && !tls) throw new ConfigError(`${n(key)}: ${u}: https needs ${n(`${p}cert-file`)} and ${n(`${p}key-file`)}`);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${n(key)}: ${u}: scheme must be http or https`);
  if (url.port === '') throw new ConfigError(`${n(key)}: ${u}: a port is required`);
  if (url.pathname !== '/' || url.search !== '') throw new ConfigError(`${n(key)}: ${u}: URL must not have a path`);
}

function parseInt10(n: SettingName, key: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new ConfigError(`${n(key)} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** Parses `a=http://h:1,b=http://h:2` (a name may repeat for several URLs). */
export function parseInitialCluster(value: string, n: SettingName = flagName): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of value.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${n('initial-cluster')}: ${JSON.stringify(part)} is not name=url`);
    const name = part.slice(0, eq);
    const url = part.slice(eq + 1);
    checkUrl(n, 'initial-cluster', url);
    out.set(name, [...(out.get(name) ?? []), url]);
  }
  if (out.size === 0) throw new ConfigError(`${n('initial-cluster')} is empty`);
  return out;
}

export function resolve(raw: Map<string, string>, n: SettingName = flagName): DaemonConfig {
  for (const [key, value] of raw) {
    const s = byKey.get(key)!;
    if (s.notYet !== undefined && value !== '' && value !== 'false') {
      throw new ConfigError(`${n(key)}: ${s.notYet} is not supported by this version of cairn yet`);
    }
  }
  const get = (key: string): string | undefined => raw.get(key) ?? byKey.get(key)?.default;
  const name = get('name')!;
  if (name === '') throw new ConfigError(`${n('name')} must not be empty`);
  const tls = tlsSettings(n, raw, '');
  const peerTls = tlsSettings(n, raw, 'peer-');
  const listenPeerUrls = parseUrls(n, 'listen-peer-urls', get('listen-peer-urls')!, peerTls?.certFile !== undefined);
  const listenClientUrls = parseUrls(n, 'listen-client-urls', get('listen-client-urls')!, tls?.certFile !== undefined);
  const initialAdvertisePeerUrls = raw.has('initial-advertise-peer-urls')
    ? parseUrls(n, 'initial-advertise-peer-urls', raw.get('initial-advertise-peer-urls')!)
    : listenPeerUrls;
  const advertiseClientUrls = raw.has('advertise-client-urls')
    ? parseUrls(n, 'advertise-client-urls', raw.get('advertise-client-urls')!)
    : listenClientUrls;
  const discovery = discoverySetting(n, raw);
  const initialCluster = raw.has('initial-cluster')
    ? parseInitialCluster(raw.get('initial-cluster')!, n)
    : new Map([[name, initialAdvertisePeerUrls]]);
  const mine = initialCluster.get(name);
  if (mine === undefined) {
    throw new ConfigError(`${n('initial-cluster')} has no member named ${JSON.stringify(name)} (it lists ${[...initialCluster.keys()].join(', ')})`);
  }
  const sameUrls = (a: string[], b: string[]) => a.map((u) => new URL(u).href).sort().join() === b.map((u) => new URL(u).href).sort().join();
  if (!sameUrls(mine, initialAdvertisePeerUrls)) {
    throw new ConfigError(
      `${n('initial-cluster')} lists ${name}=${mine.join(',')} but ${n('initial-advertise-peer-urls')} is ${initialAdvertisePeerUrls.join(',')}; they must match`,
    );
  }
  const state = get('initial-cluster-state')!;
  if (state !== 'new' && state !== 'existing') throw new ConfigError(`${n('initial-cluster-state')} must be 'new' or 'existing', got ${JSON.stringify(state)}`);
  const heartbeatIntervalMs = parseInt10(n, 'heartbeat-interval', get('heartbeat-interval')!);
  const electionTimeoutMs = parseInt10(n, 'election-timeout', get('election-timeout')!);
  if (heartbeatIntervalMs === 0) throw new ConfigError(`${n('heartbeat-interval')} must be at least 1`);
  if (electionTimeoutMs < 5 * heartbeatIntervalMs) {
    throw new ConfigError(`${n('election-timeout')} must be at least 5 times ${n('heartbeat-interval')}`);
  }
  const maxTxnOps = parseInt10(n, 'max-txn-ops', get('max-txn-ops')!);
  if (maxTxnOps === 0) throw new ConfigError(`${n('max-txn-ops')} must be at least 1`);
  const rocksdbBlockCacheBytes = parseInt10(n, 'rocksdb-block-cache-bytes', get('rocksdb-block-cache-bytes')!);
  const rocksdbMemtableBudgetBytes = parseInt10(n, 'rocksdb-memtable-budget-bytes', get('rocksdb-memtable-budget-bytes')!);
  try {
    checkRocksMemory({ blockCacheBytes: rocksdbBlockCacheBytes, memtableBudgetBytes: rocksdbMemtableBudgetBytes });
  } catch (err) {
    if (err instanceof RocksOptionError) throw new ConfigError(namedLeadingKey(n, err.message));
    throw err;
  }
  const clientUnsentSoftBytes = positiveInt(n, 'client-unsent-soft-bytes', get('client-unsent-soft-bytes')!);
  const clientUnsentHardBytes = positiveInt(n, 'client-unsent-hard-bytes', get('client-unsent-hard-bytes')!);
  if (clientUnsentHardBytes < clientUnsentSoftBytes) {
    throw new ConfigError(`${n('client-unsent-hard-bytes')} must be at least ${n('client-unsent-soft-bytes')}`);
  }
  const peerAllowedCn = raw.get('peer-cert-allowed-cn') ?? '';
  if (peerAllowedCn.includes(',')) throw new ConfigError(`${n('peer-cert-allowed-cn')} takes one common name in this version of cairn, got ${JSON.stringify(peerAllowedCn)}`);
  const peerAllowedHost = raw.get('peer-cert-allowed-hostname') ?? '';
  if (peerAllowedHost.includes(',')) throw new ConfigError(`${n('peer-cert-allowed-hostname')} takes one host name in this version of cairn, got ${JSON.stringify(peerAllowedHost)}`);
  return {
    name,
    dataDir: raw.get('data-dir') ?? `${name}.cairn`,
    listenClientUrls,
    listenMetricsUrls: raw.has('listen-metrics-urls') ? parseUrls(n, 'listen-metrics-urls', raw.get('listen-metrics-urls')!, tls?.certFile !== undefined) : [],
    advertiseClientUrls,
    listenPeerUrls,
    initialAdvertisePeerUrls,
    initialCluster,
    discovery,
    initialClusterToken: get('initial-cluster-token')!,
    initialClusterState: state,
    maxRequestBytes: parseInt10(n, 'max-request-bytes', get('max-request-bytes')!),
    maxTxnOps,
    maxTxnCompareKeys: positiveInt(n, 'max-txn-compare-keys', get('max-txn-compare-keys')!),
    clientHandshakeTimeoutMs: positiveInt(n, 'client-handshake-timeout', get('client-handshake-timeout')!),
    maxClientConnections: parseInt10(n, 'max-client-connections', get('max-client-connections')!),
    clientUnsentSoftBytes,
    clientUnsentHardBytes,
    ...logSettings(n, get),
    heartbeatIntervalMs,
    electionTimeoutMs,
    snapshotCount: parseInt10(n, 'snapshot-count', get('snapshot-count')!),
    quotaBackendBytes: parseInt10(n, 'quota-backend-bytes', get('quota-backend-bytes')!),
    ...autoCompactionSettings(n, get('auto-compaction-mode')!, get('auto-compaction-retention')!, get('auto-compaction-check-interval')!),
    rocksdbBlockCacheBytes,
    rocksdbMemtableBudgetBytes,
    authTokenTtlSeconds: positiveInt(n, 'auth-token-ttl', get('auth-token-ttl')!),
    authLoginFreeFailures: positiveInt(n, 'auth-login-free-failures', get('auth-login-free-failures')!),
    authLoginMaxDelayMs: positiveInt(n, 'auth-login-max-delay', get('auth-login-max-delay')!),
    cors: corsSetting(n, get('cors')!),
    disableConsole: parseBool(n, 'disable-console', get('disable-console')!),
    experimentalInitialCorruptCheck: parseBool(n, 'experimental-initial-corrupt-check', get('experimental-initial-corrupt-check')!),
    experimentalCorruptCheckTimeMs: parseDurationMs('experimental-corrupt-check-time', get('experimental-corrupt-check-time')!),
    tls,
    peerTls,
    peerSecretFile: peerSecretFile(n, raw),
  };
}

/** etcd's logging flags: --log-level, --log-format, --log-outputs and --logger. */
function logSettings(n: SettingName, get: (key: string) => string | undefined): Pick<DaemonConfig, 'logLevel' | 'logFormat' | 'logOutputs'> {
  const level = get('log-level')!;
  if (!['debug', 'info', 'warn', 'error', 'panic', 'fatal'].includes(level)) {
    throw new ConfigError(`${n('log-level')} must be debug, info, warn, error, panic or fatal, got ${JSON.stringify(level)}`);
  }
  const format = get('log-format')!;
  if (format !== 'json' && format !== 'console') throw new ConfigError(`${n('log-format')} must be json or console, got ${JSON.stringify(format)}`);
  const logger = get('logger')!;
  if (logger !== 'zap') throw new ConfigError(`${n('logger')} must be zap (structured logs; etcd 3.5 removed capnslog), got ${JSON.stringify(logger)}`);
  const outputs = get('log-outputs')!.split(',').map((o) => o.trim()).filter((o) => o !== '');
  if (outputs.length === 0) throw new ConfigError(`${n('log-outputs')} is empty`);
  return {
    logLevel: level === 'panic' ? 'fatal' : (level as DaemonConfig['logLevel']),
    logFormat: format,
    logOutputs: [...new Set(outputs.map((o) => (o === 'default' ? 'stdout' : o)))],
  };
}

/** The auto-compaction flags, checked here so that a bad value fails like every other flag. */
function autoCompactionSettings(n: SettingName, mode: string, retention: string, interval: string): Pick<DaemonConfig, 'autoCompactionMode' | 'autoCompactionRetention' | 'autoCompactionCheckIntervalMs'> {
  try {
    parseAutoCompaction(mode, retention);
  } catch (err) {
    if (err instanceof AutoCompactionError) throw new ConfigError(namedLeadingKey(n, err.message));
    throw err;
  }
  const ms = parseDurationMs('auto-compaction-check-interval', interval, n);
  if (ms === 0) throw new ConfigError(`${n('auto-compaction-check-interval')} must be more than 0`);
  return { autoCompactionMode: mode, autoCompactionRetention: retention, autoCompactionCheckIntervalMs: ms };
}

/** `--cors`: '*' or http(s) origins, comma-separated. */
function corsSetting(n: SettingName, text: string): string[] {
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
      throw new ConfigError(`${n('cors')}: ${JSON.stringify(o)} is not an origin like https://console.example.com (or '*')`);
    }
  }
  return list;
}

function peerSecretFile(n: SettingName, raw: Map<string, string>): string | undefined {
  const path = raw.get('peer-secret-file');
  if (path === undefined || path === '') return undefined;
  if (!existsSync(path)) throw new ConfigError(`${n('peer-secret-file')}: ${path} does not exist`);
  return path;
}

/** `--discovery`: a well-formed token URL, and the only way this member bootstraps. */
function discoverySetting(n: SettingName, raw: Map<string, string>): string | undefined {
  const url = raw.get('discovery');
  if (url === undefined || url === '') return undefined;
  if (raw.has('initial-cluster')) {
    throw new ConfigError(`${n('discovery')} and ${n('initial-cluster')} are both set: choose one way to bootstrap the cluster`);
  }
  if (raw.get('initial-cluster-state') === 'existing') {
    throw new ConfigError(`${n('discovery')} bootstraps a new cluster (${n('initial-cluster-state')}=new); to add a member to a running cluster use cairnctl member add`);
  }
  try {
    parseDiscoveryUrl(url);
  } catch (err) {
    throw new ConfigError(`${n('discovery')}: ${(err as Error).message}`);
  }
  return url;
}

function positiveInt(n: SettingName, key: string, value: string): number {
  const v = parseInt10(n, key, value);
  if (v === 0) throw new ConfigError(`${n(key)} must be at least 1`);
  return v;
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go-style duration (`500ms`, `30s`, `5m`, `1h30m`; a bare `0` too), in whole milliseconds. */
export function parseDurationMs(key: string, value: string, n: SettingName = flagName): number {
  const text = value.trim();
  if (text === '0') return 0;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new ConfigError(`${n(key)} must be a duration like 30s, 5m or 1h (0s: off), got ${JSON.stringify(value)}`);
  }
  const ms = Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * DURATION_UNITS_MS[p[2]!]!, 0));
  if (!Number.isSafeInteger(ms)) throw new ConfigError(`${n(key)} is too large: ${JSON.stringify(value)}`);
  return ms;
}

function parseBool(n: SettingName, key: string, value: string): boolean {
  if (/^(true|1|t)$/i.test(value)) return true;
  if (/^(false|0|f)$/i.test(value)) return false;
  throw new ConfigError(`${n(key)} must be true or false, got ${JSON.stringify(value)}`);
}

/** --cert-file ... or --peer-cert-file ...: undefined when none is set. */
function tlsSettings(n: SettingName, raw: Map<string, string>, prefix: '' | 'peer-'): TlsSettings | undefined {
  const file = (k: string): string | undefined => {
    const v = raw.get(`${prefix}${k}`);
    return v === undefined || v === '' ? undefined : v;
  };
  const certFile = file('cert-file');
  const keyFile = file('key-file');
  const trustedCaFile = file('trusted-ca-file');
  const auth = raw.get(`${prefix}client-cert-auth`);
  const clientCertAuth = auth === undefined ? false : parseBool(n, `${prefix}client-cert-auth`, auth);
  const allowedCn = prefix === 'peer-' ? file('cert-allowed-cn') : undefined;
  const allowedHostname = prefix === 'peer-' ? file('cert-allowed-hostname') : undefined;
  if (certFile === undefined && keyFile === undefined && trustedCaFile === undefined && !clientCertAuth && allowedCn === undefined && allowedHostname === undefined) return undefined;
  if ((allowedCn !== undefined || allowedHostname !== undefined) && !clientCertAuth) {
    throw new ConfigError(`${n('peer-cert-allowed-cn')} and ${n('peer-cert-allowed-hostname')} check peer certificates: they need ${n('peer-client-cert-auth')}`);
  }
  if (certFile === undefined || keyFile === undefined) throw new ConfigError(`${n(`${prefix}cert-file`)} and ${n(`${prefix}key-file`)} must be given together`);
  if (clientCertAuth && trustedCaFile === undefined) throw new ConfigError(`${n(`${prefix}client-cert-auth`)} needs ${n(`${prefix}trusted-ca-file`)}`);
  for (const [k, path] of [['cert-file', certFile], ['key-file', keyFile], ['trusted-ca-file', trustedCaFile]] as const) {
    if (path !== undefined && !existsSync(path)) throw new ConfigError(`${n(`${prefix}${k}`)}: ${path} does not exist`);
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

