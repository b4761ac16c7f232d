import { Option, type Command } from 'commander';
import { contextOf, loadClient, type CliIo } from '../context.js';
import { ExitCode, UsageError } from '../exitCodes.js';
import { readTxnScript, type TxnBuilders } from '../txnScript.js';
import {
  addDelFlags,
  addGetFlags,
  addPutFlags,
  delRequest,
  getRequest,
  parseInt64Flag,
  putRequest,
  type DelFlags,
  type GetFlags,
  type PutFlags,
} from './kvFlags.js';

/** A command's action runs with its context and always closes its clients. */
export function withContext<A extends unknown[]>(
  io: CliIo,
  body: (ctx: ReturnType<typeof contextOf>, ...args: A) => Promise<void>,
): (...args: [...A, Command]) => Promise<void> {
  return async (...all) => {
    const cmd = all[all.length - 1] as Command;
    const ctx = contextOf(cmd, io);
    try {
      await body(ctx, ...(all.slice(0, -1) as A));
    } finally {
      ctx.close();
    }
  };
}

export function registerKvCommands(program: Command, io: CliIo): void {
  addPutFlags(
    program
      .command('put')
      .summary('Puts the given key into the store')
      .description('Puts the given key into the store. When VALUE is omitted it is read from standard input.')
      .argument('[key]')
      .argument('[value]'),
  ).action(
    withContext(io, async (ctx, key: string | undefined, value: string | undefined, flags: PutFlags) => {
      const args = [key, value].filter((a): a is string => a !== undefined);
      const req = putRequest(args, flags);
      let v: string | Uint8Array | undefined = req.value;
      if (v === undefined) {
        v = await io.stdin.readAll();
        if (v.length === 0) throw new UsageError('put command needs 1 argument and input from stdin or 2 arguments');
      }
      const printer = ctx.printer();
      const client = await ctx.client();
      io.out(printer.put(await client.kv.put(req.key, v, req.write)));
    }),
  );

  addGetFlags(
    program
      .command('get')
      .summary('Gets the key or a range of keys')
      .description('Gets the key, or the range of keys [key, range_end) when RANGE_END is given.')
      .argument('[key]')
      .argument('[range_end]'),
  ).action(
    withContext(io, async (ctx, key: string | undefined, end: string | undefined, flags: GetFlags) => {
      const args = [key, end].filter((a): a is string => a !== undefined);
      const req = getRequest(args, flags);
      const printer = ctx.printer(flags.printValueOnly === true, flags.countOnly === true);
      const client = await ctx.client();
      io.out(printer.get(await client.kv.range({ key: req.key, ...req.read })));
    }),
  );

  addDelFlags(
    program
      .command('del')
      .summary('Removes the specified key or range of keys [key, range_end)')
      .argument('[key]')
      .argument('[range_end]'),
  ).action(
    withContext(io, async (ctx, key: string | undefined, end: string | undefined, flags: DelFlags) => {
      const args = [key, end].filter((a): a is string => a !== undefined);
      const req = delRequest(args, flags);
      const printer = ctx.printer();
      const client = await ctx.client();
      io.out(printer.del(await client.kv.delete(req.key, req.options)));
    }),
  );

  program
    .command('txn')
    .summary('Txn processes all the requests in one transaction')
    .description(
      'Reads a transaction from standard input: compares, a blank line, success requests, a blank line, ' +
        'failure requests, a blank line. With --interactive, each section is prompted for.',
    )
    .option('-i, --interactive', 'Input transaction in interactive mode')
    .addOption(new Option('--no-interactive').hideHelp())
    .action(
      withContext(io, async (ctx, flags: { interactive?: boolean }) => {
        const printer = ctx.printer();
        const { compare, op } = await loadClient();
        const builders: TxnBuilders = { compare, op };
        const lines = io.stdin.lines();
        let script;
        try {
          script = await readTxnScript(lines, builders, flags.interactive === true ? (t) => io.out(t) : undefined);
        } finally {
          lines.close();
        }
        const client = await ctx.client();
        const res = await client
          .txn()
          .if(...script.compare)
          .then(...script.success)
          .else(...script.failure)
          .commit();
        io.out(printer.txn(res));
      }),
    );

  program
    .command('compaction')
    .summary('Compacts the event history in the store')
    .argument('[revision]')
    .option('--physical', 'wait for the compaction to be physically applied')
    .action(
      withContext(io, async (ctx, revision: string | undefined, flags: { physical?: boolean }) => {
        if (revision === undefined) throw new UsageError('compaction command needs 1 argument');
        if (!/^[+-]?\d+$/.test(revision)) {
          throw new UsageError(`strconv.ParseInt: parsing ${JSON.stringify(revision)}: invalid syntax`, ExitCode.Error);
        }
        const rev = parseInt64Flag(revision, 'revision');
        const client = await ctx.client();
        await client.kv.compact(rev, { physical: flags.physical === true });
        io.out(`compacted revision ${rev}\n`);
      }),
    );
}
