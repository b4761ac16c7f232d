import { Option, type Command } from 'commander';
import type { AuthHeaderResponse, CairnClient, KeyRange, PermissionType } from '@cairn/client';
import type { CliIo, Context } from '../context.js';
import { ExitCode, UsageError } from '../exitCodes.js';
import { alarmText, authJson, permJson, roleGetText, userGetText } from '../output/auth.js';
import { withContext } from './kv.js';

/**
 * etcdctl's `user`, `role`, `auth` and `alarm` commands, with its output lines
 * ("Role root created", "User root created", "Authentication Enabled" ...).
 */

const PERM_TYPES: Record<string, PermissionType> = { read: 'read', write: 'write', readwrite: 'readwrite' };

/** Prints `text` in the simple formats, or the response as JSON with `-w json`. */
function say(ctx: Context, res: AuthHeaderResponse, text: string): void {
  ctx.io.out(ctx.format === 'json' ? authJson(res.header) : text);
}

/** The password of a new user (or a new password): the flag, stdin, or two prompts. */
async function newPassword(ctx: Context, name: string, flags: { newUserPassword?: string; interactive?: boolean }): Promise<string> {
  if (flags.newUserPassword !== undefined) return flags.newUserPassword;
  if (flags.interactive === false) {
    // Like etcdctl --interactive=false: the first line of stdin.
    const lines = ctx.io.stdin.lines();
    try {
      return (await lines.readLine()) ?? '';
    } finally {
      lines.close();
    }
  }
  const read = ctx.io.readPassword;
  if (read === undefined) {
    throw new UsageError('no terminal to ask for the password on: use --new-user-password or --interactive=false (reads stdin)');
  }
  const first = await read(`Password of ${name}: `);
  const again = await read(`Type password of ${name} again for confirmation: `);
  if (first !== again) throw new UsageError('given passwords are different', ExitCode.BadArgs);
  return first;
}

function keyRange(key: string, rangeEnd: string | undefined, flags: { prefix?: boolean; fromKey?: boolean }): KeyRange {
  const set = [rangeEnd !== undefined, flags.prefix === true, flags.fromKey === true].filter(Boolean).length;
  if (set > 1) throw new UsageError('--from-key, --prefix and a range end are mutually exclusive');
  if (rangeEnd !== undefined) return { rangeEnd };
  if (flags.prefix === true) return { prefix: true };
  if (flags.fromKey === true) return { fromKey: true };
  return {};
}

function rangeText(key: string, rangeEnd: string | undefined, range: KeyRange): string {
  if (range.prefix === true) return `range [${key}, <prefix ${key}>)`;
  if (range.fromKey === true) return `range [${key}, <open ended>`;
  if (rangeEnd !== undefined) return `range [${key}, ${rangeEnd})`;
  return `key ${key}`;
}

