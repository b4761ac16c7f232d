/**
 * Walkthrough 4.3 with real processes: cairnctl's cluster commands (member list/add/update/
 * remove/promote, move-leader, endpoint status/health) against a three-member cluster, checked
 * as the user sees them: output lines and exit codes.

 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ctl, freePort, Member, tempDir, waitFor, type CtlResult, type MemberOptions } from './support/process.js';

interface Node {
  readonly member: Member;
  readonly peerUrl: string;
}

let dir: string | undefined;
const started: Member[] = [];
let nodes: Node[] | undefined;

afterAll(async () => {
  await Promise.all(started.map((m) => m.kill()));
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/**
 * Options for a member to be added later: free ports, a data dir, its peer URL, and the
 * cluster's token (the peer key is derived from it: a member with another token must not join).
 */
async function joiner(name: string): Promise<{ opts: MemberOptions; peerUrl: string }> {
  dir ??= tempDir('cairn-cluster-cli-');
  const peerPort = await freePort();
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const opts = { name, dataDir: join(dir, `${name}.cairn`), clientPort: await freePort(), peerPort, extraArgs: [`--initial-advertise-peer-urls=${peerUrl}`, '--initial-cluster-token=cluster-cli'] };
  return { opts, peerUrl };
}

/** m1, m2, m3 bootstrapped together (started once, shared by the tests). */
async function cluster(): Promise<Node[]> {
  if (nodes !== undefined) return nodes;
  const names = ['m1', 'm2', 'm3'];
  const peerPorts: number[] = [];
  const clientPorts: number[] = [];
  for (const _ of names) {
    peerPorts.push(await freePort());
    clientPorts.push(await freePort());
  }
  const initialCluster = names.map((n, i) => `${n}=http://127.0.0.1:${peerPorts[i]}`).join(',');
  const root = (dir ??= tempDir('cairn-cluster-cli-'));
  const list = names.map((name, i) => {
    const peerUrl = `http://127.0.0.1:${peerPorts[i]}`;
    const args = [`--initial-advertise-peer-urls=${peerUrl}`, `--initial-cluster=${initialCluster}`, '--initial-cluster-token=cluster-cli', '--initial-cluster-state=new'];
    return { member: new Member({ name, dataDir: join(root, `${name}.cairn`), clientPort: clientPorts[i]!, peerPort: peerPorts[i]!, extraArgs: args }), peerUrl };
  });
  started.push(...list.map((n) => n.member));
  // Together: each needs a quorum of the others to report healthy.
  await Promise.all(list.map((n) => n.member.start()));
  nodes = list;
  await waitFor('one leader', async () => (await statuses(all())).filter((s) => s.isLeader).length === 1);
  return list;
}

const all = (): string => `--endpoints=${nodes!.map((n) => n.member.endpoint).join(',')}`;
const lines = (r: CtlResult): string[] => r.stdout.split('\n').slice(0, -1);

/** `endpoint status -w table` as rows of cells. */
async function statuses(endpoints: string): Promise<{ endpoint: string; id: string; isLeader: boolean }[]> {
  const res = await ctl([endpoints, 'endpoint', 'status', '-w', 'table']);
  if (res.code !== 0) throw new Error(res.stderr);
  return lines(res)
    .filter((l) => l.startsWith('| ') && !l.includes('ENDPOINT'))
    .map((l) => l.split('|').map((c) => c.trim()))
    .map((c) => ({ endpoint: c[1]!, id: c[2]!, isLeader: c[5] === 'true' }));
}

/** `member list` as `id -> the rest of its line`. */
async function memberLines(): Promise<Map<string, string>> {
  const res = await ctl([all(), 'member', 'list']);
  expect(res.code, res.stderr).toBe(0);
  return new Map(lines(res).map((l) => [l.slice(0, l.indexOf(', ')), l.slice(l.indexOf(', ') + 2)]));
}

/** The CAIRN_* lines that `member add` prints, as an environment for the new member. */
function envOf(addOutput: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const l of addOutput.split('\n')) {
    const m = /^(CAIRN_[A-Z_]+)=(".*")$/.exec(l);
    if (m !== null) env[m[1]!] = JSON.parse(m[2]!) as string;
  }
  return env;
}

const hex16 = (id: string): string => id.padStart(16, ' ');

