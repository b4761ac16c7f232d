/** cairnctl make-mirror and check perf against real members. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctl, Running, singleMember, waitFor, type Member } from './support/process.js';

let src: Member;
let dst: Member;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const a = await singleMember('src');
  const b = await singleMember('dst');
  src = a.member;
  dst = b.member;
  cleanups.push(a.cleanup, b.cleanup);
}, 60_000);
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe('make-mirror', () => {
  it('copies the existing keys of a prefix, then every later change, under the destination prefix', async () => {
    const s = [`--endpoints=${src.endpoint}`];
    const d = [`--endpoints=${dst.endpoint}`];
    for (let i = 0; i < 5; i++) expect((await ctl([...s, 'put', `app/k${i}`, `v${i}`])).code).toBe(0);
    expect((await ctl([...s, 'put', 'other/x', 'not mirrored'])).code).toBe(0);
    const mirror = new Running([...s, 'make-mirror', '--prefix=app/', '--dest-prefix=copy/', dst.endpoint]);
    try {
      const keys = async (): Promise<string> => (await ctl([...d, 'get', 'copy/', '--prefix'])).stdout;
      await waitFor('the initial copy', async () => (await keys()) === 'copy/k0\nv0\ncopy/k1\nv1\ncopy/k2\nv2\ncopy/k3\nv3\ncopy/k4\nv4\n', 20_000);
      // Later changes: a put, an update and a delete.
      expect((await ctl([...s, 'put', 'app/k5', 'v5'])).code).toBe(0);
      expect((await ctl([...s, 'put', 'app/k0', 'changed'])).code).toBe(0);
      expect((await ctl([...s, 'del', 'app/k1'])).code).toBe(0);
      await waitFor('the changes', async () => (await keys()) === 'copy/k0\nchanged\ncopy/k2\nv2\ncopy/k3\nv3\ncopy/k4\nv4\ncopy/k5\nv5\n', 20_000);
      expect((await ctl([...d, 'get', 'other/', '--prefix'])).stdout).toBe('');
      expect(mirror.code).toBeUndefined();
    } finally {
      expect(await mirror.interrupt()).toBe(0);
    }
  }, 60_000);

  it('refuses to run without a destination', async () => {
    expect(await ctl([`--endpoints=${src.endpoint}`, 'make-mirror'])).toMatchObject({ code: 128, stderr: 'Error: make-mirror takes one destination argument.\n' });
  });
});

describe('check perf', () => {
  it('runs a short load and ends with PASS or FAIL lines; the prefix is left empty', async () => {
    const e = [`--endpoints=${dst.endpoint}`];
    const r = await ctl([...e, 'check', 'perf', '--duration=2s', '--prefix=/perf/'], { timeoutMs: 60_000 });
    const lines = r.stdout.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^(PASS|FAIL)$/);
    expect(r.stdout).toMatch(/^(PASS: Throughput is \d+ writes\/s|FAIL: Throughput too low: \d+ writes\/s)$/m);
    expect(r.stdout).toMatch(/^(PASS: Slowest request took|Slowest request took too long:) \d+\.\d{6}s$/m);
    expect(r.stdout).toMatch(/^(PASS: Stddev is|Stddev too high:) \d+\.\d{6}s$/m);
    expect(r.code).toBe(lines.at(-1) === 'PASS' ? 0 : 1);
    expect((await ctl([...e, 'get', '/perf/', '--prefix', '--count-only', '-w', 'json'])).stdout).not.toMatch(/"count":[1-9]/);
  }, 90_000);

  it('refuses a prefix that holds keys, and an unknown load', async () => {
    const e = [`--endpoints=${dst.endpoint}`];
    expect((await ctl([...e, 'put', '/busy/k', 'v'])).code).toBe(0);
    const busy = await ctl([...e, 'check', 'perf', '--prefix=/busy/', '--duration=1s']);
    expect(busy).toMatchObject({ code: 3 });
    expect(busy.stderr).toMatch(/prefix "\/busy\/" has keys/);
    expect(await ctl([...e, 'check', 'perf', '--load=huge'])).toMatchObject({ code: 4, stderr: 'Error: unknown load option huge\n' });
  });
});
