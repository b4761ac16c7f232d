/**
 * Membership on the peer port with real processes: a removed member stops within seconds,
 * also one that missed its own removal with its sockets open (it was paused); unsafe peer
 * configurations are refused at start with one clear line.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { MemberRemove } from '@cairn/protocol';
import { makePki } from './support/certs.js';
import { TestCluster } from './support/cluster.js';
import { CAIRN_BIN, tempDir } from './support/process.js';

let cluster: TestCluster | undefined;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  // A member left paused by a failed test cannot be killed cleanly otherwise.
  for (const m of cluster?.members ?? []) if (m.running) m.proc?.kill('SIGCONT');
  await cluster?.cleanup();
  cluster = undefined;
  for (const f of cleanups.splice(0)) f();
});

describe('a removed member', () => {
  it('exits within 10 s, also when it missed its removal while paused with its sockets open', async () => {
    cluster = await TestCluster.create();
    await cluster.start();
    const leader = await cluster.leader();
    const followers = [0, 1, 2].filter((i) => i !== leader);
    const st = await cluster.statuses();
    const ids = st.map((s) => s!.header.memberId);
    const client = cluster.client([leader]);
    await client.kv.put('before', '1');

    // Paused (SIGSTOP) with its sockets open, removed meanwhile, then resumed: it never gets
    // the entry that removes it; its peers tell it.
    const first = followers[0]!;
    const paused = cluster.members[first]!;
    paused.proc!.kill('SIGSTOP');
    await client.request(MemberRemove, { id: ids[first]! });
    await client.kv.put('after', '1');
    let t0 = Date.now();
    paused.proc!.kill('SIGCONT');
    expect(await paused.exited(10_000)).toBe(0);
    const pausedMs = Date.now() - t0;
    expect(paused.log).toContain('permanently removed');

    // The plain case: removed while running.
    const second = followers[1]!;
    t0 = Date.now();
    await client.request(MemberRemove, { id: ids[second]! });
    expect(await cluster.members[second]!.exited(10_000)).toBe(0);
    const plainMs = Date.now() - t0;
    console.log(`removed member exit: ${pausedMs} ms after resuming from a pause, ${plainMs} ms when removed while running`);
    expect((await client.cluster.memberList()).members.map((m) => m.id)).toEqual([ids[leader]!]);
  });
});

/** Runs the daemon with these flags to its exit (it is expected to refuse to start). */
function refusedStart(args: string[]): { code: number | null; stderr: string } {
  const dir = tempDir('cairn-refused-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const r = spawnSync(process.execPath, [CAIRN_BIN, `--data-dir=${dir}/d`, '--listen-client-urls=http://127.0.0.1:0', '--listen-peer-urls=http://127.0.0.1:0', ...args], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, stderr: r.stderr };
}

describe('unsafe peer configurations', () => {
  it('peer TLS flags with http:// peer URLs refuse to start, with one clear line', () => {
    const pkiDir = tempDir('cairn-pki-');
    cleanups.push(() => rmSync(pkiDir, { recursive: true, force: true }));
    const pki = makePki(pkiDir);
    const peer = pki.peer('peer');
    const r = refusedStart([`--peer-cert-file=${peer.cert}`, `--peer-key-file=${peer.key}`, `--peer-trusted-ca-file=${pki.caCert}`, '--peer-client-cert-auth']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^cairn: listen-peer-urls: http:\/\/127\.0\.0\.1:0 is http:\/\/ but peer TLS is configured .*use https:\/\/ peer URLs/);
  });

  it('a peer secret file that is too short, or missing, is refused', () => {
    const dir = tempDir('cairn-secret-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(`${dir}/s`, 'short\n');
    const short = refusedStart([`--peer-secret-file=${dir}/s`]);
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('a peer secret needs at least 16 bytes');
    const missing = refusedStart([`--peer-secret-file=${dir}/nope`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`--peer-secret-file: ${dir}/nope does not exist`);
  });
});
