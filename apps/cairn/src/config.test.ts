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
    expect(run([]).rocksdbMemtableBudgetBytes).toBe(32 * 1024 * 1024);
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

describe('etcd configuration as it is', () => {
  const load = (argv: string[], env: Record<string, string> = {}) => {
    const p = loadConfig(argv, env);
    if (p.kind !== 'run') throw new Error('expected a run config');
    return p;
  };
  const yaml = (name: string, lines: string[]) => {
    const file = join(dir, name);
    writeFileSync(file, lines.join('\n'));
    return file;
  };

  it('takes every ETCD_* variable as an alias of its CAIRN_* one; CAIRN_* wins', () => {
    const c = run([], { ETCD_NAME: 'infra0', ETCD_INITIAL_CLUSTER: 'infra0=http://127.0.0.1:2380', ETCD_SNAPSHOT_COUNT: '500' });
    expect(c).toMatchObject({ name: 'infra0', snapshotCount: 500 });
    expect(run([], { ETCD_NAME: 'etcd-name', CAIRN_NAME: 'cairn-name', CAIRN_INITIAL_CLUSTER: 'cairn-name=http://127.0.0.1:2380' }).name).toBe('cairn-name');
    expect(run(['--name=flag'], { ETCD_NAME: 'env' }).name).toBe('flag');
    const file = yaml('from-etcd-env.yml', ['name: from-file']);
    expect(run([], { ETCD_CONFIG_FILE: file }).name).toBe('from-file');
  });

  it('ignores etcd-only ETCD_* variables with one warning, and warns about unrecognized ones', () => {
    const p = load([], { ETCD_ENABLE_V2: 'true', ETCD_WAL_DIR: '/wal', ETCD_NO_SUCH_THING: 'x', ETCDCTL_API: '3' });
    expect(p.warnings).toEqual([
      'unrecognized environment variables, ignored: ETCD_NO_SUCH_THING',
      'etcd settings this version of cairn does not implement, ignored: ETCD_ENABLE_V2, ETCD_WAL_DIR',
    ]);
    expect(load([]).warnings).toEqual([]);
  });

  it("loads etcd's config file unchanged: TLS blocks mapped, etcd-only keys listed in one warning", () => {
    const pem = join(dir, 'etcd.pem');
    writeFileSync(pem, 'x');
    const file = yaml('etcd.conf.yml', [
      "name: 'infra1'",
      'data-dir:',
      'wal-dir:',
      'snapshot-count: 10000',
      'heartbeat-interval: 100',
      'election-timeout: 1000',
      'listen-peer-urls: https://127.0.0.1:12380',
      'listen-client-urls: https://127.0.0.1:12379',
      'max-snapshots: 5',
      'max-wals: 5',
      'initial-advertise-peer-urls: https://127.0.0.1:12380',
      'initial-cluster: infra1=https://127.0.0.1:12380',
      "initial-cluster-state: 'new'",
      'strict-reconfig-check: false',
      'enable-v2: true',
      'enable-pprof: true',
      "proxy: 'off'",
      "discovery-fallback: 'proxy'",
      'client-transport-security:',
      `  cert-file: ${pem}`,
      `  key-file: ${pem}`,
      '  client-cert-auth: true',
      `  trusted-ca-file: ${pem}`,
      '  auto-tls: false',
      'peer-transport-security:',
      `  cert-file: ${pem}`,
      `  key-file: ${pem}`,
      '  client-cert-auth: true',
      `  trusted-ca-file: ${pem}`,
      '  auto-tls: false',
      '  allowed-cn: peer.example',
      'log-level: debug',
      'logger: zap',
      'log-outputs: [stderr]',
      'auto-compaction-mode: periodic',
      'auto-compaction-retention: "1"',
      'tls-min-version: TLS1.2',
    ]);
    const p = load([`--config-file=${file}`]);
    expect(p.config).toMatchObject({
      name: 'infra1',
      dataDir: 'infra1.cairn',
      tls: { certFile: pem, keyFile: pem, trustedCaFile: pem, clientCertAuth: true },
      peerTls: { certFile: pem, keyFile: pem, trustedCaFile: pem, clientCertAuth: true, allowedCn: 'peer.example' },
      logLevel: 'debug',
      logOutputs: ['stderr'],
      autoCompactionRetention: '1',
    });
    expect(p.warnings).toEqual([
      'etcd settings this version of cairn does not implement, ignored: max-snapshots, max-wals, strict-reconfig-check, enable-v2, enable-pprof, proxy, discovery-fallback, client-transport-security.auto-tls, peer-transport-security.auto-tls, tls-min-version',
    ]);
  });

  it("loads etcd's published sample file (no TLS, cipher suites listed)", () => {
    const file = yaml('sample.yml', [
      "name: 'default'",
      'data-dir:',
      'quota-backend-bytes: 0',
      'listen-peer-urls: http://localhost:2380',
      'listen-client-urls: http://localhost:2379',
      'cors:',
      'initial-advertise-peer-urls: http://localhost:2380',
      'advertise-client-urls: http://localhost:2379',
      'discovery:',
      'discovery-proxy:',
      'discovery-srv:',
      'initial-cluster:',
      "initial-cluster-token: 'etcd-cluster'",
      'proxy-failure-wait: 5000',
      'client-transport-security:',
      '  cert-file:',
      '  client-cert-auth: false',
      'self-signed-cert-validity: 1',
      'force-new-cluster: false',
      'cipher-suites: [',
      '  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,',
      '  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
      ']',
      "tls-max-version: 'TLS1.3'",
    ]);
    const p = load([`--config-file=${file}`]);
    expect(p.config.initialClusterToken).toBe('etcd-cluster');
    expect(p.config.tls).toBeUndefined();
    expect(p.warnings[0]).toBe('etcd settings this version of cairn does not implement, ignored: proxy-failure-wait, self-signed-cert-validity, force-new-cluster, cipher-suites, tls-max-version');
  });

  it('refuses etcd settings whose meaning it cannot honour, and keys no one knows, naming them', () => {
    const bad: [string[], string][] = [
      [['force-new-cluster: true'], "key 'force-new-cluster': force-new-cluster (rewrite the membership to this member alone) is not supported"],
      [["proxy: 'on'"], "key 'proxy': proxy mode is not supported (only 'off')"],
      [['discovery-srv: example.com'], "key 'discovery-srv': DNS discovery (discovery-srv) is not supported"],
      [['client-transport-security:', '  auto-tls: true'], "key 'client-transport-security.auto-tls': auto-tls (self-signed client certificates) is not supported"],
      [['peer-transport-security:', '  auto-tls: true'], "key 'peer-transport-security.auto-tls': peer-auto-tls"],
      [['client-transport-security:', '  allowed-cn: x'], "key 'client-transport-security.allowed-cn': client-transport-security.allowed-cn is not supported"],
      [['client-transport-security:', '  ca-file: /ca.pem'], "key 'client-transport-security.ca-file': client-transport-security.ca-file (etcd 3.3) is not supported: use trusted-ca-file and client-cert-auth: true"],
      [['client-transport-security:', '  cert-fiel: /x'], 'unknown key "client-transport-security.cert-fiel"'],
      [['host-whitelist: example.com'], "key 'host-whitelist': host-whitelist is not supported"],
      [['snapshot-cuont: 5'], 'unknown key "snapshot-cuont" (did you mean "snapshot-count"?)'],
      [['heartbeat-interval: abc'], `key 'heartbeat-interval' must be a non-negative integer, got "abc"`],
      [['heartbeat-interval: 100', 'election-timeout: 200'], "key 'election-timeout' must be at least 5 times key 'heartbeat-interval'"],
      [['client-cert-auth: yes'], `key 'client-cert-auth' must be true or false, got "yes"`],
      [['name: {a: 1}'], "key 'name' must be a plain value, got a map"],
      [['cert-file: /a', 'client-transport-security:', '  cert-file: /b'], "keys 'cert-file' and 'client-transport-security.cert-file' both set cert-file"],
      [['log-level: loud'], "key 'log-level' must be debug, info, warn, error, panic or fatal"],
      [['logger: capnslog'], "key 'logger' must be zap"],
    ];
    for (const [lines, msg] of bad) {
      const file = yaml('refused.yml', lines);
      expect(() => run([`--config-file=${file}`]), lines.join(' ')).toThrow(ConfigError);
      expect(() => run([`--config-file=${file}`]), lines.join(' ')).toThrow(`config file ${file}: ${msg}`);
    }
    // TLS restrictions matter only where TLS is used.
    const pem = join(dir, 'cs.pem');
    writeFileSync(pem, 'x');
    const tls = yaml('cs.yml', ['cipher-suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]', `cert-file: ${pem}`, `key-file: ${pem}`]);
    expect(() => run([`--config-file=${tls}`])).toThrow(`config file ${tls}: key 'cipher-suites': cipher-suites cannot be restricted`);
  });

  it("ignores etcd's flags it does not implement with one warning, refuses the dangerous ones", () => {
    const p = load(['--enable-v2', '--wal-dir', '/wal', '--strict-reconfig-check=false', '--name=n1', '--logger', 'zap']);
    expect(p.config.name).toBe('n1');
    expect(p.warnings).toEqual(['etcd settings this version of cairn does not implement, ignored: --enable-v2, --wal-dir, --strict-reconfig-check']);
    expect(() => run(['--force-new-cluster'])).toThrow('--force-new-cluster: force-new-cluster (rewrite the membership to this member alone) is not supported');
    expect(() => run(['--peer-auto-tls'])).toThrow(/--peer-auto-tls: peer-auto-tls .* is not supported/);
    expect(() => run(['--client-crl-file=/crl.pem'])).toThrow(/--client-crl-file: certificate revocation lists/);
    expect(() => run([], { ETCD_FORCE_NEW_CLUSTER: 'true' })).toThrow(/^ETCD_FORCE_NEW_CLUSTER: force-new-cluster/);
    expect(() => run(['--enable-v3'])).toThrow('unknown flag --enable-v3 (did you mean --enable-v2?)');
  });

  it('names an environment variable in an error about its value', () => {
    expect(() => run([], { ETCD_HEARTBEAT_INTERVAL: 'abc' })).toThrow('ETCD_HEARTBEAT_INTERVAL must be a non-negative integer, got "abc"');
    expect(() => run([], { CAIRN_MAX_TXN_OPS: '0' })).toThrow('CAIRN_MAX_TXN_OPS must be at least 1');
  });

  it('warns that flags and variables beside --config-file are ignored, as etcd does', () => {
    const file = yaml('alone.yml', ['name: from-file']);
    const p = load([`--config-file=${file}`, '--name=flag', '--enable-v2'], { CAIRN_SNAPSHOT_COUNT: '5', ETCD_NAME: 'env', PATH: '/bin' });
    expect(p.config.name).toBe('from-file');
    expect(p.warnings).toEqual([`config file ${file} is given, so these flags and environment variables are ignored (as etcd does): --name, --enable-v2, CAIRN_SNAPSHOT_COUNT, ETCD_NAME`]);
  });

  it("takes etcd's logging flags", () => {
    expect(run([])).toMatchObject({ logLevel: 'info', logFormat: 'json', logOutputs: ['stdout'] });
    expect(run(['--log-level=panic', '--log-format=console', '--log-outputs=stderr,/tmp/x.log,stderr'])).toMatchObject({
      logLevel: 'fatal',
      logFormat: 'console',
      logOutputs: ['stderr', '/tmp/x.log'],
    });
    for (const level of ['debug', 'info', 'warn', 'error', 'fatal']) expect(run([`--log-level=${level}`]).logLevel).toBe(level);
    expect(() => run(['--log-format=text'])).toThrow('--log-format must be json or console, got "text"');
    expect(() => run(['--logger=capnslog'])).toThrow(/--logger must be zap/);
  });
});