describe('cluster commands on three members (walkthrough 4.3)', () => {
  it(`member list: three started members, simple and table`, async () => {
    const ns = await cluster();
    const res = await ctl([all(), 'member', 'list']);
    expect(res).toMatchObject({ code: 0, stderr: '' });
    const rows = lines(res);
    expect(rows).toHaveLength(3);
    for (const n of ns) {
      const row = rows.find((r) => r.includes(`, ${n.member.opts.name}, `));
      expect(row).toMatch(new RegExp(`^[0-9a-f]{1,16}, started, ${n.member.opts.name}, ${n.peerUrl}, http://${n.member.endpoint}, false$`));
    }
    const table = lines(await ctl([all(), 'member', 'list', '-w', 'table']));
    expect(table).toHaveLength(3 + 4);
    expect(table[1]).toMatch(/^\| +ID +\| +STATUS +\| +NAME +\| +PEER ADDRS +\| +CLIENT ADDRS +\| +IS LEARNER +\|$/);
    expect(table.filter((l) => / started \| +m\d \|/.test(l))).toHaveLength(3);
  });

  it(`endpoint status: one leader among the three, etcdctl's JSON shape with exact ids`, async () => {
    await cluster();
    const rows = await statuses(all());
    expect(rows).toHaveLength(3);
    expect(rows.filter((r) => r.isLeader)).toHaveLength(1);
    const json = await ctl([all(), 'endpoint', 'status', '-w', 'json']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { Endpoint: string; Status: Record<string, unknown> }[];
    expect(parsed.map((p) => p.Endpoint).sort()).toEqual(rows.map((r) => r.endpoint).sort());
    for (const p of parsed) {
      expect(Object.keys(p)).toEqual(['Endpoint', 'Status']);
      expect(Object.keys(p.Status).filter((k) => !['errors', 'isLearner', 'dbSizeInUse'].includes(k))).toEqual([
        'header',
        'version',
        'dbSize',
        'leader',
        'raftIndex',
        'raftTerm',
        'raftAppliedIndex',
      ]);
    }
    // 64-bit ids printed exactly: the decimal member ids are the table's hex ids.
    const memberIds = [...json.stdout.matchAll(/"member_id":(\d+)/g)].map((m) => BigInt(m[1]!).toString(16));
    expect(memberIds.sort()).toEqual(rows.map((r) => r.id).sort());
    const leaders = new Set([...json.stdout.matchAll(/"leader":(\d+)/g)].map((m) => BigInt(m[1]!).toString(16)));
    expect([...leaders]).toEqual([rows.find((r) => r.isLeader)!.id]);
    // --cluster from one endpoint reaches all three; health too.
    expect(await statuses(`--endpoints=${nodes![0]!.member.endpoint}`)).toHaveLength(1);
    const viaCluster = await ctl([`--endpoints=${nodes![0]!.member.endpoint}`, 'endpoint', 'status', '--cluster', '-w', 'table']);
    expect(lines(viaCluster).filter((l) => l.includes('| http://127.0.0.1:'))).toHaveLength(3);
    const health = await ctl([`--endpoints=${nodes![0]!.member.endpoint}`, 'endpoint', 'health', '--cluster']);
    expect(health.code).toBe(0);
    expect(lines(health).filter((l) => / is healthy: successfully committed proposal: took = /.test(l))).toHaveLength(3);
  });

  it(`member add prints the new member's settings; it starts with them; member remove takes it out`, async () => {
    await cluster();
    const m4 = await joiner('m4');
    const add = await ctl([all(), 'member', 'add', 'm4', `--peer-urls=${m4.peerUrl}`]);
    expect(add.code, add.stderr).toBe(0);
    const out = lines(add);
    const head = /^Member ([0-9a-f ]{16}) added to cluster ([0-9a-f ]{16})$/.exec(out[0]!);
    expect(head, out[0]).not.toBeNull();
    const id = head![1]!.trim();
    const clusterId = head![2]!;
    expect(out.slice(1, 3)).toEqual(['', 'CAIRN_NAME="m4"']);
    expect(out[3]).toMatch(/^CAIRN_INITIAL_CLUSTER=".*"$/);
    expect(new Set(envOf(add.stdout)['CAIRN_INITIAL_CLUSTER']!.split(','))).toEqual(
      new Set([...nodes!.map((n) => `${n.member.opts.name}=${n.peerUrl}`), `m4=${m4.peerUrl}`]),
    );
    expect(out.slice(4)).toEqual([`CAIRN_INITIAL_ADVERTISE_PEER_URLS="${m4.peerUrl}"`, 'CAIRN_INITIAL_CLUSTER_STATE="existing"']);
    expect((await memberLines()).get(id)).toBe(`unstarted, , ${m4.peerUrl}, , false`);

    // Started with exactly what member add printed, it joins.
    const joined = new Member({ ...m4.opts, env: envOf(add.stdout) });
    started.push(joined);
    await joined.start();
    await waitFor('m4 to show as started', async () => (await memberLines()).get(id) === `started, m4, ${m4.peerUrl}, http://${joined.endpoint}, false`);

    expect(await ctl([all(), 'member', 'remove', id])).toEqual({ code: 0, stdout: `Member ${hex16(id)} removed from cluster ${clusterId}\n`, stderr: '' });
    expect((await memberLines()).has(id)).toBe(false);
    await joined.kill();
  });

  it(`member add --learner, then member promote once it has caught up`, async () => {
    await cluster();
    const m5 = await joiner('m5');
    const add = await ctl([all(), 'member', 'add', 'm5', `--peer-urls=${m5.peerUrl}`, '--learner']);
    expect(add.code, add.stderr).toBe(0);
    const head = /^Member ([0-9a-f ]{16}) added as learner to cluster ([0-9a-f ]{16})$/.exec(lines(add)[0]!);
    expect(head).not.toBeNull();
    const id = head![1]!.trim();
    const learner = new Member({ ...m5.opts, env: envOf(add.stdout) });
    started.push(learner);
    await learner.start();
    await waitFor('m5 to show as a started learner', async () => (await memberLines()).get(id)?.endsWith(', true') === true);
    let promote: CtlResult | undefined;
    // Refused ("... which is in sync with leader", exit 1) until it has caught up.
    await waitFor('the learner to be promotable', async () => {
      promote = await ctl([all(), 'member', 'promote', id]);
      if (promote.code !== 0) expect(promote).toMatchObject({ code: 1, stderr: 'Error: can only promote a learner member which is in sync with leader\n' });
      return promote.code === 0;
    });
    expect(promote).toEqual({ code: 0, stdout: `Member ${hex16(id)} promoted in cluster ${head![2]}\n`, stderr: '' });
    expect((await memberLines()).get(id)).toMatch(/, false$/);
    expect(await ctl([all(), 'member', 'promote', id])).toEqual({ code: 1, stdout: '', stderr: 'Error: can only promote a learner member\n' });
    expect((await ctl([all(), 'member', 'remove', id])).code).toBe(0);
    await learner.kill();
  });

  it(`member update changes a member's peer URLs`, async () => {
    await cluster();
    // A member added but not started, so that no running member loses its address.
    const first = `http://127.0.0.1:${await freePort()}`;
    const add = await ctl([all(), 'member', 'add', 'm6', `--peer-urls=${first}`]);
    const id = /^Member ([0-9a-f ]{16})/.exec(add.stdout)![1]!.trim();
    const moved = `http://127.0.0.1:${await freePort()}`;
    const update = await ctl([all(), 'member', 'update', id, `--peer-urls=${moved}`]);
    expect(update).toMatchObject({ code: 0, stderr: '' });
    expect(update.stdout).toMatch(new RegExp(`^Member ${hex16(id)} updated in cluster [0-9a-f ]{16}\\n$`));
    expect((await memberLines()).get(id)).toBe(`unstarted, , ${moved}, , false`);
    expect((await ctl([all(), 'member', 'remove', id])).code).toBe(0);
  });

  it(`move-leader hands leadership to the named member`, async () => {
    await cluster();
    const before = await statuses(all());
    const leader = before.find((r) => r.isLeader)!;
    const target = before.find((r) => !r.isLeader)!;
    expect(await ctl([all(), 'move-leader', target.id])).toEqual({
      code: 0,
      stdout: `Leadership transferred from ${leader.id} to ${target.id}\n`,
      stderr: '',
    });
    await waitFor('the new leader to show in endpoint status', async () => {
      const now = await statuses(all());
      return now.filter((r) => r.isLeader).length === 1 && now.find((r) => r.isLeader)!.id === target.id;
    });
    // Only followers among the endpoints: nobody to ask.
    const follower = (await statuses(all())).find((r) => !r.isLeader)!;
    expect(await ctl([`--endpoints=${follower.endpoint}`, 'move-leader', leader.id])).toEqual({
      code: 128,
      stdout: '',
      stderr: `Error: no leader endpoint given at [${follower.endpoint}]\n`,
    });
  });

  it(`refusals are one line with etcdctl's exit codes`, async () => {
    const ns = await cluster();
    expect(await ctl([all(), 'member', 'remove', 'ffffffffffffffff'])).toMatchObject({
      code: 1,
      stdout: '',
      stderr: expect.stringMatching(/^Error: member (ffffffffffffffff )?not found\n$/) as string,
    });
    expect(await ctl([all(), 'member', 'add', 'again', `--peer-urls=${ns[0]!.peerUrl}`])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error: Peer URLs already exists\n',
    });
    const m1 = [...(await memberLines())].find(([, rest]) => rest.includes(', m1, '))![0];
    expect(await ctl([all(), 'member', 'promote', m1])).toEqual({ code: 1, stdout: '', stderr: 'Error: can only promote a learner member\n' });
    expect(await ctl([all(), 'member', 'remove', 'not-hex'])).toEqual({
      code: 128,
      stdout: '',
      stderr: 'Error: bad member ID arg (strconv.ParseUint: parsing "not-hex": invalid syntax), expecting ID in Hex\n',
    });
  });
});
