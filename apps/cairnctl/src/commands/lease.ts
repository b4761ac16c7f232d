import type { Command } from 'commander';
import type {
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseTimeToLiveResponse,
  ResponseHeader,
} from '@cairn/client';
import { interruptSignal, type CliIo } from '../context.js';
import { ExitCode, UsageError } from '../exitCodes.js';
import { base64, omitEmpty as o, writeJson, type Json } from '../output/json.js';
import { withContext } from './kv.js';
import { parseLeaseHex } from './kvFlags.js';

/** etcdctl prints lease ids as %016x. */
export const leaseHex = (id: bigint): string => BigInt.asUintN(64, id).toString(16).padStart(16, '0');
const text = new TextDecoder();

/*
 * JSON as etcdctl prints clientv3's lease responses: the header's fields are promoted (an
 * embedded *pb.ResponseHeader), then ID/TTL in Go's field names.
 */
function headerFields(h: ResponseHeader): Record<string, Json> {
  return { cluster_id: o(h.clusterId), member_id: o(h.memberId), revision: o(h.revision), raft_term: o(h.raftTerm) };
}
export const leaseJson = {
  grant: (r: LeaseGrantResponse): Json => ({ ...headerFields(r.header), ID: r.id, TTL: r.ttlSeconds, Error: '' }),
  revoke: (h: ResponseHeader): Json => ({ header: { ...headerFields(h) } }),
  keepAlive: (r: LeaseKeepAliveResponse): Json => ({ ...headerFields(r.header), ID: r.id, TTL: r.ttlSeconds }),
  timeToLive: (r: LeaseTimeToLiveResponse): Json => ({
    ...headerFields(r.header),
    id: r.id,
    ttl: r.ttlSeconds,
    'granted-ttl': r.grantedTtlSeconds,
    keys: r.keys.length === 0 ? null : r.keys.map(base64),
  }),
  leases: (r: LeaseLeasesResponse): Json => ({ ...headerFields(r.header), leases: r.leases.map((l) => ({ id: l.id })) }),
};

export const leaseText = {
  grant: (r: LeaseGrantResponse): string => `lease ${leaseHex(r.id)} granted with TTL(${r.ttlSeconds}s)\n`,
  revoke: (id: bigint): string => `lease ${leaseHex(id)} revoked\n`,
  keepAlive: (r: LeaseKeepAliveResponse): string => `lease ${leaseHex(r.id)} keepalived with TTL(${r.ttlSeconds})\n`,
  timeToLive: (r: LeaseTimeToLiveResponse, keys: boolean): string => {
    if (r.grantedTtlSeconds === 0 && r.ttlSeconds === -1) return `lease ${leaseHex(r.id)} already expired\n`;
    let t = `lease ${leaseHex(r.id)} granted with TTL(${r.grantedTtlSeconds}s), remaining(${r.ttlSeconds}s)`;
    if (keys) t += `, attached keys([${r.keys.map((k) => text.decode(k)).join(' ')}])`;
    return `${t}\n`;
  },
  leases: (r: LeaseLeasesResponse): string => `found ${r.leases.length} leases\n${r.leases.map((l) => `${leaseHex(l.id)}\n`).join('')}`,
};

function needId(id: string | undefined, cmd: string): bigint {
  if (id === undefined) throw new UsageError(`lease ${cmd} command needs 1 argument`);
  return parseLeaseHex(id);
}

export function registerLeaseCommands(program: Command, io: CliIo): void {
  const lease = program.command('lease').summary('Lease related commands');
  const json = (ctx: { format: string }): boolean => ctx.format === 'json';

  lease
    .command('grant')
    .summary('Creates leases')
    .argument('[ttl]')
    .option('--id <hex>', 'the lease ID to use (hexadecimal); default: the server picks one')
    .action(
      withContext(io, async (ctx, ttl: string | undefined, flags: { id?: string }) => {
        if (ttl === undefined) throw new UsageError('lease grant command needs TTL argument');
        if (!/^\d+$/.test(ttl)) throw new UsageError(`bad TTL (strconv.ParseInt: parsing ${JSON.stringify(ttl)}: invalid syntax)`);
        const client = await ctx.client();
        const opts = flags.id !== undefined ? { id: parseLeaseHex(flags.id) } : {};
        const r = await client.lease.grant(Number(ttl), opts);
        io.out(json(ctx) ? `${writeJson(leaseJson.grant(r))}\n` : leaseText.grant(r));
      }),
    );

  lease
    .command('revoke')
    .summary('Revokes leases')
    .argument('[leaseID]')
    .action(
      withContext(io, async (ctx, idText: string | undefined) => {
        const id = needId(idText, 'revoke');
        const client = await ctx.client();
        const r = await client.lease.revoke(id);
        io.out(json(ctx) ? `${writeJson(leaseJson.revoke(r.header))}\n` : leaseText.revoke(id));
      }),
    );

  lease
    .command('timetolive')
    .summary('Get lease information')
    .argument('[leaseID]')
    .option('--keys', 'Get keys attached to this lease')
    .action(
      withContext(io, async (ctx, idText: string | undefined, flags: { keys?: boolean }) => {
        const id = needId(idText, 'timetolive');
        const client = await ctx.client();
        const r = await client.lease.timeToLive(id, { keys: flags.keys === true });
        io.out(json(ctx) ? `${writeJson(leaseJson.timeToLive(r))}\n` : leaseText.timeToLive(r, flags.keys === true));
      }),
    );

  lease
    .command('list')
    .summary('List all active leases')
    .action(
      withContext(io, async (ctx) => {
        const client = await ctx.client();
        const r = await client.lease.leases();
        io.out(json(ctx) ? `${writeJson(leaseJson.leases(r))}\n` : leaseText.leases(r));
      }),
    );

  lease
    .command('keep-alive')
    .summary('Keeps leases alive (renew)')
    .argument('[leaseID]')
    .option('--once', 'Resets the keep-alive time to its original value and exits immediately')
    .action(
      withContext(io, async (ctx, idText: string | undefined, flags: { once?: boolean }) => {
        const id = needId(idText, 'keep-alive');
        const client = await ctx.client();
        const print = (r: LeaseKeepAliveResponse): void =>
          io.out(json(ctx) ? `${writeJson(leaseJson.keepAlive(r))}\n` : leaseText.keepAlive(r));
        if (flags.once === true) {
          const r = await client.lease.keepAliveOnce(id);
          if (r.ttlSeconds <= 0) throw new UsageError('requested lease not found', ExitCode.Error);
          print(r);
          return;
        }
        const h = client.lease.keepAlive(id);
        await new Promise<void>((resolve) => {
          h.on('keepalive', (_ttl: number, r: LeaseKeepAliveResponse) => print(r));
          h.on('lost', () => {
            if (!json(ctx)) io.out(`lease ${leaseHex(id)} expired or revoked.\n`);
            resolve();
          });
          interruptSignal(io).addEventListener('abort', () => resolve(), { once: true });
        });
        h.close();
      }),
    );
}
