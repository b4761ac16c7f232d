import type { Command } from 'commander';
import type { CairnError } from '@cairn/client';
import { loadClient, type CliIo, type Context } from '../context.js';
import { ExitCode, UsageError } from '../exitCodes.js';
import type { EndpointHashKv, EndpointHealth, EndpointStatus } from '../output/index.js';
import { parseInt64Flag } from './kvFlags.js';
import { withContext } from './kv.js';

/** A failure as a one-line message. */
export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** With --cluster: every client URL of every member; else the --endpoints list. */
export async function targetEndpoints(ctx: Context, cluster: boolean): Promise<string[]> {
  if (!cluster) return ctx.endpoints;
  const client = await ctx.client();
  const res = await client.cluster.memberList();
  return res.members.flatMap((m) => m.clientUrls);
}

/** One linearizable read of a health key, like etcd's check: it needs a leader and a quorum. */
async function checkHealth(ctx: Context, endpoint: string): Promise<EndpointHealth> {
  const client = await ctx.client([endpoint]);
  try {
    await client.connect();
  } catch (err) {
    return { endpoint, health: false, tookNs: 0n, error: messageOf(err) };
  }
  const started = process.hrtime.bigint();
  try {
    await client.kv.get('health', { timeoutMs: ctx.commandTimeoutMs });
    const tookNs = process.hrtime.bigint() - started;
    // Like etcdctl 3.5: a member that answers but has an active alarm (CORRUPT, NOSPACE) is
    // not healthy. A caller not allowed to list alarms cannot tell: the read decides.
    const alarms = await client.maintenance.alarmList({ timeoutMs: ctx.commandTimeoutMs }).then(
      (res) => res.alarms.filter((a) => a.alarm !== 'none'),
      () => [],
    );
    if (alarms.length > 0) {
      return { endpoint, health: false, tookNs, error: `Active Alarm(s): ${alarms.map((a) => a.alarm.toUpperCase()).join(' ')}` };
    }
    return { endpoint, health: true, tookNs, error: '' };
  } catch (err) {
    const tookNs = process.hrtime.bigint() - started;
    // Refused by auth (no permission, or no user with auth on): the member answered, it is fine.
    const code = (err as CairnError).code;
    if (code === 'permission_denied' || code === 'user_empty') return { endpoint, health: true, tookNs, error: '' };
    return { endpoint, health: false, tookNs, error: messageOf(err) };
  } finally {
    client.close();
  }
}

export function registerClusterCommands(program: Command, io: CliIo): void {
  const endpoint = program.command('endpoint').summary('Endpoint related commands');

  endpoint
    .command('status')
    .summary('Prints out the status of endpoints specified in `--endpoints` flag')
    .option('--cluster', 'use all endpoints from the cluster member list')
    .action(
      withContext(io, async (ctx, flags: { cluster?: boolean }) => {
        const printer = ctx.printer();
        const endpoints = await targetEndpoints(ctx, flags.cluster === true);
        const results = await Promise.all(
          endpoints.map(async (ep): Promise<EndpointStatus | { endpoint: string; error: string }> => {
            try {
              const client = await ctx.client([ep]);
              return { endpoint: ep, status: await client.maintenance.status() };
            } catch (err) {
              return { endpoint: ep, error: messageOf(err) };
            }
          }),
        );
        const ok: EndpointStatus[] = [];
        for (const r of results) {
          if ('status' in r) ok.push(r);
          else io.err(`Failed to get the status of endpoint ${r.endpoint} (${r.error})\n`);
        }
        io.out(printer.endpointStatus(ok));
        // Like etcdctl: the failures were reported above; exit 1 without another line.
        if (ok.length < results.length) throw new UsageError('', ExitCode.Error);
      }),
    );

  endpoint
    .command('hashkv')
    .summary('Prints the KV history hash for each endpoint in --endpoints')
    .option('--cluster', 'use all endpoints from the cluster member list')
    .option('--rev <revision>', 'maximum revision to hash (default: latest revision)', '0')
    .action(
      withContext(io, async (ctx, flags: { cluster?: boolean; rev: string }) => {
        const rev = parseInt64Flag(flags.rev, 'rev');
        if (rev < 0n) throw new UsageError(`invalid argument ${JSON.stringify(flags.rev)} for "--rev" flag: must not be negative`);
        const printer = ctx.printer();
        const endpoints = await targetEndpoints(ctx, flags.cluster === true);
        const results = await Promise.all(
          endpoints.map(async (ep): Promise<EndpointHashKv | { endpoint: string; error: string }> => {
            try {
              const client = await ctx.client([ep]);
              return { endpoint: ep, hashKv: await client.maintenance.hashKv(rev, { timeoutMs: ctx.commandTimeoutMs }) };
            } catch (err) {
              return { endpoint: ep, error: messageOf(err) };
            }
          }),
        );
        const ok: EndpointHashKv[] = [];
        let failed: string | undefined;
        for (const r of results) {
          if ('hashKv' in r) ok.push(r);
          else {
            failed = r.error;
            io.err(`Failed to get the hash of endpoint ${r.endpoint} (${r.error})\n`);
          }
        }
        io.out(printer.endpointHashKv(ok));
        // Like etcdctl: the last failure again, as the command's error.
        if (failed !== undefined) throw new UsageError(failed, ExitCode.Error);
      }),
    );

  endpoint
    .command('health')
    .summary('Checks the healthiness of endpoints specified in `--endpoints` flag')
    .option('--cluster', 'use all endpoints from the cluster member list')
    .action(
      withContext(io, async (ctx, flags: { cluster?: boolean }) => {
        const printer = ctx.printer();
        const endpoints = await targetEndpoints(ctx, flags.cluster === true);
        const list = await Promise.all(endpoints.map((ep) => checkHealth(ctx, ep)));
        const { out, err } = printer.endpointHealth(list);
        io.out(out);
        io.err(err);
        if (list.some((h) => !h.health)) throw new UsageError('unhealthy cluster', ExitCode.Error);
      }),
    );
}

export async function versionText(): Promise<string> {
  const { CAIRNCTL_VERSION } = await import('../version.js');
  const { PROTOCOL_VERSION } = await import('@cairn/protocol');
  return `cairnctl version: ${CAIRNCTL_VERSION}\nAPI version: ${PROTOCOL_VERSION}\n`;
}

export { loadClient };
