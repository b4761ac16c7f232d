/**
 * Walkthrough section 4 with real processes: a 3-member cluster from the walkthrough's YAML
 * files; the leader killed with kill -9 under a write load; a member far behind catching up
 * by snapshot; a minority that cannot write; a full-cluster restart; members added and
 * removed while writing. Every acknowledged write is recorded and read back at the end.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { CairnError, ErrorCode, type CairnClient } from '@cairn/client';
import { MemberAdd, MemberPromote, MemberRemove } from '@cairn/protocol';
import { ctl, waitFor } from './support/process.js';
import { TestCluster } from './support/cluster.js';

let cluster: TestCluster | undefined;
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && cluster !== undefined) console.log(`member warnings and errors:\n${cluster.warnings()}`);
  await cluster?.cleanup();
  cluster = undefined;
});

/**
 * Writers putting sequential keys through `client` until stopped; every acknowledged key is
 * recorded with the time it was acknowledged. Bounded: at most `maxWrites` in all.
 */
function writeLoad(client: CairnClient, prefix: string, writers = 4, maxWrites = 50_000) {
  const acked: { key: string; atMs: number }[] = [];
  const errors: string[] = [];
  let next = 0;
  let stopped = false;
  const loops = Array.from({ length: writers }, async () => {
    while (!stopped && next < maxWrites) {
      const key = `${prefix}${String(next++).padStart(6, '0')}`;
      try {
        await client.kv.put(key, 'v');
        acked.push({ key, atMs: Date.now() });
      } catch (err) {
        // Not acknowledged: may or may not be there; never counted.
        errors.push((err as Error).message);
      }
    }
  });
  return {
    acked,
    errors,
    async stop(): Promise<void> {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

async function missingKeys(client: CairnClient, keys: readonly string[], prefix: string): Promise<string[]> {
  const kvs = await client.kv.getPrefix(prefix, { keysOnly: true });
  const have = new Set(kvs.map((kv) => Buffer.from(kv.key).toString()));
  return keys.filter((k) => !have.has(k));
}

describe('a 3-member cluster', () => {
  it('starts from the walkthrough YAML files; one leader; status and member list in etcdctl shape', async () => {
    cluster = await TestCluster.create();
    await cluster.start();
    const eps = cluster.endpoints.join(',');
    const table = await ctl([`--endpoints=${eps}`, 'endpoint', 'status', '--write-out=table']);
    expect(table.code).toBe(0);
    const rows = table.stdout.split('\n').filter((l) => l.startsWith('| 127.0.0.1'));
    expect(rows).toHaveLength(3);
    // Column 5 is IS LEADER: exactly one.
    expect(rows.filter((r) => r.split('|')[5]!.trim() === 'true')).toHaveLength(1);
    const json = await ctl([`--endpoints=${eps}`, 'endpoint', 'status', '-w', 'json']);
    const list = JSON.parse(json.stdout) as { Endpoint: string; Status: { header: { member_id: number }; leader: number; raftIndex: number; raftTerm: number; raftAppliedIndex: number; isLearner?: boolean } }[];
    expect(list.map((e) => e.Endpoint)).toEqual(cluster.endpoints);
    expect(new Set(list.map((e) => String(e.Status.leader))).size).toBe(1);
    for (const e of list) expect(e.Status.raftTerm).toBeGreaterThan(0);

    const put = await ctl([`--endpoints=${cluster.endpoints[1]}`, 'put', 'greeting', 'hello, cluster']);
    expect(put).toMatchObject({ code: 0, stdout: 'OK\n' });
    // A follower forwards the write; every member serves it, also serializably once applied.
    for (const ep of cluster.endpoints) {
      const got = await ctl([`--endpoints=${ep}`, 'get', 'greeting']);
      expect(got.stdout).toBe('greeting\nhello, cluster\n');
    }
    const members = await ctl([`--endpoints=${eps}`, 'member', 'list']);
    const lines = members.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      const line = lines.find((l) => l.includes(`, node${i + 1}, `));
      expect(line).toMatch(new RegExp(`^[0-9a-f]+, started, node${i + 1}, ${cluster.peerUrl(i)}, http://${cluster.endpoints[i]}, false$`));
    }
  });

  it('elects a new leader after kill -9 of the leader under load; no acknowledged write is lost; the member catches up on restart', async () => {
    cluster = await TestCluster.create();
    await cluster.start();
    const client = cluster.client();
    const load = writeLoad(client, 'load/');
    await waitFor('some writes', () => load.acked.length >= 300, 30_000);
    const leader = await cluster.leader();
    const killedAt = Date.now();
    await cluster.members[leader]!.kill();
    await waitFor('writes after the kill', () => load.acked.filter((a) => a.atMs > killedAt).length >= 300, 60_000);
    await load.stop();
    const firstAfter = load.acked.find((a) => a.atMs > killedAt)!.atMs;
    const gapMs = firstAfter - killedAt;
    console.log(`leader kill -> first acknowledged write: ${gapMs} ms (${load.acked.length} acknowledged, ${load.errors.length} failed)`);
    expect(gapMs).toBeLessThan(15_000);
    const newLeader = await cluster.leader();
    expect(newLeader).not.toBe(leader);

    const survivors = cluster.members.map((_, i) => i).filter((i) => i !== leader);
    const reader = cluster.client(survivors);
    expect(await missingKeys(reader, load.acked.map((a) => a.key), 'load/')).toEqual([]);

    await cluster.members[leader]!.start(60_000, 'listening');
    await cluster.healthy(leader);
    await cluster.converged();
    const back = cluster.client([leader]);
    const kvs = await back.kv.getPrefix('load/', { keysOnly: true, serializable: true });
    const have = new Set(kvs.map((kv) => Buffer.from(kv.key).toString()));
    expect(load.acked.filter((a) => !have.has(a.key))).toEqual([]);
  });

  it('catches a member up by snapshot when the log it needs was compacted away', async () => {
    cluster = await TestCluster.create({ extraYaml: ['snapshot-count: 100'] });
    await cluster.start();
    const leader = await cluster.leader();
    const behind = (leader + 1) % 3;
    await cluster.members[behind]!.kill();
    const client = cluster.client([0, 1, 2].filter((i) => i !== behind));
    const keys: string[] = [];
    for (let i = 0; i < 600; i++) {
      keys.push(`snap/${String(i).padStart(4, '0')}`);
    }
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => client.kv.put(k, 'x'.repeat(200))));
    await client.kv.delete('snap/0000');
    await cluster.members[behind]!.start(60_000, 'listening');
    await cluster.healthy(behind);
    await cluster.converged();
    expect(cluster.members[behind]!.log).toContain('installed a snapshot');
    const lagger = cluster.client([behind]);
    const res = await lagger.kv.range({ key: 'snap/', prefix: true, countOnly: true, serializable: true });
    expect(res.count).toBe(599);
    // And it keeps following the log after the snapshot.
    await client.kv.put('snap/after', '1');
    await waitFor('the write after the snapshot on the caught-up member', async () => (await lagger.kv.get('snap/after', { serializable: true })) !== undefined, 20_000);
  });

  it('refuses writes on a minority, serves serializable reads there, and recovers with a majority', async () => {
    cluster = await TestCluster.create();
    await cluster.start();
    await ctl([`--endpoints=${cluster.endpoints[0]}`, 'put', 'before', '1']);
    await cluster.members[1]!.kill();
    await cluster.members[2]!.kill();
    // Until check-quorum makes it step down, a lone leader still appends proposals to its log, and
    // such a write (timed out, like etcd's) commits once a peer returns. Once the member knows it has
    // no leader, a write is refused outright and can never be applied.
    const lone = cluster.endpoints[0]!;
    await waitFor('member 0 to report no leader', async () => (await fetch(`http://${lone}/health`)).status !== 200, 30_000);
    const put = await ctl([`--endpoints=${cluster.endpoints[0]}`, '--command-timeout=3s', 'put', 'minority', '1']);
    expect(put.code).not.toBe(0);
    expect(put.stderr).toMatch(/^Error: /);
    const stale = await ctl([`--endpoints=${cluster.endpoints[0]}`, 'get', 'before', '--consistency=s']);
    expect(stale.stdout).toBe('before\n1\n');
    const lin = await ctl([`--endpoints=${cluster.endpoints[0]}`, '--command-timeout=2s', 'get', 'before']);
    expect(lin.code).not.toBe(0);
    await cluster.start([1]);
    const again = await ctl([`--endpoints=${cluster.endpoints[0]}`, '--command-timeout=10s', 'put', 'majority', '1']);
    expect(again).toMatchObject({ code: 0, stdout: 'OK\n' });
    // The write refused on the leaderless minority is not there.
    const got = await ctl([`--endpoints=${cluster.endpoints[1]}`, 'get', 'minority']);
    expect(got.stdout).toBe('');
  });

  it('keeps everything across a full-cluster restart after kill -9 of every member', async () => {
    cluster = await TestCluster.create();
    await cluster.start();
    const client = cluster.client();
    const load = writeLoad(client, 'full/', 8, 2000);
    await load.stop();
    const before = await client.kv.range({ key: 'full/', prefix: true, countOnly: true });
    for (const m of cluster.members) await m.kill();
    await cluster.start();
    const after = await cluster.client().kv.range({ key: 'full/', prefix: true, countOnly: true });
    expect(after.count).toBe(before.count);
    expect(await missingKeys(cluster.client(), load.acked.map((a) => a.key), 'full/')).toEqual([]);
    expect(after.header.revision).toBeGreaterThanOrEqual(before.header.revision);
  });

  it('adds a learner, promotes it and removes a member while writes go on', async () => {
    cluster = await TestCluster.create();
    await cluster.start();
    const client = cluster.client([0, 1, 2]);
    const load = writeLoad(client, 'm/', 2);
    await waitFor('writes', () => load.acked.length > 100, 30_000);

    // member add --learner, then start the new member with initial-cluster-state existing.
    let addedId = 0n;
    const index = await cluster.addSpec((spec) => {
      const urls = [0, 1, 2].map((i) => `node${i + 1}=${cluster!.peerUrl(i)}`);
      return [...urls, `${spec.name}=http://127.0.0.1:${spec.peerPort}`].join(',');
    });
    const added = await client.request(MemberAdd, { peerUrls: [cluster.peerUrl(index)], isLearner: true });
    addedId = added.member.id;
    expect(added.members.find((m) => m.id === addedId)?.isLearner).toBe(true);
    await cluster.members[index]!.start(60_000, 'listening');
    // A learner does not count for the quorum; it catches up, then is promoted.
    await waitFor(
      'the learner promoted once caught up',
      async () => {
        try {
          await client.request(MemberPromote, { id: addedId });
          return true;
        } catch (err) {
          if (err instanceof CairnError && err.code === ErrorCode.LearnerNotReady) return false;
          throw err;
        }
      },
      60_000,
      200,
    );
    // It publishes its name and client URLs once it has joined.
    await waitFor('node4 listed as a started voter', async () => {
      const m = (await client.cluster.memberList()).members.find((x) => x.id === addedId);
      return m !== undefined && !m.isLearner && m.name === 'node4' && m.clientUrls.length === 1;
    }, 30_000);

    // Remove a follower: it notices and exits; the cluster goes on with the other three.
    const leader = await cluster.leader();
    const victim = [0, 1, 2].find((i) => i !== leader)!;
    const st = await cluster.statuses();
    const victimId = st[victim]!.header.memberId;
    await client.request(MemberRemove, { id: victimId });
    expect(await cluster.members[victim]!.exited(30_000)).toBe(0);
    expect(cluster.members[victim]!.log).toContain('permanently removed');
    await waitFor('more writes after the membership changes', () => load.acked.length > 600, 60_000);
    await load.stop();
    const rest = cluster.client([0, 1, 2, 3].filter((i) => i !== victim));
    expect(await missingKeys(rest, load.acked.map((a) => a.key), 'm/')).toEqual([]);
    const list = await rest.cluster.memberList();
    expect(list.members.map((m) => m.id)).not.toContain(victimId);
    expect(list.members).toHaveLength(3);

    // The removed member's data dir is refused on restart, with a clear line.
    const victimMember = cluster.members[victim]!;
    await expect(victimMember.start(20_000, 'listening')).rejects.toThrow(/was removed from cluster/);
  });

  it('refuses a member started with another initial-cluster-token, with a clear log line', async () => {
    cluster = await TestCluster.create();
    await cluster.start([0, 1]);
    // node3 of a different cluster (another token) on the same addresses.
    const spec = cluster.specs[2]!;
    const yaml = readFileSync(spec.configFile, 'utf8').replace('initial-cluster-token: local-cairn-cluster', 'initial-cluster-token: another-cluster');
    writeFileSync(spec.configFile, yaml);
    await cluster.members[2]!.start(30_000, 'listening');
    await waitFor(
      'a refusal in the logs',
      () => cluster!.members.some((m) => /refusing a peer of another cluster|belongs to cluster/.test(m.log)),
      20_000,
    );
    // The two real members still serve; the stranger has no leader and no data.
    expect((await ctl([`--endpoints=${cluster.endpoints[0]}`, 'put', 'x', '1'])).code).toBe(0);
    const stranger = await ctl([`--endpoints=${cluster.endpoints[2]}`, '--command-timeout=2s', 'get', 'x']);
    expect(stranger.stdout).toBe('');
  });
});
