import type { Command } from 'commander';
import type { CliIo } from '../context.js';
import { ExitCode, UsageError } from '../exitCodes.js';
import { messageOf, targetEndpoints } from './cluster.js';
import { withContext } from './kv.js';

/**
 * etcdctl's `defrag`, with its output lines word for word (scripts match them): each endpoint (every member's with --cluster) in turn, one line each,
 * exit 1 if any failed. The request waits up to --command-timeout, as in etcdctl: a large
 * database may need a longer one.
 */
export function registerDefragCommand(program: Command, io: CliIo): void {
  program
    .command('defrag')
    .summary('Defragments the storage of the cairn members with given endpoints')
    .option('--cluster', 'use all endpoints from the cluster member list')
    .option('--data-dir <dir>', 'not in cairnctl: run `cairnutl defrag --data-dir DIR` on a stopped member')
    .action(
      withContext(io, async (ctx, flags: { cluster?: boolean; dataDir?: string }) => {
        if (flags.dataDir !== undefined) {
          throw new UsageError(`cairnctl defragments running members only; for a data directory not in use run: cairnutl defrag --data-dir ${flags.dataDir}`, ExitCode.BadFeature);
        }
        const endpoints = await targetEndpoints(ctx, flags.cluster === true);
        let failures = 0;
        for (const ep of endpoints) {
          try {
            const client = await ctx.client([ep]);
            await client.maintenance.defragment({ timeoutMs: ctx.commandTimeoutMs });
            io.out(`Finished defragmenting etcd member[${ep}]\n`);
          } catch (err) {
            failures++;
            io.err(`Failed to defragment etcd member[${ep}] (${messageOf(err)})\n`);
          }
        }
        if (failures > 0) throw new UsageError('', ExitCode.Error);
      }),
    );
}
