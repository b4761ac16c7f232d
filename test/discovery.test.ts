/**
 * Walkthrough 4.2: discovery tokens on a real `cairn` member. `cairnctl discovery new` makes the
 * token; resolveDiscovery (what `cairn --discovery` runs before the server starts) is called
 * here directly for several members at once, since one process can only be one member.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnClient } from '@cairn/client';
import { rejectionOf } from '../packages/client/test/helpers.js';
import { DiscoveryError, DiscoveryFailure, resolveDiscovery, type DiscoveryOptions } from '../apps/cairn/src/discovery.js';
import { CAIRN_BIN, ROOT, ctl, freePort, Member, singleMember, tempDir, waitFor } from './support/process.js';

let member: Member;
let cleanup: () => Promise<void>;
let client: CairnClient;

beforeAll(async () => {
  ({ member, cleanup } = await singleMember('discovery'));
  client = new CairnClient({ endpoints: [member.endpoint] });
});
afterAll(async () => {
  client?.close();
  await cleanup?.();
});

/** `cairnctl discovery new --size=N` against the member; returns the printed URL and its token. */
async function newToken(size: number): Promise<{ url: string; token: string }> {
  const res = await ctl([`--endpoints=${member.endpoint}`, 'discovery', 'new', `--size=${size}`]);
  expect(res).toMatchObject({ code: 0, stderr: '' });
  const m = /^(cairn:\/\/127\.0\.0\.1:(\d+)\/discovery\/([0-9a-f]{16}))\n$/.exec(res.stdout);
  expect(m, res.stdout).not.toBeNull();
  expect(Number(m![2])).toBe(member.opts.clientPort);
  return { url: m![1]!, token: m![3]! };
}

/** A would-be member: its name and a peer URL on a free port (nothing needs to listen there). */
async function candidate(name: string): Promise<{ name: string; peerUrls: string[] }> {
  return { name, peerUrls: [`http://127.0.0.1:${await freePort()}`] };
}

function resolve(url: string, who: { name: string; peerUrls: string[] }, extra: Partial<DiscoveryOptions> = {}): Promise<Map<string, string[]>> {
  return resolveDiscovery({ url, ...who, timeoutMs: 20_000, ...extra });
}

const refusal = (p: Promise<unknown>): Promise<DiscoveryError> => rejectionOf(p, DiscoveryError);

/** Runs `cairn` to its exit (one that is refused before serving); returns code and stderr. */
function runCairn(args: string[], timeoutMs = 30_000): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(process.execPath, [CAIRN_BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`cairn ${args.join(' ')} did not exit in ${timeoutMs} ms; stderr=${stderr}`));
    }, timeoutMs);
    proc.on('error', reject);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stderr });
    });
  });
}

