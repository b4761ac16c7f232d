/**
 * Walkthrough section 2, as a user types it: one member, put/get, and the output formats that
 * scripts written for etcdctl parse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctl, freePort, singleMember, type Member } from './support/process.js';

let member: Member;
let cleanup: () => Promise<void>;
let e: string[];

beforeAll(async () => {
  ({ member, cleanup } = await singleMember());
  e = [`--endpoints=${member.endpoint}`];
});
afterAll(async () => cleanup?.());

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('quick start (walkthrough 2)', () => {
  it('puts and gets a key', async () => {
    expect(await ctl([...e, 'put', 'greeting', 'hello, cairn'])).toMatchObject({ code: 0, stdout: 'OK\n' });
    expect(await ctl([...e, 'get', 'greeting'])).toMatchObject({ code: 0, stdout: 'greeting\nhello, cairn\n' });
  });

  it('prints nothing and exits 0 for a missing key', async () => {
    expect(await ctl([...e, 'get', 'no-such-key'])).toMatchObject({ code: 0, stdout: '' });
  });

  it('prints etcdctl-shaped JSON with exact 64-bit ids and base64 bytes', async () => {
    await ctl([...e, 'put', 'foo', 'bar']);
    await ctl([...e, 'put', 'foo', 'Hello World!']);
    const r = await ctl([...e, '--write-out=json', 'get', 'foo']);
    expect(r.code).toBe(0);
    const text = r.stdout.trim();
    // The ids are 64-bit: read them from the text, never through a double.
    const memberId = BigInt(/"member_id":(\d+)/.exec(text)![1]!);
    expect(/"cluster_id":\d+/.test(text)).toBe(true);
    const doc = JSON.parse(text) as {
      header: { revision: number; raft_term: number };
      kvs: { key: string; value: string; create_revision: number; mod_revision: number; version: number; lease?: number }[];
      count: number;
    };
    expect(doc.count).toBe(1);
    expect(doc.kvs).toHaveLength(1);
    const kv = doc.kvs[0]!;
    expect(kv.key).toBe(b64('foo'));
    expect(kv.value).toBe(b64('Hello World!'));
    expect(kv.version).toBe(2);
    expect(kv.mod_revision).toBe(kv.create_revision + 1);
    expect(doc.header.revision).toBe(kv.mod_revision);
    expect(kv.lease).toBeUndefined();
    // The same member id, printed in hex by `member list`, must be the exact same 64 bits.
    const list = await ctl([...e, 'member', 'list']);
    expect(list.code).toBe(0);
    const hexId = list.stdout.split(',')[0]!.trim();
    expect(BigInt(`0x${hexId}`)).toBe(memberId);
  });

  it('prints the fields and table forms', async () => {
    const fields = await ctl([...e, '-w', 'fields', 'get', 'foo']);
    expect(fields.code).toBe(0);
    expect(fields.stdout).toContain('"Key" : "foo"');
    expect(fields.stdout).toContain('"Value" : "Hello World!"');
    expect(fields.stdout).toMatch(/"Revision" : \d+/);
    const table = await ctl([...e, '-w', 'table', 'get', 'foo']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^\+-+\+-+\+$/);
    expect(lines[1]).toMatch(/\|\s*KEY\s*\|\s*VALUE\s*\|/);
    expect(table.stdout).toMatch(/\|\s*foo\s*\|\s*Hello World!\s*\|/);
  });

  it('fails with one clear line and a non-zero exit for a future revision', async () => {
    const r = await ctl([...e, 'get', 'foo', '--rev=100000']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('required revision is a future revision');
  });

  it('compacts, and then refuses reads below the compaction point', async () => {
    await ctl([...e, 'put', 'c', '1']);
    const first = JSON.parse((await ctl([...e, '-w', 'json', 'get', 'c'])).stdout) as { header: { revision: number } };
    await ctl([...e, 'put', 'c', '2']);
    const now = JSON.parse((await ctl([...e, '-w', 'json', 'get', 'c'])).stdout) as { header: { revision: number } };
    expect(await ctl([...e, 'get', 'c', `--rev=${first.header.revision}`])).toMatchObject({ code: 0, stdout: 'c\n1\n' });
    expect(await ctl([...e, 'compaction', String(now.header.revision)])).toMatchObject({
      code: 0,
      stdout: `compacted revision ${now.header.revision}\n`,
    });
    const old = await ctl([...e, 'get', 'c', `--rev=${first.header.revision}`]);
    expect(old.code).not.toBe(0);
    expect(old.stderr).toContain('required revision has been compacted');
    expect(await ctl([...e, 'get', 'c'])).toMatchObject({ code: 0, stdout: 'c\n2\n' });
  });

  it('reports an unreachable endpoint in one line', async () => {
    const port = await freePort();
    const r = await ctl([`--endpoints=127.0.0.1:${port}`, '--dial-timeout=1s', 'get', 'foo']);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^Error: /);
  });
});
