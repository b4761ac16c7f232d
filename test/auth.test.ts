/**
 * Walkthrough section 3 (users, roles, authentication) as a user types it, against the real
 * daemon and cairnctl, with etcdctl's output lines and exit codes; then the permission matrix
 * through the client, token expiry and renewal, secrets kept out of logs, and fuzzed auth
 * requests.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Authenticate,
  RoleGrantPermission,
  UserAdd,
  UserChangePassword,
  UserGrantRole,
  type RequestDescriptor,
} from '@cairn/protocol';
import { CairnClient, ErrorCode, compare } from '@cairn/client';
import { CAIRNCTL_BIN, ROOT, ctl, singleMember, waitFor, type Member } from './support/process.js';
import { codeOf } from './support/codes.js';

let member: Member;
let cleanup: () => Promise<void>;
let E: string;

beforeAll(async () => {
  ({ member, cleanup } = await singleMember('auth', { extraArgs: ['--log-level=debug'] }));
  E = `--endpoints=${member.endpoint}`;
});
afterAll(async () => cleanup?.());

const ok = (stdout: string) => ({ code: 0, stdout, stderr: '' });
const fails = (code: number, line: string) => ({ code, stdout: '', stderr: `Error: ${line}\n` });

/**
 * Runs cairnctl inside a pseudo-terminal (util-linux `script`) and types each answer once its
 * prompt has appeared, like a user would.
 */
function ctlInTty(args: string[], answers: [prompt: string, line: string][]): Promise<{ code: number; output: string }> {
  const cmd = [process.execPath, CAIRNCTL_BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const proc = spawn('script', ['-qec', cmd, '/dev/null'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let seen = 0;
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`cairnctl in a tty did not finish: ${output}`));
    }, 30_000);
    proc.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      while (answers.length > 0 && output.indexOf(answers[0]![0], seen) >= 0) {
        const [prompt, line] = answers.shift()!;
        seen = output.indexOf(prompt, seen) + prompt.length;
        proc.stdin.write(`${line}\r`);
      }
    });
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output });
    });
  });
}
const hasScript = spawnSync('script', ['-qec', 'true', '/dev/null']).status === 0;

