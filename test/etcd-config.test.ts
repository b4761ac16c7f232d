/**
 * etcd's configuration as it is: a three-member cluster over peer TLS where one member starts
 * from an etcd-style YAML file (client-transport-security and peer-transport-security blocks,
 * etcd-only keys), one from ETCD_* variables alone and one from flags (one of them etcd-only).
 * They form one cluster and serve a put and a get; the ignored settings are named in one
 * warning line; raft's events are log fields.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pkiForTests } from './support/certs.js';
import { ctl, freePort, Member } from './support/process.js';

/** A member configured only by its environment: no flag at all. */
class EnvOnlyMember extends Member {
  override args(): string[] {
    return [];
  }
}

/** The JSON log lines of a member's output (console lines and others are skipped). */
function jsonLines(log: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by the end of the buffer
    }
  }
  return out;
}

const certs = pkiForTests('cairn-etcdconf-');

describe("etcd's configuration as it is", () => {
  it('forms a cluster from an etcd YAML file, ETCD_* variables and flags, and serves a put and a get', async () => {
    const peer = certs.pki.peer('peer');
    const [ca, cb, cc, pa, pb, pc] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
    const cluster = `a=https://127.0.0.1:${pa},b=https://127.0.0.1:${pb},c=https://127.0.0.1:${pc}`;
    const token = 'etcd-config-e2e';
    const file = join(certs.pki.dir, 'a.etcd.conf.yml');
    writeFileSync(
      file,
      [
        '# etcd.conf.yml as an etcd operator writes it',
        "name: 'a'",
        `data-dir: ${join(certs.pki.dir, 'a.etcd')}`,
        'wal-dir:',
        'snapshot-count: 10000',
        'heartbeat-interval: 100',
        'election-timeout: 1000',
        `listen-peer-urls: https://127.0.0.1:${pa}`,
        `listen-client-urls: https://127.0.0.1:${ca}`,
        'max-snapshots: 5',
        'max-wals: 5',
        `initial-advertise-peer-urls: https://127.0.0.1:${pa}`,
        `advertise-client-urls: https://127.0.0.1:${ca}`,
        `initial-cluster: ${cluster}`,
        `initial-cluster-token: '${token}'`,
        "initial-cluster-state: 'new'",
        'strict-reconfig-check: true',
        'enable-v2: true',
        'client-transport-security:',
        `  cert-file: ${certs.pki.serverCert}`,
        `  key-file: ${certs.pki.serverKey}`,
        '  client-cert-auth: false',
        '  trusted-ca-file:',
        '  auto-tls: false',
        'peer-transport-security:',
        `  cert-file: ${peer.cert}`,
        `  key-file: ${peer.key}`,
        '  client-cert-auth: true',
        `  trusted-ca-file: ${certs.pki.caCert}`,
        '  auto-tls: false',
        '  allowed-cn: peer',
        'logger: zap',
        'log-outputs: [stderr]',
        'log-level: info',
      ].join('\n'),
    );
    const a = new Member({ name: 'a', dataDir: '', clientPort: ca, peerPort: pa, configFile: file, tls: { ca: certs.pki.read(certs.pki.caCert) } });
    const b = new EnvOnlyMember({
      name: 'b',
      dataDir: '',
      clientPort: cb,
      peerPort: pb,
      env: {
        ETCD_NAME: 'b',
        ETCD_DATA_DIR: join(certs.pki.dir, 'b.etcd'),
        ETCD_LISTEN_CLIENT_URLS: `http://127.0.0.1:${cb}`,
        ETCD_LISTEN_PEER_URLS: `https://127.0.0.1:${pb}`,
        ETCD_INITIAL_ADVERTISE_PEER_URLS: `https://127.0.0.1:${pb}`,
        ETCD_INITIAL_CLUSTER: cluster,
        ETCD_INITIAL_CLUSTER_TOKEN: token,
        ETCD_INITIAL_CLUSTER_STATE: 'new',
        ETCD_PEER_CERT_FILE: peer.cert,
        ETCD_PEER_KEY_FILE: peer.key,
        ETCD_PEER_TRUSTED_CA_FILE: certs.pki.caCert,
        ETCD_PEER_CLIENT_CERT_AUTH: 'true',
        ETCD_ENABLE_V2: 'true',
        ETCD_LOG_FORMAT: 'console',
      },
    });
    const c = new Member({
      name: 'c',
      dataDir: join(certs.pki.dir, 'c.etcd'),
      clientPort: cc,
      peerPort: pc,
      extraArgs: [
        `--listen-peer-urls=https://127.0.0.1:${pc}`,
        `--initial-advertise-peer-urls=https://127.0.0.1:${pc}`,
        `--initial-cluster=${cluster}`,
        `--initial-cluster-token=${token}`,
        `--peer-cert-file=${peer.cert}`,
        `--peer-key-file=${peer.key}`,
        `--peer-trusted-ca-file=${certs.pki.caCert}`,
        '--peer-client-cert-auth',
        '--peer-cert-allowed-cn=peer',
        '--strict-reconfig-check',
        '--logger=zap',
      ],
    });
    const members = [a, b, c];
    try {
      await Promise.all(members.map((m) => m.start(60_000)));
      expect(await ctl([`--endpoints=${c.endpoint}`, 'put', 'migrated', 'from-etcd'])).toEqual({ code: 0, stdout: 'OK\n', stderr: '' });
      const viaA = await ctl([`--endpoints=https://${a.endpoint}`, `--cacert=${certs.pki.caCert}`, 'get', 'migrated']);
      expect(viaA).toEqual({ code: 0, stdout: 'migrated\nfrom-etcd\n', stderr: '' });
      expect(await ctl([`--endpoints=${b.endpoint}`, 'get', 'migrated'])).toEqual({ code: 0, stdout: 'migrated\nfrom-etcd\n', stderr: '' });
      const list = await ctl([`--endpoints=${b.endpoint}`, 'member', 'list']);
      expect(list.code).toBe(0);
      expect(list.stdout.trim().split('\n')).toHaveLength(3);

      // One warning line each, naming what was ignored the way it was written.
      const warnedA = jsonLines(a.log).filter((l) => l['level'] === 40 && String(l['msg']).startsWith('etcd settings this version of cairn does not implement'));
      expect(warnedA.map((l) => l['msg'])).toEqual([
        'etcd settings this version of cairn does not implement, ignored: max-snapshots, max-wals, strict-reconfig-check, enable-v2, client-transport-security.auto-tls, peer-transport-security.auto-tls',
      ]);
      expect(b.log).toMatch(/^\S+Z WARN {2}etcd settings this version of cairn does not implement, ignored: ETCD_ENABLE_V2 member=b$/m);
      const warnedC = jsonLines(c.log).filter((l) => l['level'] === 40 && String(l['msg']).includes('ignored: --strict-reconfig-check'));
      expect(warnedC).toHaveLength(1);

      // Raft's events are fields, not formatted strings.
      for (const m of [a, c]) {
        const raft = jsonLines(m.log).filter((l) => l['component'] === 'raft' && (l['msg'] === 'became leader' || l['msg'] === 'leader changed'));
        expect(raft.length, m.log.slice(-2000)).toBeGreaterThan(0);
        expect(typeof raft[0]!['term']).toBe('number');
        const raw = m.log.split('\n').filter((l) => l.includes('"component":"raft"'));
        expect(raw.filter((l) => l.split('"component"').length !== 2)).toEqual([]);
      }
      expect(b.log).toMatch(/ INFO {2}(became leader|leader changed) .*component=raft/);
    } finally {
      await Promise.all(members.map((m) => m.stop().catch(() => m.kill())));
    }
  }, 120_000);
});
