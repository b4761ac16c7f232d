import type { Command } from 'commander';
import type { CairnClient, Member, ResponseHeader } from '@cairn/client';
import type { CliIo, Context } from '../context.js';
import { ExitCode, UsageError } from '../exitCodes.js';
import {
  headerOnlyJson,
  memberAddJson,
  memberAddText,
  memberChangeJson,
  memberChangeText,
  moveLeaderText,
  newMemberEnv,
  type MemberChange,
} from '../output/members.js';
import { withContext } from './kv.js';

/*
 * etcdctl's `member` commands and `move-leader`: the same arguments, flags, output lines and
 * exit codes. Member ids are hexadecimal, as `member list` prints them.
 */

const MAX_UINT64 = (1n << 64n) - 1n;

/** A member id as etcdctl takes it (strconv.ParseUint(s, 16, 64)): hex digits, no prefix. */
export function parseMemberHex(text: string): bigint {
  const why = !/^[0-9a-fA-F]+$/.test(text) ? 'invalid syntax' : BigInt(`0x${text}`) > MAX_UINT64 ? 'value out of range' : undefined;
  if (why !== undefined) {
    throw new UsageError(`bad member ID arg (strconv.ParseUint: parsing ${JSON.stringify(text)}: ${why}), expecting ID in Hex`);
  }
  return BigInt(`0x${text}`);
}

/** `--peer-urls=a,b`: each an http(s) URL with a host and port and no path. */
export function parsePeerUrls(flag: string | undefined): string[] {
  if (flag === undefined || flag.trim() === '') throw new UsageError('member peer urls not provided');
  return flag.split(',').map((raw) => {
    const u = raw.trim();
    let url: URL | undefined;
    try {
      url = new URL(u);
    } catch {
      url = undefined;
    }
    const ok = url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:') && url.port !== '' && url.pathname === '/' && url.search === '';
    if (!ok) throw new UsageError(`--peer-urls: ${JSON.stringify(u)} is not a peer URL (expected e.g. http://10.0.0.4:2380)`);
    return u;
  });
}

/**
 * These commands print a line (simple) or the response (json); etcdctl has no table or fields
 * form for them. Checked before anything is sent, so a refused format changes nothing.
 */
function wantsJson(ctx: Context): boolean {
  ctx.printer();
  if (ctx.format === 'table' || ctx.format === 'fields') {
    throw new UsageError(`${ctx.format} not supported as output format`, ExitCode.BadFeature);
  }
  return ctx.format === 'json';
}

function needOneId(args: readonly string[]): bigint {
  if (args.length !== 1) throw new UsageError('member ID is not provided');
  return parseMemberHex(args[0]!);
}

/** The answer's members, with the new one in it even if the member left it out. */
function withNewMember(members: readonly Member[], added: Member): Member[] {
  return members.some((m) => m.id === added.id) ? [...members] : [...members, added];
}

/**
 * The leader among --endpoints, found like etcdctl: ask each endpoint for its status, in order,
 * until one reports itself as the leader.
 */
async function findLeader(ctx: Context): Promise<{ client: CairnClient; leaderId: bigint }> {
  const failures: unknown[] = [];
  for (const ep of ctx.endpoints) {
    const client = await ctx.client([ep]);
    try {
      const s = await client.maintenance.status();
      if (s.leader !== 0n && s.leader === s.header.memberId) return { client, leaderId: s.leader };
    } catch (err) {
      failures.push(err);
    }
    client.close();
  }
  // None answered: say why the first did not.
  if (failures.length === ctx.endpoints.length) throw failures[0];
  throw new UsageError(`no leader endpoint given at [${ctx.endpoints.join(' ')}]`);
}

export function registerMemberCommands(program: Command, io: CliIo): void {
  const member = program.command('member').summary('Membership related commands');

  member
    .command('add')
    .summary('Adds a member into the cluster')
    .usage('<memberName> --peer-urls=URLS [--learner]')
    .argument('[memberName...]')
    .option('--peer-urls <urls>', 'comma separated peer URLs for the new member')
    .option('--learner', 'indicates if the new member is raft learner')
    .action(
      withContext(io, async (ctx, args: string[], flags: { peerUrls?: string; learner?: boolean }) => {
        if (args.length === 0 || args[0] === '') throw new UsageError('member name not provided');
        if (args.length > 1) {
          const hints = args.filter((a) => /^http/i.test(a)).map((a) => `, did you mean --peer-urls=${a}`);
          throw new UsageError(`too many arguments${hints.join('')}`);
        }
        const name = args[0]!;
        const urls = parsePeerUrls(flags.peerUrls);
        const json = wantsJson(ctx);
        const client = await ctx.client();
        const res = await client.cluster.memberAdd(urls, { isLearner: flags.learner === true });
        if (json) {
          io.out(memberAddJson(res));
          return;
        }
        io.out(memberAddText(res) + newMemberEnv(name, urls, res.member.id, withNewMember(res.members, res.member)));
      }),
    );

  /** remove, update and promote: one hex id (and for update, --peer-urls); prints the change. */
  const change = (
    name: 'remove' | 'update' | 'promote',
    summary: string,
    verb: MemberChange,
    send: (client: CairnClient, id: bigint, peerUrls: string[]) => Promise<{ readonly header: ResponseHeader; readonly members: Member[] }>,
  ): Command => {
    const withUrls = name === 'update';
    const cmd = member
      .command(name)
      .summary(summary)
      .usage(withUrls ? '<memberID> --peer-urls=URLS' : '<memberID>')
      .argument('[memberID...]')
      .action(
        withContext(io, async (ctx, args: string[], flags: { peerUrls?: string }) => {
          const id = needOneId(args);
          const urls = withUrls ? parsePeerUrls(flags.peerUrls) : [];
          const json = wantsJson(ctx);
          const res = await send(await ctx.client(), id, urls);
          io.out(json ? memberChangeJson(res) : memberChangeText(verb, id, res.header));
        }),
      );
    return withUrls ? cmd.option('--peer-urls <urls>', 'comma separated peer URLs for the updated member') : cmd;
  };

  change('remove', 'Removes a member from the cluster', 'removed from', (c, id) => c.cluster.memberRemove(id));
  change('update', 'Updates a member in the cluster', 'updated in', (c, id, urls) => c.cluster.memberUpdate(id, urls));
  change('promote', 'Promotes a non-voting member in the cluster', 'promoted in', (c, id) => c.cluster.memberPromote(id));

  member
    .command('list')
    .summary('Lists all members in the cluster')
    .action(
      withContext(io, async (ctx) => {
        const printer = ctx.printer();
        const client = await ctx.client();
        io.out(printer.memberList(await client.cluster.memberList()));
      }),
    );

  program
    .command('move-leader')
    .summary('Transfers leadership to another member')
    .usage('<transfereeID>')
    .argument('[transfereeID...]')
    .action(
      withContext(io, async (ctx, args: string[]) => {
        if (args.length !== 1) throw new UsageError('move-leader command needs 1 argument');
        const target = parseMemberHex(args[0]!);
        const json = wantsJson(ctx);
        const { client, leaderId } = await findLeader(ctx);
        const res = await client.maintenance.moveLeader(target);
        io.out(json ? headerOnlyJson(res.header) : moveLeaderText(leaderId, target));
      }),
    );
}