describe('walkthrough 3: users, roles, authentication', () => {
  it('runs verbatim with etcdctl output and exit codes', async () => {
    expect(await ctl([E, 'role', 'add', 'root'])).toEqual(ok('Role root created\n'));
    expect(await ctl([E, 'role', 'get', 'root'])).toEqual(ok('Role root\nKV Read:\nKV Write:\n'));
    if (hasScript) {
      // `user add root` prompts twice, hidden; the typed password is not echoed.
      const r = await ctlInTty([E, 'user', 'add', 'root'], [
        ['Password of root: ', 'rootpw'],
        ['Type password of root again for confirmation: ', 'rootpw'],
      ]);
      expect(r.code, r.output).toBe(0);
      expect(r.output).toContain('Password of root: ');
      expect(r.output).toContain('Type password of root again for confirmation: ');
      expect(r.output).toContain('User root created');
      expect(r.output).not.toContain('rootpw');
    } else {
      expect(await ctl([E, 'user', 'add', 'root', '--new-user-password=rootpw'])).toEqual(ok('User root created\n'));
    }
    // Refused while root lacks the root role.
    expect(await ctl([E, 'auth', 'enable'])).toEqual(fails(1, 'root user does not have root role'));
    expect(await ctl([E, 'user', 'grant-role', 'root', 'root'])).toEqual(ok('Role root is granted to user root\n'));
    expect(await ctl([E, 'user', 'get', 'root'])).toEqual(ok('User: root\nRoles: root\n'));
    expect(await ctl([E, 'role', 'add', 'role0'])).toEqual(ok('Role role0 created\n'));
    expect(await ctl([E, 'role', 'grant-permission', 'role0', 'readwrite', 'foo'])).toEqual(ok('Role role0 updated\n'));
    expect(await ctl([E, 'user', 'add', 'user0', '--interactive=false'], { stdin: '123\n' })).toEqual(ok('User user0 created\n'));
    expect(await ctl([E, 'user', 'grant-role', 'user0', 'role0'])).toEqual(ok('Role role0 is granted to user user0\n'));
    expect(await ctl([E, 'auth', 'enable'])).toEqual(ok('Authentication Enabled\n'));
    expect(await ctl([E, '--user=user0:123', 'put', 'foo', 'bar'])).toEqual(ok('OK\n'));
    expect(await ctl([E, 'get', 'foo'])).toEqual(fails(1, 'user name is empty'));
    // The member is still healthy for a checker without credentials.
    expect(await ctl([E, 'endpoint', 'health'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/is healthy/) });
    expect(await ctl([E, '--user=user0:123', 'get', 'foo'])).toEqual(ok('foo\nbar\n'));
    expect(await ctl([E, '--user=user0:123', 'get', 'foo1'])).toEqual(fails(1, 'permission denied'));
    // The rest of the reference transcript.
    expect(await ctl([E, 'put', 'foo1', 'x', '--user=user0:123'])).toEqual(fails(1, 'permission denied'));
    expect(await ctl([E, 'get', 'foo', '--user=user0:wrong'])).toEqual(fails(2, 'authentication failed, invalid user ID or password'));
    expect(await ctl([E, 'user', 'list', '--user=root:rootpw'])).toEqual(ok('root\nuser0\n'));
    expect(await ctl([E, 'role', 'get', 'role0', '--user=root:rootpw'])).toEqual(ok('Role role0\nKV Read:\n\tfoo\nKV Write:\n\tfoo\n'));
    expect(await ctl([E, 'role', 'add', 'role1', '--user=user0:123'])).toEqual(fails(1, 'permission denied'));
    expect(await ctl([E, 'auth', 'status', '--user=root', '--password=rootpw'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Authentication Status: true\nAuthRevision: \d+\n$/) });
    if (hasScript) {
      // `--user=NAME` alone asks for the password on the terminal.
      const r = await ctlInTty([E, '--user=user0', 'get', 'foo'], [['Password: ', '123']]);
      expect(r.output).toContain('Password: ');
      expect(r.output).toContain('foo\r\nbar');
      expect(r.output).not.toContain('123');
    }
    expect(await ctl([E, 'auth', 'disable', '--user=root:rootpw'])).toEqual(ok('Authentication Disabled\n'));
    expect(await ctl([E, 'get', 'foo'])).toEqual(ok('foo\nbar\n'));
  });

  it('role grant-permission takes ranges, prefixes and from-key', async () => {
    expect(await ctl([E, 'role', 'grant-permission', 'role0', 'read', 'a', 'c'])).toEqual(ok('Role role0 updated\n'));
    expect(await ctl([E, 'role', 'grant-permission', 'role0', 'write', 'p/', '--prefix'])).toEqual(ok('Role role0 updated\n'));
    expect(await ctl([E, 'role', 'grant-permission', 'role0', 'readwrite', 'z', '--from-key'])).toEqual(ok('Role role0 updated\n'));
    expect(await ctl([E, 'role', 'get', 'role0'])).toEqual(
      ok('Role role0\nKV Read:\n\t[a, c)\n\tfoo\n\t[z, <open ended>\nKV Write:\n\tfoo\n\t[p/, p0) (prefix p/)\n\t[z, <open ended>\n'),
    );
    expect(await ctl([E, 'role', 'revoke-permission', 'role0', 'a', 'c'])).toEqual(ok('Permission of range [a, c) is revoked from role role0\n'));
    expect(await ctl([E, 'role', 'revoke-permission', 'role0', 'a', 'c'])).toEqual(fails(1, 'permission is not granted to the role'));
    expect(await ctl([E, 'role', 'grant-permission', 'role0', 'execute', 'x'])).toEqual(fails(128, 'invalid permission type execute'));
    expect(await ctl([E, 'user', 'add', 'root', '--new-user-password=x'])).toEqual(fails(1, 'user name already exists'));
    expect(await ctl([E, 'role', 'list'])).toEqual(ok('role0\nroot\n'));
  });

  it('never writes a password to the member log or its data directory', () => {
    for (const secret of ['rootpw', '123', 'wrong']) {
      expect(member.log.includes(`"${secret}"`) || member.log.includes(`:${secret}`)).toBe(false);
    }
    // Every file of the data directory (RocksDB tables, WAL, manifest) holds only hashes.
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
    const all = files(member.opts.dataDir);
    expect(all.length).toBeGreaterThan(0);
    for (const f of all) expect(readFileSync(f).includes('rootpw'), f).toBe(false);
  });
});