export function registerAuthCommands(program: Command, io: CliIo): void {
  const run = <A extends unknown[]>(body: (ctx: Context, client: CairnClient, ...args: A) => Promise<void>) =>
    withContext(io, async (ctx, ...args: A) => body(ctx, await ctx.client(), ...args));

  // ---- auth ---------------------------------------------------------------------------------
  const auth = program.command('auth').summary('Enable or disable authentication');
  auth
    .command('enable')
    .summary('Enables authentication')
    .action(run(async (ctx, c) => say(ctx, await c.auth.enable(), 'Authentication Enabled\n')));
  auth
    .command('disable')
    .summary('Disables authentication')
    .action(run(async (ctx, c) => say(ctx, await c.auth.disable(), 'Authentication Disabled\n')));
  auth
    .command('status')
    .summary('Returns authentication status')
    .action(
      run(async (ctx, c) => {
        const res = await c.auth.status();
        ctx.io.out(
          ctx.format === 'json'
            ? authJson(res.header, { enabled: res.enabled, authRevision: res.authRevision })
            : `Authentication Status: ${res.enabled}\nAuthRevision: ${res.authRevision}\n`,
        );
      }),
    );

  // ---- user ---------------------------------------------------------------------------------
  const user = program.command('user').summary('User related commands');
  user
    .command('add')
    .summary('Adds a new user')
    .argument('<name[:password]>')
    .option('--interactive', 'read password from stdin instead of interactive terminal')
    .addOption(new Option('--no-interactive').hideHelp())
    .option('--new-user-password <password>', 'supply password from the command line flag')
    .action(
      run(async (ctx, c, arg: string, flags: { interactive?: boolean; newUserPassword?: string }) => {
        const colon = arg.indexOf(':');
        let name = arg;
        let password: string;
        if (colon >= 0) {
          name = arg.slice(0, colon);
          password = arg.slice(colon + 1);
        } else {
          password = await newPassword(ctx, name, flags);
        }
        say(ctx, await c.auth.userAdd(name, password), `User ${name} created\n`);
      }),
    );
  user
    .command('delete')
    .summary('Deletes a user')
    .argument('<name>')
    .action(run(async (ctx, c, name: string) => say(ctx, await c.auth.userDelete(name), `User ${name} deleted\n`)));
  user
    .command('get')
    .summary('Gets detailed information of a user')
    .argument('<name>')
    .action(
      run(async (ctx, c, name: string) => {
        const res = await c.auth.userGet(name);
        ctx.io.out(ctx.format === 'json' ? authJson(res.header, { roles: res.roles }) : userGetText(name, res.roles));
      }),
    );
  user
    .command('list')
    .summary('Lists all users')
    .action(
      run(async (ctx, c) => {
        const res = await c.auth.userList();
        ctx.io.out(ctx.format === 'json' ? authJson(res.header, { users: res.users }) : res.users.map((u) => `${u}\n`).join(''));
      }),
    );
  user
    .command('passwd')
    .summary('Changes password of user')
    .argument('<name>')
    .option('--interactive', 'if true, read password from stdin instead of interactive terminal')
    .addOption(new Option('--no-interactive').hideHelp())
    .action(
      run(async (ctx, c, name: string, flags: { interactive?: boolean }) => {
        const password = await newPassword(ctx, name, flags);
        say(ctx, await c.auth.userChangePassword(name, password), 'Password updated\n');
      }),
    );
  user
    .command('grant-role')
    .summary('Grants a role to a user')
    .argument('<user>')
    .argument('<role>')
    .action(
      run(async (ctx, c, name: string, role: string) =>
        say(ctx, await c.auth.userGrantRole(name, role), `Role ${role} is granted to user ${name}\n`),
      ),
    );
  user
    .command('revoke-role')
    .summary('Revokes a role from a user')
    .argument('<user>')
    .argument('<role>')
    .action(
      run(async (ctx, c, name: string, role: string) =>
        say(ctx, await c.auth.userRevokeRole(name, role), `Role ${role} is revoked from user ${name}\n`),
      ),
    );

  // ---- role ---------------------------------------------------------------------------------
  const role = program.command('role').summary('Role related commands');
  role
    .command('add')
    .summary('Adds a new role')
    .argument('<role>')
    .action(run(async (ctx, c, name: string) => say(ctx, await c.auth.roleAdd(name), `Role ${name} created\n`)));
  role
    .command('delete')
    .summary('Deletes a role')
    .argument('<role>')
    .action(run(async (ctx, c, name: string) => say(ctx, await c.auth.roleDelete(name), `Role ${name} deleted\n`)));
  role
    .command('get')
    .summary('Gets detailed information of a role')
    .argument('<role>')
    .action(
      run(async (ctx, c, name: string) => {
        const res = await c.auth.roleGet(name);
        ctx.io.out(ctx.format === 'json' ? authJson(res.header, { perm: res.perm.map(permJson) }) : roleGetText(name, res.perm));
      }),
    );
  role
    .command('list')
    .summary('Lists all roles')
    .action(
      run(async (ctx, c) => {
        const res = await c.auth.roleList();
        ctx.io.out(ctx.format === 'json' ? authJson(res.header, { roles: res.roles }) : res.roles.map((r) => `${r}\n`).join(''));
      }),
    );
  role
    .command('grant-permission')
    .summary('Grants a key to a role')
    .argument('<role>')
    .argument('<permission type>', 'read, write or readwrite')
    .argument('<key>')
    .argument('[endkey]')
    .option('--prefix', 'grant a prefix permission')
    .option('--from-key', 'grant a permission of keys that are greater than or equal to the given key using byte compare')
    .action(
      run(async (ctx, c, name: string, type: string, key: string, end: string | undefined, flags: { prefix?: boolean; fromKey?: boolean }) => {
        const permType = PERM_TYPES[type.toLowerCase()];
        if (permType === undefined) throw new UsageError(`invalid permission type ${type}`);
        const res = await c.auth.roleGrantPermission(name, permType, key, keyRange(key, end, flags));
        say(ctx, res, `Role ${name} updated\n`);
      }),
    );
  role
    .command('revoke-permission')
    .summary('Revokes a key from a role')
    .argument('<role>')
    .argument('<key>')
    .argument('[endkey]')
    .option('--prefix', 'revoke a prefix permission')
    .option('--from-key', 'revoke a permission of keys that are greater than or equal to the given key using byte compare')
    .action(
      run(async (ctx, c, name: string, key: string, end: string | undefined, flags: { prefix?: boolean; fromKey?: boolean }) => {
        const range = keyRange(key, end, flags);
        const res = await c.auth.roleRevokePermission(name, key, range);
        say(ctx, res, `Permission of ${rangeText(key, end, range)} is revoked from role ${name}\n`);
      }),
    );

  // ---- alarm --------------------------------------------------------------------------------
  const alarm = program.command('alarm').summary('Alarm related commands');
  alarm
    .command('list')
    .summary('Lists all alarms')
    .action(
      run(async (ctx, c) => {
        const res = await c.maintenance.alarmList();
        ctx.io.out(ctx.format === 'json' ? authJson(res.header, { alarms: res.alarms.map((a) => ({ memberID: a.memberId, alarm: a.alarm.toUpperCase() })) }) : alarmText(res.alarms));
      }),
    );
  alarm
    .command('disarm')
    .summary('Disarms all alarms')
    .action(
      run(async (ctx, c) => {
        const res = await c.maintenance.alarmDisarm();
        ctx.io.out(ctx.format === 'json' ? authJson(res.header, { alarms: res.alarms.map((a) => ({ memberID: a.memberId, alarm: a.alarm.toUpperCase() })) }) : alarmText(res.alarms));
      }),
    );
}
