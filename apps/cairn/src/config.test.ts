import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDurationMs, parseInitialCluster } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'cairn-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (argv: string[], env: Record<string, string> = {}) => {
  const p = loadConfig(argv, env);
  if (p.kind !== 'run') throw new Error('expected a run config');
  return p.config;
};

describe('daemon config', () => {
  it('takes the corruption-check flags with etcd names, off by default', () => {
    expect(run([])).toMatchObject({ experimentalInitialCorruptCheck: false, experimentalCorruptCheckTimeMs: 0 });
    const c = run(['--experimental-initial-corrupt-check', '--experimental-corrupt-check-time=5m']);
    expect(c).toMatchObject({ experimentalInitialCorruptCheck: true, experimentalCorruptCheckTimeMs: 300_000 });
    expect(run([], { CAIRN_EXPERIMENTAL_CORRUPT_CHECK_TIME: '1m30s' }).experimentalCorruptCheckTimeMs).toBe(90_000);
    expect(parseDurationMs('x', '500ms')).toBe(500);
    expect(parseDurationMs('x', '0')).toBe(0);
    expect(() => run(['--experimental-corrupt-check-time=5'])).toThrow(/duration like 30s/);
    expect(() => run(['--experimental-corrupt-check-time=5m junk'])).toThrow(ConfigError);
  });

  it('defaults to the embedded single member', () => {
    const c = run([]);
    expect(c.name).toBe('default');
    expect(c.dataDir).toBe('default.cairn');
    expect(c.listenClientUrls).toEqual(['http://127.0.0.1:2379']);
    expect(c.listenPeerUrls).toEqual(['http://127.0.0.1:2380']);
    expect([...c.initialCluster]).toEqual([['default', ['http://127.0.0.1:2380']]]);
    expect(c.initialClusterState).toBe('new');
  });

  it('has documented defaults for the client-port bounds and checks them', () => {
    const c = run([]);
    expect(c).toMatchObject({
      maxTxnCompareKeys: 10_000,
      clientHandshakeTimeoutMs: 10_000,
      maxClientConnections: 0,
      clientUnsentSoftBytes: 16 * 1024 * 1024,
      clientUnsentHardBytes: 64 * 1024 * 1024,
    });
    expect(run(['--max-client-connections=5', '--client-handshake-timeout=500'])).toMatchObject({ maxClientConnections: 5, clientHandshakeTimeoutMs: 500 });
    expect(run([], { CAIRN_MAX_TXN_COMPARE_KEYS: '500' }).maxTxnCompareKeys).toBe(500);
    expect(() => run(['--client-unsent-soft-bytes=100', '--client-unsent-hard-bytes=10'])).toThrow(/--client-unsent-hard-bytes must be at least --client-unsent-soft-bytes/);
    expect(() => run(['--client-handshake-timeout=0'])).toThrow(ConfigError);
    expect(() => run(['--max-txn-compare-keys=0'])).toThrow(/at least 1/);
  });

  it('reads the walkthrough YAML file verbatim', () => {
    const file = join(dir, 'node1.yaml');
    writeFileSync(
      file,
      [
        'name: node1',
        'data-dir: ./node1.cairn',
        'listen-peer-urls: http://127.0.0.1:2380',
        'listen-client-urls: http://127.0.0.1:2379',
        'initial-advertise-peer-urls: http://127.0.0.1:2380',
        'advertise-client-urls: http://127.0.0.1:2379',
        'initial-cluster: node1=http://127.0.0.1:2380,node2=http://127.0.0.1:3380,node3=http://127.0.0.1:4380',
        'initial-cluster-token: local-cairn-cluster',
        'initial-cluster-state: new',
      ].join('\n'),
    );
    const c = run([`--config-file=${file}`]);
    expect(c.name).toBe('node1');
    expect(c.dataDir).toBe('./node1.cairn');
    expect(c.initialCluster.size).toBe(3);
    expect(c.initialCluster.get('node3')).toEqual(['http://127.0.0.1:4380']);
    expect(c.initialClusterToken).toBe('local-cairn-cluster');
  });

  it('takes flags in both --k=v and --k v forms, and flags over environment', () => {
    const c = run(['--name', 'a', '--data-dir=/x', '--listen-client-urls=http://127.0.0.1:5000'], {
      CAIRN_NAME: 'ignored',
      CAIRN_MAX_TXN_OPS: '7',
    });
    expect(c.name).toBe('a');
    expect(c.dataDir).toBe('/x');
    expect(c.maxTxnOps).toBe(7);
    expect(c.listenClientUrls).toEqual(['http://127.0.0.1:5000']);
  });

  it('refuses with a clear message what it cannot honour', () => {
    const bad: [string[], RegExp][] = [
      [['--nmae=x'], /unknown flag --nmae/],
      [['--listen-client-urls=localhost'], /not a URL/],
      [['--listen-client-urls=http://127.0.0.1'], /a port is required/],
      [['--initial-cluster=other=http://127.0.0.1:2380'], /no member named "default"/],
      [['--initial-cluster-state=maybe'], /must be 'new' or 'existing'/],
      [['--cert-file=x.pem'], /--cert-file and --key-file must be given together/],
      [['--cert-file=/no/such.pem', '--key-file=/no/such.key'], /does not exist/],
      [['--listen-client-urls=https://127.0.0.1:2379'], /https needs --cert-file/],
      [['--client-cert-auth', '--cert-file=x', '--key-file=y'], /needs --trusted-ca-file/],
      [['--auth-token-ttl=0'], /at least 1/],
      [['--max-txn-ops=lots'], /non-negative integer/],
      [['--cors=ftp://x.example.com'], /--cors: "ftp:\/\/x.example.com" is not an origin/],
      [['--cors=evil'], /--cors: "evil" is not an origin/],
      [['--auth-login-max-delay=0'], /at least 1/],
      [['--auth-login-free-failures=0'], /at least 1/],
    ];
    expect(run(['--cors=http://a.example.com, *']).cors).toEqual(['http://a.example.com', '*']);
    expect(run([]).cors).toEqual([]);
    expect(run([], { CAIRN_CORS: 'https://b.example.com' }).cors).toEqual(['https://b.example.com']);
    for (const [argv, msg] of bad) expect(() => run(argv), argv.join(' ')).toThrow(msg);
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'name: x\nsnapshot-cuont: 5\n');
    expect(() => run([`--config-file=${file}`])).toThrow(ConfigError);
    expect(() => run([`--config-file=${file}`])).toThrow(/unknown key "snapshot-cuont"/);
  });

  it('takes --discovery instead of --initial-cluster', () => {
    const url = 'cairn://127.0.0.1:2379/discovery/a81b5818e67a6ea8';
    const c = run(['--name=machine-1', '--initial-advertise-peer-urls=http://127.0.0.1:12380', `--discovery=${url}`, '--initial-cluster-token=token-01']);
    expect(c.discovery).toBe(url);
    // Until resolveDiscovery replaces it: this member alone.
    expect([...c.initialCluster]).toEqual([['machine-1', ['http://127.0.0.1:12380']]]);
    expect(run([], { CAIRN_DISCOVERY: url }).discovery).toBe(url);
    expect(run([]).discovery).toBeUndefined();
    const bad: [string[], string][] = [
      [[`--discovery=${url}`, '--initial-cluster=default=http://127.0.0.1:2380'], '--discovery and --initial-cluster are both set: choose one way to bootstrap the cluster'],
      [[`--discovery=${url}`, '--initial-cluster-state=existing'], '--discovery bootstraps a new cluster (--initial-cluster-state=new); to add a member to a running cluster use cairnctl member add'],
      [['--discovery=http://127.0.0.1:2379/x'], '--discovery: invalid discovery URL "http://127.0.0.1:2379/x": not of the form (expected cairn://HOST:PORT/discovery/TOKEN)'],
      [['--discovery=cairn://127.0.0.1:2379/discovery/123'], '--discovery: invalid discovery URL "cairn://127.0.0.1:2379/discovery/123": the token must be 16 hex digits (expected cairn://HOST:PORT/discovery/TOKEN)'],
    ];
    for (const [argv, msg] of bad) {
      expect(() => run(argv), argv.join(' ')).toThrow(ConfigError);
      expect(() => run(argv), argv.join(' ')).toThrow(msg);
    }
  });

  it('parses initial-cluster with several URLs per name', () => {
    const m = parseInitialCluster('a=http://127.0.0.1:1,a=http://127.0.0.1:2,b=http://127.0.0.1:3');
    expect(m.get('a')).toEqual(['http://127.0.0.1:1', 'http://127.0.0.1:2']);
  });

  it('takes the RocksDB memory bounds and refuses bad ones with the flag and its range', () => {
    expect(run([]).rocksdbBlockCacheBytes).toBe(32 * 1024 * 1024);
    expect(run([]).rocksdbMemtableBudgetBytes).toBe(64 * 1024 * 1024);
    const c = run(['--rocksdb-block-cache-bytes=0', '--rocksdb-memtable-budget-bytes', String(16 << 20)]);
    expect(c.rocksdbBlockCacheBytes).toBe(0);
    expect(c.rocksdbMemtableBudgetBytes).toBe(16 << 20);
    expect(run([], { CAIRN_ROCKSDB_BLOCK_CACHE_BYTES: '1048576' }).rocksdbBlockCacheBytes).toBe(1048576);
    const bad: [string[], string][] = [
      [['--rocksdb-block-cache-bytes=-1'], '--rocksdb-block-cache-bytes must be a non-negative integer, got "-1"'],
      [['--rocksdb-block-cache-bytes=8GiB'], '--rocksdb-block-cache-bytes must be a non-negative integer, got "8GiB"'],
      [['--rocksdb-block-cache-bytes=4294967296'], '--rocksdb-block-cache-bytes must be an integer from 0 (no cache) to 4294967295, got 4294967296'],
      [['--rocksdb-memtable-budget-bytes=1024'], '--rocksdb-memtable-budget-bytes must be an integer from 4194304 (4 MiB) to 68719476736 (64 GiB), got 1024'],
    ];
    for (const [argv, msg] of bad) {
      expect(() => run(argv), argv.join(' ')).toThrow(ConfigError);
      expect(() => run(argv), argv.join(' ')).toThrow(msg);
    }
  });

  it('takes the peer secret file from --peer-secret-file or CAIRN_PEER_SECRET_FILE, and the allowed peer names', () => {
    const secret = join(dir, 'peer-secret');
    writeFileSync(secret, '0123456789abcdef0123456789abcdef\n');
    expect(run([]).peerSecretFile).toBeUndefined();
    expect(run([`--peer-secret-file=${secret}`]).peerSecretFile).toBe(secret);
    expect(run([], { CAIRN_PEER_SECRET_FILE: secret }).peerSecretFile).toBe(secret);
    expect(() => run([`--peer-secret-file=${join(dir, 'missing')}`])).toThrow(ConfigError);
    const pem = join(dir, 'p.pem');
    writeFileSync(pem, 'x');
    const tls = [`--peer-cert-file=${pem}`, `--peer-key-file=${pem}`, `--peer-trusted-ca-file=${pem}`, '--listen-peer-urls=https://127.0.0.1:2380'];
    const c = run([...tls, '--peer-client-cert-auth', '--peer-cert-allowed-cn=cairn-peer', '--peer-cert-allowed-hostname=node1.example']);
    expect(c.peerTls).toMatchObject({ clientCertAuth: true, allowedCn: 'cairn-peer', allowedHostname: 'node1.example' });
    expect(() => run([...tls, '--peer-cert-allowed-cn=cairn-peer'])).toThrow(/need --peer-client-cert-auth/);
  });
});