const client = (o: Partial<ConstructorParameters<typeof CairnClient>[0]> = {}) =>
  new CairnClient({ endpoints: [member.endpoint], dialTimeoutMs: 5000, requestTimeoutMs: 10_000, ...o });

describe('authorization on every request', () => {
  let root: CairnClient;
  beforeAll(async () => {
    root = client({ username: 'root', password: 'rootpw' });
    const a = root.auth;
    await a.roleAdd('readers');
    await a.roleGrantPermission('readers', 'read', 'm/', { prefix: true });
    await a.roleAdd('writers');
    await a.roleGrantPermission('writers', 'write', 'm/', { prefix: true });
    await a.userAdd('reader', 'r');
    await a.userGrantRole('reader', 'readers');
    await a.userAdd('writer', 'w');
    await a.userGrantRole('writer', 'writers');
    await a.userAdd('both', 'b');
    await a.userGrantRole('both', 'readers');
    await a.userGrantRole('both', 'writers');
    await root.kv.put('m/k', 'v');
    await a.enable();
  });
  afterAll(async () => {
    await root.auth.disable();
    root.close();
  });

  it('allows and denies each operation by permission', async () => {
    const users = { reader: client({ username: 'reader', password: 'r' }), writer: client({ username: 'writer', password: 'w' }), both: client({ username: 'both', password: 'b' }) };
    const anon = client();
    try {
      const ops: [string, (c: CairnClient) => Promise<unknown>, { reader: string; writer: string; both: string }][] = [
        ['get', (c) => c.kv.get('m/k'), { reader: 'ok', writer: 'permission_denied', both: 'ok' }],
        ['get prefix', (c) => c.kv.getPrefix('m/'), { reader: 'ok', writer: 'permission_denied', both: 'ok' }],
        ['get outside', (c) => c.kv.get('x'), { reader: 'permission_denied', writer: 'permission_denied', both: 'permission_denied' }],
        ['put', (c) => c.kv.put('m/k', 'v2'), { reader: 'permission_denied', writer: 'ok', both: 'ok' }],
        ['put prevKv', (c) => c.kv.put('m/k', 'v3', { prevKv: true }), { reader: 'permission_denied', writer: 'permission_denied', both: 'ok' }],
        ['delete', (c) => c.kv.delete('m/gone'), { reader: 'permission_denied', writer: 'ok', both: 'ok' }],
        [
          'txn compare+put',
          (c) => c.txn().if(compare.version('m/k', '>', 0)).then({ put: { key: new TextEncoder().encode('m/t'), value: new Uint8Array([1]) } }).commit(),
          { reader: 'permission_denied', writer: 'permission_denied', both: 'ok' },
        ],
        [
          'txn else branch checked too',
          (c) => c.txn().then({ range: { key: new TextEncoder().encode('m/k') } }).else({ put: { key: new TextEncoder().encode('x'), value: new Uint8Array([1]) } }).commit(),
          { reader: 'permission_denied', writer: 'permission_denied', both: 'permission_denied' },
        ],
        ['compact', (c) => c.kv.compact(1), { reader: 'permission_denied', writer: 'permission_denied', both: 'permission_denied' }],
        ['status', (c) => c.maintenance.status(), { reader: 'permission_denied', writer: 'permission_denied', both: 'permission_denied' }],
        ['member list', (c) => c.cluster.memberList(), { reader: 'permission_denied', writer: 'permission_denied', both: 'permission_denied' }],
        ['alarm list', (c) => c.maintenance.alarmList(), { reader: 'permission_denied', writer: 'permission_denied', both: 'permission_denied' }],
        ['user add', (c) => c.auth.userAdd('x', 'x'), { reader: 'permission_denied', writer: 'permission_denied', both: 'permission_denied' }],
        ['role list', (c) => c.auth.roleList(), { reader: 'permission_denied', writer: 'permission_denied', both: 'permission_denied' }],
        ['user get self', (c) => c.auth.userGet('both'), { reader: 'permission_denied', writer: 'permission_denied', both: 'ok' }],
        ['auth disable', (c) => c.auth.disable(), { reader: 'permission_denied', writer: 'permission_denied', both: 'permission_denied' }],
      ];
      for (const [name, run, want] of ops) {
        for (const u of ['reader', 'writer', 'both'] as const) {
          expect(`${name} as ${u}: ${await codeOf(run(users[u]))}`).toBe(`${name} as ${u}: ${want[u]}`);
        }
        expect(`${name} anonymous: ${await codeOf(run(anon))}`).toBe(`${name} anonymous: ${ErrorCode.UserEmpty}`);
        // Root may do everything.
        if (name !== 'auth disable' && name !== 'user add' && name !== 'user get self') expect(`${name} as root: ${await codeOf(run(root))}`).toBe(`${name} as root: ok`);
      }
      // A grant change applies to the very next request on the same connection and token.
      expect(await codeOf(users.reader.kv.get('m/k'))).toBe('ok');
      await root.auth.userRevokeRole('reader', 'readers');
      expect(await codeOf(users.reader.kv.get('m/k'))).toBe(ErrorCode.PermissionDenied);
      await root.auth.userGrantRole('reader', 'readers');
      expect(await codeOf(users.reader.kv.get('m/k'))).toBe('ok');
      // A wrong password fails authentication; so does a deleted user's next login.
      expect(await codeOf(client({ username: 'reader', password: 'nope' }).kv.get('m/k'))).toBe(ErrorCode.AuthFailed);
    } finally {
      for (const c of [...Object.values(users), anon]) c.close();
    }
  });

  it('fuzzed auth requests never crash the member', async () => {
    const anyValue = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.integer(),
      fc.constant(null),
      fc.boolean(),
      fc.uint8Array({ maxLength: 40 }),
      fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom('permType', 'key', 'rangeEnd', 'x'), fc.oneof(fc.string({ maxLength: 5 }), fc.integer())),
    );
    const descriptors: RequestDescriptor<unknown, unknown>[] = [Authenticate, UserAdd, UserChangePassword, UserGrantRole, RoleGrantPermission];
    const params = fc.dictionary(fc.constantFrom('name', 'password', 'user', 'role', 'perm', 'key', 'noPassword'), anyValue, { maxKeys: 5 });
    const fuzz = client({ username: 'root', password: 'rootpw' });
    try {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...descriptors), params, async (d, p) => {
          const c = await codeOf(fuzz.request(d, p as never, { timeoutMs: 10_000 }));
          expect(c).not.toBe(ErrorCode.Internal);
        }),
        { numRuns: 60 },
      );
      expect(member.exitCode).toBeUndefined();
      expect(await codeOf(fuzz.kv.get('m/k'))).toBe('ok');
    } finally {
      fuzz.close();
    }
  });
});