describe('discovery (walkthrough 4.2)', () => {
  it('discovery new stores the size under a fresh token', async () => {
    const { token } = await newToken(3);
    expect(await client.kv.getString(`/_cairn/discovery/${token}/_config/size`)).toBe('3');
    const other = await newToken(5);
    expect(other.token).not.toBe(token);
  });

  it('three members resolve to the same 3-member cluster; a fourth, a second cluster, an unknown token are refused', async () => {
    const { url, token } = await newToken(3);
    const three = await Promise.all(['machine-1', 'machine-2', 'machine-3'].map(candidate));
    const logs: string[][] = three.map(() => []);
    const results = await Promise.all(three.map((c, i) => resolve(url, c, { logger: { info: (m) => logs[i]!.push(m) } })));
    const [first, ...rest] = results;
    expect(first!.size).toBe(3);
    for (const r of rest) expect([...r]).toEqual([...first!]);
    expect(new Set(first!.keys())).toEqual(new Set(['machine-1', 'machine-2', 'machine-3']));
    for (const c of three) expect(first!.get(c.name)).toEqual(c.peerUrls);
    // Each registered, and each said when it had all three.
    for (const [i, lines] of logs.entries()) {
      expect(lines).toContain(`discovery: registered ${three[i]!.name}`);
      expect(lines.at(-1)).toBe('discovery: initial cluster of 3 resolved');
    }

    // The registration order (create_revision) is the order of the resolved cluster.
    const kvs = await client.kv.getPrefix(`/_cairn/discovery/${token}/members/`);
    const byRevision = [...kvs].sort((a, b) => (a.createRevision < b.createRevision ? -1 : 1)).map((kv) => new TextDecoder().decode(kv.key).split('/').at(-1));
    expect([...first!.keys()]).toEqual(byRevision);

    const fourth = await refusal(resolve(url, await candidate('machine-4')));
    expect(fourth.failure).toBe(DiscoveryFailure.ClusterFull);
    expect(fourth.message).toMatch(/^discovery: cluster is full \(size 3\); token [0-9a-f]{16} already bootstrapped machine-\d, machine-\d, machine-\d$/);
    // A second cluster that picked the same token by mistake: every one of its members is refused.
    const second = await Promise.all(['other-1', 'other-2', 'other-3'].map(async (n) => refusal(resolve(url, await candidate(n)))));
    for (const e of second) expect(e.message).toMatch(/^discovery: cluster is full \(size 3\)/);
    // The refused ones did not register.
    expect(await client.kv.getPrefix(`/_cairn/discovery/${token}/members/`)).toHaveLength(3);

    const unknown = await refusal(resolve(`cairn://${member.endpoint}/discovery/0123456789abcdef`, await candidate('machine-1')));
    expect(unknown.failure).toBe(DiscoveryFailure.TokenNotFound);
    expect(unknown.message).toBe(`discovery: token 0123456789abcdef not found on the discovery cluster at ${member.endpoint}`);
  });

  it('a member that registers again with the same name and URLs gets the same cluster; other URLs are refused', async () => {
    const { url, token } = await newToken(2);
    const a = await candidate('a');
    const b = await candidate('b');
    // a starts, registers, and is stopped before b comes (a restart during bootstrap).
    const lines: string[] = [];
    const aborted = await refusal(resolve(url, a, { timeoutMs: 1500, logger: { info: (m) => lines.push(m) } }));
    expect(lines).toEqual(['discovery: registered a', 'discovery: 1 of 2 members registered; waiting for 1 more']);
    expect(aborted.failure).toBe(DiscoveryFailure.Timeout);
    expect(aborted.message).toBe(`discovery: timed out after 1500 ms waiting for the members of token ${token} (1 of 2 registered)`);
    const before = await client.kv.get(`/_cairn/discovery/${token}/members/a`);
    const [ra, rb] = await Promise.all([resolve(url, a), resolve(url, b)]);
    expect([...ra!]).toEqual([
      ['a', a.peerUrls],
      ['b', b.peerUrls],
    ]);
    expect([...rb!]).toEqual([...ra!]);
    // Once more after bootstrap: the same answer, the key untouched.
    expect([...(await resolve(url, a))]).toEqual([...ra!]);
    const after = await client.kv.get(`/_cairn/discovery/${token}/members/a`);
    expect(after?.modRevision).toBe(before?.modRevision);

    const impostor = await refusal(resolve(url, { name: 'a', peerUrls: ['http://127.0.0.1:1'] }));
    expect(impostor.failure).toBe(DiscoveryFailure.NameTaken);
    expect(impostor.message).toBe(`discovery: member name "a" is already registered with peer URLs ${a.peerUrls[0]}, not http://127.0.0.1:1`);
  });

  it('three cairn --discovery daemons bootstrap one 3-member cluster; a fourth is refused', async () => {
    const { url } = await newToken(3);
    const dir = tempDir();
    const daemons: Member[] = [];
    try {
      for (const name of ['machine-1', 'machine-2', 'machine-3']) {
        const peerPort = await freePort();
        daemons.push(
          new Member({
            name,
            dataDir: join(dir, `${name}.cairn`),
            clientPort: await freePort(),
            peerPort,
            extraArgs: [`--discovery=${url}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`, '--initial-cluster-token=token-01', '--initial-cluster-state=new'],
          }),
        );
      }
      // Together: each waits in discovery for the others, then needs a quorum to be healthy.
      await Promise.all(daemons.map((d) => d.start()));
      const endpoints = `--endpoints=${daemons.map((d) => d.endpoint).join(',')}`;
      const list = await ctl([endpoints, 'member', 'list']);
      expect(list.code, list.stderr).toBe(0);
      const rows = list.stdout.split('\n').slice(0, -1);
      expect(rows).toHaveLength(3);
      for (const d of daemons) {
        expect(rows.some((r) => r.endsWith(`, started, ${d.opts.name}, http://127.0.0.1:${d.opts.peerPort}, http://${d.endpoint}, false`))).toBe(true);
      }
      await waitFor('one leader among the three', async () => {
        const st = await ctl([endpoints, 'endpoint', 'status']);
        return st.code === 0 && st.stdout.split('\n').filter((l) => /, true, false, \d+, \d+, \d+, $/.test(l)).length === 1;
      });
      expect(await ctl([endpoints, 'put', 'k', 'v'])).toMatchObject({ code: 0, stdout: 'OK\n' });
      const late = await runCairn([
        '--name=machine-4',
        `--data-dir=${join(dir, 'machine-4.cairn')}`,
        `--listen-client-urls=http://127.0.0.1:${await freePort()}`,
        `--listen-peer-urls=http://127.0.0.1:${await freePort()}`,
        `--discovery=${url}`,
      ]);
      expect(late.code).toBe(1);
      expect(late.stderr).toMatch(/^cairn: discovery: cluster is full \(size 3\); token [0-9a-f]{16} already bootstrapped machine-\d, machine-\d, machine-\d\n$/);
    } finally {
      await Promise.all(daemons.map((d) => d.kill()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('cairn --discovery: starts from a 1-member token, refuses a full or unknown one with exit 1', async () => {
    const { url } = await newToken(1);
    const dir = tempDir();
    try {
      const peerPort = await freePort();
      const solo = new Member({
        name: 'solo',
        dataDir: join(dir, 'solo.cairn'),
        clientPort: await freePort(),
        peerPort,
        extraArgs: [`--discovery=${url}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`, '--initial-cluster-token=token-01'],
      });
      try {
        await solo.start();
        expect(solo.log).toContain('discovery: initial cluster of 1 resolved');
        expect(await ctl([`--endpoints=${solo.endpoint}`, 'put', 'k', 'v'])).toMatchObject({ code: 0, stdout: 'OK\n' });
        // Restarted from its data dir, it does not ask the discovery cluster again.
        expect(await solo.stop()).toBe(0);
        await solo.start();
        expect(solo.log).toContain('discovery: skipped, the data dir already holds this member');
        await waitFor('k to be readable after the restart', async () => (await ctl([`--endpoints=${solo.endpoint}`, 'get', 'k'])).stdout === 'k\nv\n');
      } finally {
        await solo.kill();
      }
      const common = [`--data-dir=${join(dir, 'late.cairn')}`, `--listen-client-urls=http://127.0.0.1:${await freePort()}`, `--listen-peer-urls=http://127.0.0.1:${await freePort()}`];
      const late = await runCairn(['--name=late', ...common, `--discovery=${url}`]);
      expect(late.code).toBe(1);
      expect(late.stderr).toMatch(/^cairn: discovery: cluster is full \(size 1\); token [0-9a-f]{16} already bootstrapped solo\n$/);
      const unknown = await runCairn(['--name=late', ...common, `--discovery=cairn://${member.endpoint}/discovery/00000000000000ff`]);
      expect(unknown).toEqual({ code: 1, stderr: `cairn: discovery: token 00000000000000ff not found on the discovery cluster at ${member.endpoint}\n` });
      const closed = await freePort();
      const unreachable = await runCairn(['--name=late', ...common, `--discovery=cairn://127.0.0.1:${closed}/discovery/00000000000000ff`]);
      expect(unreachable).toEqual({
        code: 1,
        stderr: `cairn: discovery: cannot reach the discovery cluster at 127.0.0.1:${closed}: cannot connect to 127.0.0.1:${closed}: connection refused\n`,
      });
      const both = await runCairn(['--name=late', ...common, `--discovery=${url}`, '--initial-cluster=late=http://127.0.0.1:2380']);
      expect(both).toEqual({ code: 1, stderr: 'cairn: --discovery and --initial-cluster are both set: choose one way to bootstrap the cluster\n' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
