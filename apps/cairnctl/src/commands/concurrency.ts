import { spawn } from 'node:child_process';
import { Option, type Command } from 'commander';
import type { CairnClient } from '@cairn/client';
import type { Session } from '@cairn/concurrency';
import { interruptSignal, type CliIo, type Context } from '../context.js';
import { ExitCode, UsageError } from '../exitCodes.js';
import { withContext } from './kv.js';

interface SessionFlags {
  ttl: string;
}

type ConcurrencyModule = typeof import('@cairn/concurrency');
const loadConcurrency = (): Promise<ConcurrencyModule> => import('@cairn/concurrency');

function ttlOf(flags: SessionFlags): number {
  const ttl = Number(flags.ttl);
  if (!Number.isSafeInteger(ttl) || ttl <= 0) throw new UsageError(`invalid argument ${JSON.stringify(flags.ttl)} for "--ttl" flag: want a positive number of seconds`);
  return ttl;
}

const ttlOption = (): Option => new Option('--ttl <seconds>', 'timeout for session').default('10');

/** The command after `--` (or every argument after the name, as etcdctl allows), if any. */
function commandAfterName(program: Command, args: readonly string[]): string[] {
  const raw = (program as Command & { rawArgs: string[] }).rawArgs;
  const dd = raw.indexOf('--');
  if (dd >= 0) {
    const command = raw.slice(dd + 1);
    if (command.length === 0) throw new UsageError('no command given after --');
    return command;
  }
  return args.slice(1);
}

/** Resolves when Ctrl-C or SIGTERM arrives, or the session ends (with its error). */
function heldUntil(interrupted: AbortSignal, session: Session): Promise<'interrupted' | 'lost'> {
  return new Promise((resolve) => {
    interrupted.addEventListener('abort', () => resolve('interrupted'), { once: true });
    session.done.then(() => resolve('lost'), () => resolve('lost'));
  });
}

/** Runs the command with the lock's key and revision in its environment; resolves its exit code. */
function runHolding(io: CliIo, command: readonly string[], key: string, revision: bigint, signal: AbortSignal): Promise<number> {
  const [file, ...args] = command;
  return new Promise((resolve) => {
    const child = spawn(file!, args, {
      env: { ...io.env, CAIRN_LOCK_KEY: key, CAIRN_LOCK_REV: String(revision), ETCD_LOCK_KEY: key, ETCD_LOCK_REV: String(revision) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stop = (): void => void child.kill('SIGTERM');
    signal.addEventListener('abort', stop, { once: true });
    child.stdout.on('data', (d: Buffer) => io.out(d.toString()));
    child.stderr.on('data', (d: Buffer) => io.err(d.toString()));
    child.on('error', (err) => {
      io.err(`Error: ${err.message}\n`);
      resolve(ExitCode.Error);
    });
    child.on('close', (code, sig) => {
      signal.removeEventListener('abort', stop);
      resolve(code ?? (sig !== null ? 128 + signalNumber(sig) : ExitCode.Error));
    });
  });
}

function signalNumber(sig: NodeJS.Signals): number {
  const n: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return n[sig] ?? 1;
}

async function newSession(ctx: Context, flags: SessionFlags): Promise<{ client: CairnClient; session: Session; c: ConcurrencyModule }> {
  const ttlSeconds = ttlOf(flags);
  const c = await loadConcurrency();
  const client = await ctx.client();
  return { client, session: await c.Session.create(client, { ttlSeconds }), c };
}

export function registerConcurrencyCommands(program: Command, io: CliIo): void {
  program
    .command('lock')
    .summary('Acquires a named lock')
    .description(
      'Acquires the lock NAME and prints its key (NAME/<lease id in hex>); holds it until Ctrl-C or SIGTERM. ' +
        'With `-- COMMAND [ARGS]`, holds it while the command runs (CAIRN_LOCK_KEY and CAIRN_LOCK_REV in its environment) and exits with its code.',
    )
    .argument('[args...]')
    .addOption(ttlOption())
    .action(
      withContext(io, async (ctx, args: string[], flags: SessionFlags) => {
        const name = args[0];
        if (name === undefined || name === '') throw new UsageError('lock takes a lock name argument and an optional command to execute.');
        const command = commandAfterName(program, args);
        const printer = ctx.printer();
        const { client, session, c } = await newSession(ctx, flags);
        const interrupted = interruptSignal(io);
        const mutex = new c.Mutex(session, name);
        try {
          try {
            await mutex.lock({ signal: interrupted });
          } catch (err) {
            // Ctrl-C while waiting: give up quietly, like etcdctl.
            if (interrupted.aborted) return;
            throw err;
          }
          if (command.length > 0) {
            const code = await runHolding(io, command, mutex.key, mutex.revision, session.signal);
            await mutex.unlock();
            if (session.endedWith?.code === 'session_expired') throw new UsageError('session expired', ExitCode.Error);
            if (code !== 0) throw new UsageError('', code as ExitCode);
            return;
          }
          const held = await client.kv.range({ key: mutex.key });
          if (held.kvs.length === 0) throw new UsageError('lock lost on init', ExitCode.Error);
          io.out(printer.get(held));
          if ((await heldUntil(interrupted, session)) === 'lost') throw new UsageError('session expired', ExitCode.Error);
          await mutex.unlock();
        } finally {
          await session.close().catch(() => undefined);
        }
      }),
    );

  program
    .command('elect')
    .summary('Observes and participates in leader election')
    .description(
      'Campaigns in the election NAME with PROPOSAL; once elected prints the leader key and value and leads until Ctrl-C or SIGTERM. ' +
        'With -l, prints each leader (key and proposal) as it changes.',
    )
    .argument('[name]')
    .argument('[proposal]')
    .option('-l, --listen', 'observation mode')
    .addOption(ttlOption())
    .action(
      withContext(io, async (ctx, name: string | undefined, proposal: string | undefined, flags: SessionFlags & { listen?: boolean }) => {
        const listen = flags.listen === true;
        if (name === undefined || name === '' || (listen ? proposal !== undefined : proposal === undefined)) {
          throw new UsageError('elect takes one election name argument and one proposal argument.');
        }
        const printer = ctx.printer();
        if (listen) {
          ttlOf(flags);
          const c = await loadConcurrency();
          const client = await ctx.client();
          const interrupted = interruptSignal(io);
          for await (const leader of c.observeLeaders(client, name, interrupted)) {
            io.out(printer.get({ header: leader.header, kvs: [leader.kv], more: false, count: 1 }));
          }
          return;
        }
        const { client, session, c } = await newSession(ctx, flags);
        const interrupted = interruptSignal(io);
        const election = new c.Election(session, name);
        try {
          try {
            await election.campaign(proposal!, { signal: interrupted });
          } catch (err) {
            if (interrupted.aborted) return;
            throw err;
          }
          io.out(printer.get(await client.kv.range({ key: election.key })));
          if ((await heldUntil(interrupted, session)) === 'lost') throw new UsageError('elect: session expired', ExitCode.Error);
          await election.resign();
        } finally {
          await session.close().catch(() => undefined);
        }
      }),
    );
}
