/**
 * Staged config rollouts and the fallback file with real processes: five config-client
 * instances on a three-member cluster (a candidate on exactly the two selected, promote to all
 * five, abort back to the base value), their lease-bound reports, and a client started with
 * every member down that runs on its file and then on the live value.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CairnClient, ErrorCode, op } from '@cairn/client';
import { abortRollout, history, promoteRollout, rolloutStatus, startRollout, watchConfig } from '@cairn/config';
import { TestCluster } from './support/cluster.js';
import { ConfigInstance } from './support/configInstance.js';
import { Member, freePort, tempDir, waitFor } from './support/process.js';

const instances: ConfigInstance[] = [];
afterEach(async () => {
  await Promise.all(instances.splice(0).map((i) => i.kill()));
});

describe('staged rollout on a 3-member cluster', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.create({ size: 3, token: 'config-rollout' });
    await cluster.start();
  });
  afterAll(async () => cluster?.cleanup());

  /** Five instances i1..i5 on the prefix, all running the base value. */
  async function five(prefix: string): Promise<ConfigInstance[]> {
    const c = cluster.client();
    await c.txn().then(op.put(`${prefix}greeting`, '"v1"')).commit();
    const list = ['i1', 'i2', 'i3', 'i4', 'i5'].map((id, n) => new ConfigInstance(id, cluster.endpoints, prefix, { zone: n < 2 ? 'a' : 'b' }));
    instances.push(...list);
    await Promise.all(list.map((i) => i.until('v1', (s) => s.current.greeting === 'v1')));
    await waitFor('five reports', async () => (await rolloutStatus(c, prefix)).instances.length === 5);
    return list;
  }

  it('a candidate for 2 of 5 runs on exactly those 2; promote: all 5; every step is in the history', async () => {
    const prefix = 'app/promote/';
    const list = await five(prefix);
    const c = cluster.client();
    const id = await startRollout(c, prefix, { values: { greeting: 'v2' }, target: { ids: ['i2', 'i4'] } });
    const on = (ids: string[]) => list.filter((i) => ids.includes(i.id));
    const off = (ids: string[]) => list.filter((i) => !ids.includes(i.id));
    await Promise.all(on(['i2', 'i4']).map((i) => i.until('the candidate', (s) => s.current.greeting === 'v2' && s.running === 'candidate')));
    // The reports say the same, and the other three stay on v1.
    await waitFor('reports of two candidates', async () => {
      const st = await rolloutStatus(c, prefix);
      return st.instances.filter((r) => r.running === 'candidate' && r.rollout === id.toString()).map((r) => r.id).join() === 'i2,i4';
    });
    for (const i of off(['i2', 'i4'])) expect(i.state).toMatchObject({ current: { greeting: 'v1' }, running: 'base' });
    const { id: ended, revision: promoted } = await promoteRollout(c, prefix);
    expect(ended).toBe(id);
    await Promise.all(list.map((i) => i.until('v2 as the base value', (s) => s.current.greeting === 'v2' && s.running === 'base')));
    // One revision wrote the field and closed the rollout.
    expect((await c.kv.get(`${prefix}greeting`))!.modRevision).toBe(promoted);
    const steps = (await history(c, `${prefix}.rollout/state`)).map((v) => (JSON.parse(v.value) as { step: string }).step);
    expect(steps).toEqual(['promoted', 'started']);
    expect((await history(c, `${prefix}greeting`)).map((v) => v.value)).toEqual(['"v2"', '"v1"']);
    await waitFor('every report on the promoted revision', async () => (await rolloutStatus(c, prefix)).instances.every((r) => r.running === 'base' && BigInt(r.revision) >= promoted));
    await expect(promoteRollout(c, prefix)).rejects.toMatchObject({ code: ErrorCode.NoRollout, message: expect.stringMatching(/no rollout in progress \(the last one, \d+, was promoted\)/) });
  });

  it('abort: the 2 go back to the previous value, the 3 never left it; a killed instance\'s report goes with its lease', async () => {
    const prefix = 'app/abort/';
    const list = await five(prefix);
    const c = cluster.client();
    await startRollout(c, prefix, { values: { greeting: 'v2', rps: 50 }, target: { labels: { zone: 'a' } } });
    await Promise.all(list.slice(0, 2).map((i) => i.until('the candidate', (s) => s.current.greeting === 'v2' && s.current.rps === 50)));
    for (const i of list.slice(2)) expect(i.state).toMatchObject({ current: { greeting: 'v1', rps: 10 }, running: 'base' });
    await expect(startRollout(c, prefix, { values: { greeting: 'v3' }, target: { percent: 50 } })).rejects.toMatchObject({ code: ErrorCode.RolloutInProgress });
    await abortRollout(c, prefix);
    await Promise.all(list.slice(0, 2).map((i) => i.until('back on v1', (s) => s.current.greeting === 'v1' && s.current.rps === 10 && s.running === 'base')));
    for (const i of list.slice(2)) expect(i.state!.current.greeting).toBe('v1');
    expect(await c.kv.getString(`${prefix}greeting`)).toBe('"v1"');
    await expect(abortRollout(c, prefix)).rejects.toMatchObject({ code: ErrorCode.NoRollout });
    // kill -9: the report lives on the instance's lease (TTL 5 s) and goes with it.
    await list[0]!.kill();
    await waitFor('i1\'s report gone', async () => !(await rolloutStatus(c, prefix)).instances.some((r) => r.id === 'i1'), 20_000);
    expect((await rolloutStatus(c, prefix)).instances.map((r) => r.id)).toEqual(['i2', 'i3', 'i4', 'i5']);
  });

  it('a candidate that fails an instance\'s schema is refused there and reported; bad targets are refused before anything is written', async () => {
    const prefix = 'app/refused/';
    const list = await five(prefix);
    const c = cluster.client();
    const before = (await c.kv.get(`${prefix}.rollout/state`)) === undefined;
    expect(before).toBe(true);
    await expect(startRollout(c, prefix, { values: { greeting: 'x' }, target: { percent: 150 } })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    await expect(startRollout(c, prefix, { values: { greeting: 'x' }, target: { ids: [] } })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    expect(await c.kv.get(`${prefix}.rollout/state`)).toBeUndefined();
    await startRollout(c, prefix, { values: { rps: -5 }, target: { percent: 100 } });
    await waitFor('five reports of the refusal', async () => (await rolloutStatus(c, prefix)).instances.filter((r) => r.running === 'base' && /rps/.test(r.error ?? '')).length === 5);
    for (const i of list) expect(i.state).toMatchObject({ current: { greeting: 'v1', rps: 10 }, running: 'base' });
    await abortRollout(c, prefix);
  });
});

