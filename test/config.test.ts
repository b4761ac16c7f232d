/**
 * @cairn/config against a real member: typed load, hot reload under a burst, multi-key updates
 * seen whole, invalid values refused or kept out, namespaces, history and rollback.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CairnClient, ErrorCode, op } from '@cairn/client';
import { history, rollback, watchConfig, type ConfigChange } from '@cairn/config';
import { Gate, ctl, singleMember, waitFor, type Member } from './support/process.js';

const schema = z.object({
  greeting: z.string().min(1),
  limits: z.object({ rps: z.number().int().positive(), burst: z.number().int().nonnegative() }),
  // Absent keys take the schema's defaults.
  debug: z.boolean().default(false),
});
type AppConfig = z.infer<typeof schema>;

let member: Member;
let cleanup: () => Promise<void>;
const closers: (() => void)[] = [];
beforeAll(async () => ({ member, cleanup } = await singleMember()));
afterAll(async () => cleanup?.());
afterEach(() => closers.splice(0).forEach((c) => c()));
function client(): CairnClient {
  const c = new CairnClient({ endpoints: [member.endpoint] });
  closers.push(() => c.close());
  return c;
}

async function seed(c: CairnClient, prefix: string): Promise<void> {
  await c.txn().then(op.put(`${prefix}greeting`, '"hello"'), op.put(`${prefix}limits`, '{"rps":100,"burst":10}')).commit();
}

describe('config', () => {
  it('loads typed, with defaults; a bad first load is refused with the schema issues', async () => {
    const c = client();
    await seed(c, 'cfg1/');
    const cfg = await watchConfig(c, { prefix: 'cfg1', schema });
    closers.push(() => cfg.close());
    const current: AppConfig = cfg.current;
    expect(current).toEqual({ greeting: 'hello', limits: { rps: 100, burst: 10 }, debug: false });
    await c.kv.put('cfg2/greeting', '""');
    await expect(watchConfig(c, { prefix: 'cfg2/', schema })).rejects.toMatchObject({
      code: ErrorCode.InvalidConfig,
      message: expect.stringMatching(/greeting/),
    });
  });

  it('ends on the last value after a burst of 200 updates; a multi-key txn is never seen half-applied', async () => {
    const c = client();
    await seed(c, 'burst/');
    const cfg = await watchConfig(c, { prefix: 'burst/', schema });
    closers.push(() => cfg.close());
    const seen: ConfigChange<AppConfig>[] = [];
    cfg.on('change', (ch: ConfigChange<AppConfig>) => seen.push(ch));
    const writer = client();
    const writes: Promise<unknown>[] = [];
    for (let i = 1; i <= 200; i++) {
      // Each update writes both keys in one txn with matching values: rps = i, greeting = "v<i>".
      const ops = [op.put('burst/greeting', JSON.stringify(`v${i}`)), op.put('burst/limits', JSON.stringify({ rps: i, burst: i % 7 }))];
      writes.push(writer.txn().then(...ops).commit());
      if (i % 10 === 0) await Promise.all(writes.splice(0));
    }
    // The last value is whatever the store holds once every write is acknowledged.
    const final = JSON.parse((await c.kv.getString('burst/greeting'))!) as string;
    await waitFor('the last value', () => cfg.current.greeting === final, 20_000);
    const n = Number(final.slice(1));
    expect(cfg.current.limits).toEqual({ rps: n, burst: n % 7 });
    expect(seen.length).toBeGreaterThan(0);
    for (const ch of seen) expect(ch.current.greeting).toBe(`v${ch.current.limits.rps}`);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.revision).toBeGreaterThan(seen[i - 1]!.revision);
  });

  it('keeps the last good config when a value fails the schema or is not JSON, and says why', async () => {
    const c = client();
    await seed(c, 'guard/');
    const cfg = await watchConfig(c, { prefix: 'guard/', schema });
    closers.push(() => cfg.close());
    const invalid: { code: string; message: string }[] = [];
    cfg.on('invalid', (e: { code: string; message: string }) => invalid.push(e));
    await c.kv.put('guard/limits', '{"rps":-1,"burst":0}');
    await waitFor('the invalid value reported', () => invalid.length === 1);
    expect(invalid[0]).toMatchObject({ code: ErrorCode.InvalidConfig, message: expect.stringMatching(/limits\.rps|rps/) });
    expect(cfg.current.limits).toEqual({ rps: 100, burst: 10 });
    await c.kv.put('guard/greeting', 'not json');
    await waitFor('the non-JSON value reported', () => invalid.length === 2);
    expect(invalid[1]!.message).toMatch(/guard\/greeting is not JSON/);
    expect(cfg.current.greeting).toBe('hello');
    // Fixing both brings the config back to life.
    await c.txn().then(op.put('guard/limits', '{"rps":5,"burst":1}'), op.put('guard/greeting', '"fixed"')).commit();
    await waitFor('the fixed config', () => cfg.current.greeting === 'fixed');
    expect(cfg.current.limits.rps).toBe(5);
  });

  it('set() writes several fields in one revision and refuses what the schema rejects; namespaces stay apart', async () => {
    const c = client();
    await seed(c, 'env/prod/');
    await seed(c, 'env/staging/');
    const prod = await watchConfig(c, { prefix: 'env/prod/', schema });
    const staging = await watchConfig(c, { prefix: 'env/staging/', schema });
    closers.push(() => prod.close(), () => staging.close());
    const rev = await prod.set({ greeting: 'hi prod', debug: true });
    const [g, d] = await Promise.all([c.kv.get('env/prod/greeting'), c.kv.get('env/prod/debug')]);
    expect(g!.modRevision).toBe(rev);
    expect(d!.modRevision).toBe(rev);
    await waitFor('prod to see its change', () => prod.current.greeting === 'hi prod' && prod.current.debug);
    expect(staging.current.greeting).toBe('hello');
    await expect(prod.set({ limits: { rps: 0, burst: 0 } })).rejects.toMatchObject({ code: ErrorCode.InvalidConfig });
    expect(await c.kv.getString('env/prod/limits')).toBe('{"rps":100,"burst":10}');
  });

  it('set() of a valid field succeeds while another field holds an invalid value, and takes effect', async () => {
    const c = client();
    await seed(c, 'broken/');
    const cfg = await watchConfig(c, { prefix: 'broken/', schema });
    closers.push(() => cfg.close());
    const invalid: string[] = [];
    cfg.on('invalid', (e: Error) => invalid.push(e.message));
    // Someone writes a value the schema refuses, and a value that is not JSON at all.
    await c.kv.put('broken/limits', '{"rps":-1,"burst":0}');
    await c.kv.put('broken/debug', 'yes');
    await waitFor('both refusals reported', () => invalid.length === 2);
    const rev = await cfg.set({ greeting: 'still works' });
    expect((await c.kv.get('broken/greeting'))!.modRevision).toBe(rev);
    // The running config takes the new greeting; the broken fields stay as last accepted.
    await waitFor('the new greeting in force', () => cfg.current.greeting === 'still works');
    expect(cfg.current).toEqual({ greeting: 'still works', limits: { rps: 100, burst: 10 }, debug: false });
    // A bad value of the field being set is still refused, and nothing is written.
    await expect(cfg.set({ greeting: '' })).rejects.toMatchObject({ code: ErrorCode.InvalidConfig, message: expect.stringMatching(/greeting/) });
    expect(await c.kv.getString('broken/greeting')).toBe('"still works"');
  });

  it('lists a key\'s history and rolls back to an earlier revision', async () => {
    const c = client();
    await seed(c, 'hist/');
    const cfg = await watchConfig(c, { prefix: 'hist/', schema });
    closers.push(() => cfg.close());
    const revs: bigint[] = [];
    for (const v of ['one', 'two', 'three']) revs.push(await cfg.set({ greeting: v }));
    const h = await history(c, 'hist/greeting');
    expect(h.map((v) => v.value)).toEqual(['"three"', '"two"', '"one"', '"hello"']);
    expect(h.slice(0, 3).map((v) => v.revision)).toEqual([...revs].reverse());
    expect((await cfg.fieldHistory('greeting', { limit: 2 })).map((v) => v.value)).toEqual(['"three"', '"two"']);
    await cfg.rollback('greeting', revs[0]!);
    await waitFor('the rolled-back value in force', () => cfg.current.greeting === 'one');
    // The CLI sees the same history: the value as of a revision, and the rollback as a new version.
    expect((await ctl([`--endpoints=${member.endpoint}`, 'get', 'hist/greeting', `--rev=${revs[1]}`, '--print-value-only'])).stdout).toBe('"two"\n');
    expect((await history(c, 'hist/greeting')).length).toBe(5);
    await expect(rollback(c, 'hist/never', revs[0]!)).rejects.toMatchObject({ code: ErrorCode.KeyNotFound });
    // A rollback to a value that the schema no longer accepts is refused.
    const bad = await c.kv.put('hist/limits', '{"rps":0,"burst":0}');
    await c.kv.put('hist/limits', '{"rps":9,"burst":0}');
    await expect(cfg.rollback('limits', bad.header.revision)).rejects.toMatchObject({ code: ErrorCode.InvalidConfig });
  });

  it('a config cut off while the history it needs is compacted reads afresh and ends on the stored value', async () => {
    const c = client();
    await seed(c, 'gated/');
    const gate = await Gate.to(member.endpoint);
    closers.push(() => gate.close());
    const behind = new CairnClient({ endpoints: [gate.endpoint] });
    closers.push(() => behind.close());
    const cfg = await watchConfig(behind, { prefix: 'gated/', schema });
    closers.push(() => cfg.close());
    const seen: ConfigChange<AppConfig>[] = [];
    cfg.on('change', (ch: ConfigChange<AppConfig>) => seen.push(ch));
    const reloads: string[] = [];
    cfg.on('invalid', (e: Error) => reloads.push(e.message));
    gate.cut();
    await c.kv.put('gated/greeting', '"while away"');
    const last = await c.kv.put('gated/greeting', '"latest"');
    await c.kv.compact(last.header.revision, { physical: true });
    gate.reopen();
    await waitFor('the config to catch up past the compaction', () => cfg.current.greeting === 'latest', 20_000);
    // The revisions it missed are gone: it reports the difference as one change.
    expect(seen.map((ch) => ch.current.greeting)).toEqual(['latest']);
    expect(cfg.revision).toBeGreaterThanOrEqual(last.header.revision);
    // It got there by the reload: the resumed watch was refused as compacted.
    expect(reloads).toHaveLength(1);
    expect(reloads[0]).toMatch(/^watch of gated\/ ended \(.*compacted.*\); reloading$/);
  });
});
