/**
 * Real etcdctl 3.4 against Cairn's etcd gRPC API, each command's output compared with what a
 * real etcd prints for the same command (ids, revisions and the cluster's identity aside).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cairnBesideEtcd, etcdctl, etcdToolsMissing, RunningEtcdctl } from './support/etcd.js';
import { waitFor } from './support/process.js';

const missing = etcdToolsMissing(['etcdctl', 'etcd']);
if (missing !== undefined) console.warn(`etcdctl.test.ts skipped: ${missing}`);

/** Hides what differs between two servers by nature: ids, revisions, versions, sizes, terms. */
function normalise(s: string): string {
  return s
    .replace(/"(cluster_id|member_id|revision|raft_term|create_revision|mod_revision|ID|id)":\d+/g, '"$1":N')
    .replace(/\b[0-9a-f]{12,16}\b/g, 'ID')
    .replace(/\{"level":"warn".*\n/g, '');
}

describe.skipIf(missing !== undefined)('etcdctl against Cairn, compared with real etcd', () => {
  let cairn: string;
  let etcd: string;
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const both = await cairnBesideEtcd(true);
    ({ cairn, stop } = both);
    etcd = both.etcd!;
  }, 60_000);
  afterAll(async () => {
    await stop?.();
  });

  /** Runs the same command on both; expects the same exit code and normalised output. */
  async function same(args: string[], stdin?: string): Promise<string> {
    const [a, b] = await Promise.all([etcdctl(cairn, args, stdin !== undefined ? { stdin } : {}), etcdctl(etcd, args, stdin !== undefined ? { stdin } : {})]);
    expect({ code: a.code, out: normalise(a.stdout), err: normalise(a.stderr) }, `etcdctl ${args.join(' ')}`).toEqual({
      code: b.code,
      out: normalise(b.stdout),
      err: normalise(b.stderr),
    });
    return a.stdout;
  }

  it('put, get, -w json, prefix get and del, txn -i piped', async () => {
    await same(['put', 'foo', 'bar']);
    await same(['get', 'foo']);
    await same(['get', 'foo', '-w', 'json']);
    await same(['put', '/p/a', '1']);
    await same(['put', '/p/b', '2']);
    await same(['get', '/p', '--prefix']);
    await same(['get', '/p', '--prefix', '--keys-only']);
    await same(['txn', '-i'], 'value("/p/a") = "1"\n\nput /p/c 3\n\nput /p/c 4\n\n');
    await same(['txn', '-i'], 'value("/p/a") = "9"\n\nput /p/c 3\n\nget /p/c\n\n');
    await same(['del', '/p', '--prefix']);
    await same(['get', '/p', '--prefix', '-w', 'json']);
    await same(['get', 'missing']);
  });

  it('lease steps: grant, put --lease, timetolive --keys, keep-alive --once, revoke', async () => {
    const ids: Record<string, string> = {};
    for (const [name, ep] of [['cairn', cairn], ['etcd', etcd]] as const) {
      const g = await etcdctl(ep, ['lease', 'grant', '100']);
      expect(g.stdout).toMatch(/^lease [0-9a-f]+ granted with TTL\(100s\)\n$/);
      ids[name] = g.stdout.split(' ')[1]!;
    }
    const both = async (args: (id: string) => string[]): Promise<void> => {
      const [a, b] = await Promise.all([etcdctl(cairn, args(ids['cairn']!)), etcdctl(etcd, args(ids['etcd']!))]);
      expect(normalise(a.stdout).replace(/remaining\(\d+s\)/, 'remaining(Ns)')).toBe(normalise(b.stdout).replace(/remaining\(\d+s\)/, 'remaining(Ns)'));
      expect(a.code).toBe(b.code);
    };
    await both((id) => ['put', 'leased', 'v', `--lease=${id}`]);
    await both((id) => ['lease', 'timetolive', id, '--keys']);
    await both((id) => ['lease', 'keep-alive', '--once', id]);
    await both((id) => ['lease', 'revoke', id]);
    await both((id) => ['lease', 'timetolive', id]);
    await same(['get', 'leased']);
    // a lease that does not exist: etcd's words
    const gone = await etcdctl(cairn, ['lease', 'revoke', '1234']);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('etcdserver: requested lease not found');
  });

  it('watch sees a put and a delete', async () => {
    const w = new RunningEtcdctl(cairn, ['watch', 'w1']);
    try {
      // the watch is registered once etcdctl printed nothing yet but a put made after shows up
      await new Promise((r) => setTimeout(r, 500));
      for (let i = 0; i < 20 && !w.stdout.includes('PUT'); i++) {
        await etcdctl(cairn, ['put', 'w1', `v${i}`]);
        await new Promise((r) => setTimeout(r, 200));
      }
      await w.output('the put event', (o) => /PUT\nw1\nv\d+\n/.test(o));
      await etcdctl(cairn, ['del', 'w1']);
      await w.output('the delete event', (o) => o.includes('DELETE\nw1\n'));
    } finally {
      await w.stop();
    }
  });

  it('lock and elect', async () => {
    const lock = await etcdctl(cairn, ['lock', 'mylock', 'echo', 'held']);
    expect(lock).toMatchObject({ code: 0, stdout: 'held\n' });
    const elect = new RunningEtcdctl(cairn, ['elect', 'myelection', 'p1']);
    try {
      await elect.output('the campaign won', (o) => /^myelection\/[0-9a-f]+\np1\n/.test(o));
      // -l observes: it prints the leader, then every change, until stopped
      const observer = new RunningEtcdctl(cairn, ['elect', '-l', 'myelection']);
      try {
        await observer.output('the leader observed', (o) => /^myelection\/[0-9a-f]+\np1\n$/.test(o));
      } finally {
        await observer.stop();
      }
    } finally {
      await elect.stop();
    }
  });

  it('member list, add (learner) and remove; endpoint status and health', async () => {
    const list = await etcdctl(cairn, ['member', 'list']);
    expect(list.stdout).toMatch(/^[0-9a-f]+, started, default, http:\/\/127\.0\.0\.1:\d+, http:\/\/127\.0\.0\.1:\d+, false\n$/);
    const add = await etcdctl(cairn, ['member', 'add', 'm2', '--peer-urls=http://127.0.0.1:1', '--learner']);
    expect(add.code).toBe(0);
    const id = /Member +([0-9a-f]+) added/.exec(add.stdout)?.[1];
    expect(id, `stdout=${add.stdout} stderr=${add.stderr}`).toBeDefined();
    expect((await etcdctl(cairn, ['member', 'list'])).stdout).toContain(`${id}, unstarted, , http://127.0.0.1:1, , true`);
    expect((await etcdctl(cairn, ['member', 'remove', id!])).stdout).toMatch(new RegExp(`^Member +${id} removed from cluster +[0-9a-f]+\n$`));
    const status = await etcdctl(cairn, ['endpoint', 'status', '-w', 'table']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/\| 127\.0\.0\.1:\d+ \| +[0-9a-f]+ \| +[\d.]+ \| .* \| +true \| +false \|/);
    const health = await etcdctl(cairn, ['endpoint', 'health']);
    expect(health.code).toBe(0);
    expect(health.stdout + health.stderr).toMatch(/^127\.0\.0\.1:\d+ is healthy: successfully committed proposal: took = /);
  });

  it('users, roles, auth enable and --user, the same as etcd', async () => {
    await same(['user', 'add', 'root:rootpw']);
    await same(['role', 'add', 'app']);
    await same(['role', 'grant-permission', 'app', 'readwrite', '/app/', '--prefix=true']);
    await same(['user', 'add', 'alice:alicepw']);
    await same(['user', 'grant-role', 'alice', 'app']);
    await same(['role', 'get', 'app']);
    await same(['user', 'get', 'alice']);
    await same(['user', 'list']);
    await same(['role', 'list']);
    await same(['auth', 'enable']);
    await same(['--user=alice:alicepw', 'put', '/app/x', '1']);
    await same(['--user=alice:alicepw', 'get', '/app/x']);
    await same(['--user=alice:alicepw', 'put', '/other', '1']);
    await same(['--user=alice:wrong', 'get', '/app/x']);
    await same(['get', '/app/x']);
    await same(['--user=root:rootpw', 'auth', 'disable']);
  });
});