describe('fallback file', () => {
  it('with every member down it starts on the file (stale), then takes the live value when a member starts', async () => {
    const dir = tempDir('cairn-config-fallback-');
    const member = new Member({ name: 'solo', dataDir: join(dir, 'solo.cairn'), clientPort: await freePort(), peerPort: await freePort() });
    const file = join(dir, 'app.config.json');
    try {
      await member.start();
      const c = new CairnClient({ endpoints: [member.endpoint] });
      await c.kv.put('app/fb/greeting', '"from the cluster"');
      // A first run writes the file.
      const first = new ConfigInstance('f1', [member.endpoint], 'app/fb/', {}, file);
      instances.push(first);
      await first.until('the live value', (s) => s.current.greeting === 'from the cluster' && !s.stale);
      await waitFor('the file', () => existsSync(file) && readFileSync(file, 'utf8').includes('from the cluster'));
      await first.kill();
      // The value changes while no instance runs, then the cluster goes down.
      await c.kv.put('app/fb/greeting', '"changed meanwhile"');
      c.close();
      await member.kill();
      const second = new ConfigInstance('f2', [member.endpoint], 'app/fb/', {}, file);
      instances.push(second);
      expect(await second.until('the file\'s value', (s) => s.stale)).toMatchObject({ current: { greeting: 'from the cluster', rps: 10 }, stale: true });
      await member.start();
      expect(await second.until('the live value', (s) => !s.stale, 30_000)).toMatchObject({ current: { greeting: 'changed meanwhile' }, stale: false });
      await waitFor('the file to hold the live value', () => readFileSync(file, 'utf8').includes('changed meanwhile'));
      expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ prefix: 'app/fb/', value: { greeting: 'changed meanwhile', rps: 10 } });
    } finally {
      await member.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('started on the file, it stays on it while the live config fails the schema, and goes live once it is fixed', async () => {
    const dir = tempDir('cairn-config-fallback-bad-');
    const member = new Member({ name: 'solo', dataDir: join(dir, 'solo.cairn'), clientPort: await freePort(), peerPort: await freePort() });
    const file = join(dir, 'app.config.json');
    try {
      await member.start();
      const c = new CairnClient({ endpoints: [member.endpoint] });
      await c.kv.put('app/fbbad/greeting', '"good"');
      const first = new ConfigInstance('g1', [member.endpoint], 'app/fbbad/', {}, file);
      instances.push(first);
      await first.until('the live value', (s) => s.current.greeting === 'good' && !s.stale);
      await waitFor('the file', () => existsSync(file) && readFileSync(file, 'utf8').includes('"good"'));
      await first.kill();
      // Two fields live: the fix below touches one, and the other must come in with it.
      await c.kv.put('app/fbbad/rps', '7');
      await c.kv.put('app/fbbad/greeting', '""');
      c.close();
      await member.kill();
      const second = new ConfigInstance('g2', [member.endpoint], 'app/fbbad/', {}, file);
      instances.push(second);
      await second.until('the file\'s value', (s) => s.stale && s.current.greeting === 'good');
      await member.start();
      await waitFor('the refusal of the live value', () => /invalid config app\/fbbad\/ fails its schema/.test(second.err), 30_000);
      expect(second.state).toMatchObject({ current: { greeting: 'good' }, stale: true });
      const fix = new CairnClient({ endpoints: [member.endpoint] });
      try {
        await fix.kv.put('app/fbbad/greeting', '"fixed"');
      } finally {
        fix.close();
      }
      expect(await second.until('the fixed live value', (s) => !s.stale)).toMatchObject({ current: { greeting: 'fixed', rps: 7 }, stale: false });
    } finally {
      await member.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with no file to start from, a boot with every member down fails as it does without the option', async () => {
    const dir = tempDir('cairn-config-nofile-');
    const c = new CairnClient({ endpoints: [`127.0.0.1:${await freePort()}`], dialTimeoutMs: 500, requestTimeoutMs: 1000 });
    try {
      const boot = watchConfig(c, { prefix: 'app/none/', schema: z.object({ greeting: z.string() }), fallbackFile: join(dir, 'none.json'), bootTimeoutMs: 500 });
      await expect(boot).rejects.toMatchObject({ code: expect.stringMatching(/^(unavailable|timeout)$/) });
      expect(existsSync(join(dir, 'none.json'))).toBe(false);
    } finally {
      c.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