describe('tokens', () => {
  it('expire after --auth-token-ttl; the client renews them transparently', async () => {
    const short = await singleMember('ttl', { extraArgs: ['--auth-token-ttl=1'] });
    const ep = [short.member.endpoint];
    try {
      const setup = new CairnClient({ endpoints: ep });
      await setup.auth.roleAdd('root');
      await setup.auth.userAdd('root', 'pw');
      await setup.auth.userGrantRole('root', 'root');
      await setup.auth.enable();
      setup.close();
      const login = new CairnClient({ endpoints: ep });
      const { token } = await login.auth.authenticate('root', 'pw');
      login.close();
      const fixed = new CairnClient({ endpoints: ep, token });
      expect(await codeOf(fixed.kv.put('k', 'v'))).toBe('ok');
      await waitFor('the token to expire', async () => (await codeOf(fixed.kv.get('k'))) === ErrorCode.InvalidAuthToken, 10_000, 100);
      fixed.close();
      // A client with credentials logs in again when its token expires, and retries once.
      const renewed: string[] = [];
      const c = new CairnClient({ endpoints: ep, username: 'root', password: 'pw', logger: { debug: (m) => renewed.push(m) } });
      expect(await codeOf(c.kv.put('k', '1'))).toBe('ok');
      await waitFor('a renewal', async () => (await codeOf(c.kv.get('k'))) === 'ok' && renewed.includes('auth token refused, authenticating again'), 10_000, 200);
      c.close();
    } finally {
      await short.cleanup();
    }
  });
});