describe.skipIf(missing !== undefined)('etcdctl against a 3-member Cairn cluster from the YAML files', () => {
  it('lists the members, checks every endpoint, reads through any member, and shows one leader', async () => {
    const { TestCluster } = await import('./support/cluster.js');
    const cluster = await TestCluster.create({ size: 3 });
    try {
      await cluster.start();
      await cluster.leader();
      const eps = cluster.endpoints.join(',');
      const list = await etcdctl(eps, ['member', 'list', '-w', 'table']);
      expect(list.code).toBe(0);
      for (const name of ['node1', 'node2', 'node3']) expect(list.stdout).toMatch(new RegExp(`\\| started \\| ${name} \\| http://127\\.0\\.0\\.1:\\d+ \\| http://127\\.0\\.0\\.1:\\d+ \\| +false \\|`));
      const health = await etcdctl(eps, ['endpoint', 'health']);
      expect(health.code).toBe(0);
      expect((health.stdout + health.stderr).match(/is healthy: successfully committed proposal/g)).toHaveLength(3);
      expect(await etcdctl(cluster.endpoints[0]!, ['put', 'across', 'members'])).toMatchObject({ code: 0, stdout: 'OK\n' });
      for (const ep of cluster.endpoints) expect(await etcdctl(ep, ['get', 'across'])).toMatchObject({ code: 0, stdout: 'across\nmembers\n' });
      const status = await etcdctl(eps, ['endpoint', 'status', '-w', 'table']);
      expect(status.code).toBe(0);
      expect(status.stdout.match(/\| +true \| +false \|/g)).toHaveLength(1);
      expect(status.stdout.match(/\| +false \| +false \|/g)).toHaveLength(2);
      // --cluster asks every member at its advertised URL (http://...), as the :authority too.
      // (An id of fewer than 16 hex digits is padded: hence ' +' before it.)
      // It takes the URLs from the member list of the one member asked; each member publishes
      // its client URLs through the log, so a follower that has not applied them yet lists
      // that member without any (as etcd 3.4 does): wait until this one lists all three.
      await waitFor('member 0 to list every member with its client URL', async () => {
        const l = await etcdctl(cluster.endpoints[0]!, ['member', 'list']);
        return l.code === 0 && (l.stdout.match(/, started, node\d, http:\/\/127\.0\.0\.1:\d+, http:\/\/127\.0\.0\.1:\d+/g) ?? []).length === 3;
      }, 20_000);
      const all = await etcdctl(cluster.endpoints[0]!, ['endpoint', 'status', '--cluster', '-w', 'table']);
      expect(all.code, all.stderr).toBe(0);
      expect(all.stdout.match(/\| http:\/\/127\.0\.0\.1:\d+ \| +[0-9a-f]+ \|/g), `${all.stdout}\n${all.stderr}`).toHaveLength(3);
      expect((await etcdctl(`http://${cluster.endpoints[1]!}`, ['endpoint', 'status'])).code).toBe(0);
    } finally {
      await cluster.cleanup();
    }
  }, 120_000);
});
