import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { loadClient, type CliIo } from '../context.js';
import { ExitCode, UsageError } from '../exitCodes.js';
import { writeJson } from '../output/json.js';
import { withContext } from './kv.js';

/** The largest cluster a token bootstraps; etcd advises 3, 5 or 7 voting members. */
export const MAX_DISCOVERY_SIZE = 99;

export function parseSize(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > MAX_DISCOVERY_SIZE) {
    throw new UsageError(`invalid argument ${JSON.stringify(text)} for "--size" flag: must be a whole number from 1 to ${MAX_DISCOVERY_SIZE}`);
  }
  return Number(text);
}

/**
 * `cairnctl discovery new --size=N`: Cairn's stand-in for etcd's public discovery service. On
 * the cluster at --endpoints, creates a random token holding the size of the cluster to
 * bootstrap, and prints its URL for `cairn --discovery`. The layout is @cairn/client's
 * discoveryKeys.
 */
export function registerDiscoveryCommands(program: Command, io: CliIo): void {
  const discovery = program.command('discovery').summary('Discovery tokens, to bootstrap a cluster with cairn --discovery');
  discovery
    .command('new')
    .summary('Creates a discovery token for a new cluster of --size members and prints its URL')
    .option('--size <n>', 'number of members of the new cluster', '3')
    .action(
      withContext(io, async (ctx, flags: { size: string }) => {
        const size = parseSize(flags.size);
        ctx.printer();
        const { compare, discoveryKeys, formatDiscoveryUrl, op } = await loadClient();
        const token = randomBytes(8).toString('hex');
        const keys = discoveryKeys(token);
        const client = await ctx.client();
        // Never overwrite a token: the size key must not exist yet.
        const res = await client
          .txn()
          .if(compare.create(keys.size, '=', 0))
          .then(op.put(keys.size, String(size)))
          .commit();
        if (!res.succeeded) throw new UsageError(`discovery token ${token} already exists; run the command again`, ExitCode.Error);
        const url = formatDiscoveryUrl(ctx.endpoints[0]!, token);
        io.out(ctx.format === 'json' ? `${writeJson({ url, token, size })}\n` : `${url}\n`);
      }),
    );
}
