/** Walkthrough section 5 (prefixes, transactions), as a user types it. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctl, singleMember, type Member } from './support/process.js';

let member: Member;
let cleanup: () => Promise<void>;
let e: string[];

beforeAll(async () => {
  ({ member, cleanup } = await singleMember());
  e = [`--endpoints=${member.endpoint}`];
});
afterAll(async () => cleanup?.());

const txnScript = [
  'value("/users/12345/email") = "old.address@johndoe.com"',
  '',
  'put /users/12345/email "new.address@johndoe.com"',
  '',
  'get /users/12345/email',
  '',
  '',
].join('\n');

describe('prefixes (walkthrough 5)', () => {
  it('gets and deletes by prefix', async () => {
    expect((await ctl([...e, 'put', 'k1', 'value1'])).stdout).toBe('OK\n');
    expect((await ctl([...e, 'put', 'k2', 'value2'])).stdout).toBe('OK\n');
    expect(await ctl([...e, 'get', 'k', '--prefix'])).toMatchObject({ code: 0, stdout: 'k1\nvalue1\nk2\nvalue2\n' });
    expect(await ctl([...e, 'get', 'k', '--prefix', '--keys-only'])).toMatchObject({ code: 0, stdout: 'k1\n\nk2\n\n' });
    expect(await ctl([...e, 'get', 'k', '--prefix', '--limit=1'])).toMatchObject({ code: 0, stdout: 'k1\nvalue1\n' });
    expect(await ctl([...e, 'get', 'k', '--prefix', '--print-value-only'])).toMatchObject({ stdout: 'value1\nvalue2\n' });
    expect(await ctl([...e, 'get', 'k', '--prefix', '--order=DESCEND', '--sort-by=KEY'])).toMatchObject({
      stdout: 'k2\nvalue2\nk1\nvalue1\n',
    });
    expect(await ctl([...e, 'del', 'k', '--prefix'])).toMatchObject({ code: 0, stdout: '2\n' });
    expect(await ctl([...e, 'get', 'k', '--prefix'])).toMatchObject({ code: 0, stdout: '' });
  });
});

describe('transactions (walkthrough 5)', () => {
  it('runs the walkthrough txn from stdin: success, then failure', async () => {
    expect((await ctl([...e, 'put', '/users/12345/email', 'old.address@johndoe.com'])).stdout).toBe('OK\n');
    expect(await ctl([...e, 'txn'], { stdin: txnScript })).toMatchObject({ code: 0, stdout: 'SUCCESS\n\nOK\n' });
    expect(await ctl([...e, 'txn'], { stdin: txnScript })).toMatchObject({
      code: 0,
      stdout: 'FAILURE\n\n/users/12345/email\nnew.address@johndoe.com\n',
    });
  });

  it('prints a txn as etcdctl JSON', async () => {
    const r = await ctl([...e, 'txn', '-w', 'json'], { stdin: txnScript });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      succeeded?: boolean;
      responses: { Response: { ResponseRange: { kvs: { key: string; value: string; version: number }[]; count: number } } }[];
    };
    expect(doc.succeeded).toBeUndefined(); // omitted when false, like etcdctl
    const range = doc.responses[0]!.Response.ResponseRange;
    expect(range.count).toBe(1);
    expect(Buffer.from(range.kvs[0]!.key, 'base64').toString()).toBe('/users/12345/email');
    expect(Buffer.from(range.kvs[0]!.value, 'base64').toString()).toBe('new.address@johndoe.com');
  });

  it('runs the interactive form with the prompts, several puts in one revision', async () => {
    await ctl([...e, 'put', '/users/12345/phone', '123-456-7890']);
    const before = JSON.parse((await ctl([...e, '-w', 'json', 'get', '/users/12345/phone'])).stdout) as { header: { revision: number } };
    const script = [
      'value("/users/12345/email") = "new.address@johndoe.com"',
      '',
      'put /users/12345/email "newer.address@johndoe.com"',
      'put /users/12345/phone "098-765-4321"',
      '',
      'get /users/12345/email',
      '',
      '',
    ].join('\n');
    const r = await ctl([...e, 'txn', '--interactive'], { stdin: script });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('compares:');
    expect(r.stdout).toContain('success requests (get, put, del):');
    expect(r.stdout).toContain('failure requests (get, put, del):');
    expect(r.stdout).toMatch(/SUCCESS\n\nOK\n\nOK\n$/);
    const email = JSON.parse((await ctl([...e, '-w', 'json', 'get', '/users/12345/email'])).stdout) as {
      header: { revision: number };
      kvs: { mod_revision: number }[];
    };
    const phone = JSON.parse((await ctl([...e, '-w', 'json', 'get', '/users/12345/phone'])).stdout) as { kvs: { mod_revision: number; value: string }[] };
    expect(email.header.revision).toBe(before.header.revision + 1);
    expect(email.kvs[0]!.mod_revision).toBe(before.header.revision + 1);
    expect(phone.kvs[0]!.mod_revision).toBe(before.header.revision + 1);
    expect(Buffer.from(phone.kvs[0]!.value, 'base64').toString()).toBe('098-765-4321');
  });

  it('compares on version, create and mod revisions', async () => {
    await ctl([...e, 'put', 'vk', 'a']);
    await ctl([...e, 'put', 'vk', 'b']);
    const ok = await ctl([...e, 'txn'], { stdin: 'version("vk") = "2"\ncreate("vk") > "0"\nmod("vk") > "0"\n\nput vk c\n\n\n' });
    expect(ok).toMatchObject({ code: 0, stdout: 'SUCCESS\n\nOK\n' });
    const no = await ctl([...e, 'txn'], { stdin: 'version("vk") < "2"\n\nput vk d\n\nget vk\n\n' });
    expect(no).toMatchObject({ code: 0, stdout: 'FAILURE\n\nvk\nc\n' });
  });

  it('refuses a txn that puts the same key twice, changing nothing', async () => {
    await ctl([...e, 'put', 'dup', 'orig']);
    const r = await ctl([...e, 'txn'], { stdin: '\nput dup 1\nput dup 2\n\n\n' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('duplicate key given in txn request');
    expect((await ctl([...e, 'get', 'dup'])).stdout).toBe('dup\norig\n');
  });
});
