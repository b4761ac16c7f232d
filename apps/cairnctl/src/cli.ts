import { Command, CommanderError, Option } from 'commander';
import type { CliIo } from './context.js';
import { ExitCode, UsageError, exitCodeOfError } from './exitCodes.js';
import { applyEnvironment, checkEnvironment } from './env.js';
import { registerClusterCommands, versionText } from './commands/cluster.js';
import { registerDiscoveryCommands } from './commands/discovery.js';
import { registerDefragCommand } from './commands/defrag.js';
import { registerCheckCommands } from './commands/check.js';
import { registerMirrorCommand } from './commands/mirror.js';
import { booleanFlags, negatableFlags } from './commands/kvFlags.js';
import { registerAuthCommands } from './commands/auth.js';
import { registerConcurrencyCommands } from './commands/concurrency.js';
import { registerConfigCommands } from './commands/config.js';
import { registerKvCommands } from './commands/kv.js';
import { registerLeaseCommands } from './commands/lease.js';
import { registerMemberCommands } from './commands/member.js';
import { registerWatchCommand } from './commands/watch.js';
import { registerSnapshotCommands } from './commands/snapshot.js';
import { registerServiceCommands } from './commands/service.js';

/**
 * Go's pflag accepts `--flag=true` and `--flag=false` for booleans; commander does not. Rewrites
 * them to `--flag` or nothing, and leaves everything after `--` alone.
 */
export function normaliseBooleanFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  let literal = false;
  for (const arg of argv) {
    const m = literal ? null : /^--([a-z-]+)=(true|false|1|0|t|f|TRUE|FALSE|True|False)$/.exec(arg);
    if (arg === '--') literal = true;
    if (m !== null && booleanFlags.has(m[1]!)) {
      if (/^(true|1|t|TRUE|True)$/.test(m[2]!)) out.push(`--${m[1]}`);
      else if (negatableFlags.has(m[1]!)) out.push(`--no-${m[1]}`);
      continue;
    }
    out.push(arg);
  }
  return out;
}

export function buildProgram(io: CliIo): Command {
  const program = new Command('cairnctl')
    .description('A simple command line client for Cairn (etcdctl-compatible).')
    .addOption(new Option('--endpoints <list>', 'comma-separated gRPC-style endpoints (host:port)').default('127.0.0.1:2379'))
    .addOption(new Option('-w, --write-out <format>', 'set the output format (fields, json, simple, table)').default('simple'))
    .addOption(new Option('--hex', 'print byte strings as hex encoded strings'))
    .addOption(new Option('--dial-timeout <duration>', 'dial timeout for client connections').default('2s'))
    .addOption(new Option('--command-timeout <duration>', 'timeout for short running command (excluding dial timeout)').default('5s'))
    .addOption(new Option('--keepalive-time <duration>', 'keepalive time for client connections').default('2s'))
    .addOption(new Option('--keepalive-timeout <duration>', 'keepalive timeout for client connections').default('6s'))
    .addOption(new Option('--user <username[:password]>', 'username[:password] for authentication'))
    .addOption(new Option('--password <password>', 'password for authentication (if this option is used, --user option shouldn\'t include password)'))
    .addOption(new Option('--cacert <file>', 'verify certificates of TLS-enabled secure servers using this CA bundle'))
    .addOption(new Option('--cert <file>', 'identify secure client using this TLS certificate file'))
    .addOption(new Option('--key <file>', 'identify secure client using this TLS key file'))
    .addOption(
      new Option(
        '--insecure-skip-tls-verify',
        'skip server certificate verification (CAUTION: this option should be enabled only for testing purposes)',
      ),
    )
    .addOption(new Option('--insecure-transport', 'disable transport security for client connections').default(true).hideHelp())
    .addOption(new Option('--no-insecure-transport', 'use TLS even without --cacert/--cert (the system CAs verify the member)'))
    .addOption(new Option('--debug', 'enable client-side debug logging'))
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      // Errors are printed once, by runCli, as `Error: ...`.
      outputError: () => undefined,
    })
    .showSuggestionAfterError(true);

  // ETCDCTL_* and CAIRNCTL_* fill the global flags not typed, before any command runs.
  program.hook('preAction', () => applyEnvironment(program, io.env));
  registerKvCommands(program, io);
  registerClusterCommands(program, io);
  registerMemberCommands(program, io);
  registerDiscoveryCommands(program, io);
  registerAuthCommands(program, io);
  registerLeaseCommands(program, io);
  registerWatchCommand(program, io);
  registerConcurrencyCommands(program, io);
  registerDefragCommand(program, io);
  registerCheckCommands(program, io);
  registerMirrorCommand(program, io);
  registerSnapshotCommands(program, io);
  registerServiceCommands(program, io);
  registerConfigCommands(program, io);
  program
    .command('version')
    .summary('Prints the version of cairnctl')
    .action(async () => io.out(await versionText()));
  // Every command inherits exitOverride and the output configuration.
  for (const c of program.commands) {
    c.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s), outputError: () => undefined });
    for (const sub of c.commands) {
      sub.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s), outputError: () => undefined });
    }
  }
  return program;
}

interface ErrorWithCode {
  readonly name: string;
  readonly code: string;
  readonly message: string;
}
const isCairnError = (err: unknown): err is ErrorWithCode =>
  err instanceof Error && err.name === 'CairnError' && typeof (err as { code?: unknown }).code === 'string';

/** Runs one cairnctl command line (without the node and script arguments); returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    checkEnvironment(io.env, (line) => io.err(line));
    await program.parseAsync(normaliseBooleanFlags(argv), { from: 'user' });
    return ExitCode.Success;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') {
        return ExitCode.Success;
      }
      if (err.code === 'commander.executeSubCommandAsync') return ExitCode.Success;
      io.err(`Error: ${err.message.replace(/^error: /, '').replace(/\n\(/g, ' (').replace(/\n/g, ' ')}\n`);
      // A bare `cairnctl endpoint` shows help and asks for a subcommand.
      return err.exitCode === 0 ? ExitCode.Success : ExitCode.BadArgs;
    }
    if (err instanceof UsageError) {
      // An empty message: the command already said what went wrong.
      if (err.message !== '') io.err(`Error: ${err.message}\n`);
      return err.exitCode;
    }
    if (isCairnError(err)) {
      io.err(`Error: ${err.message}\n`);
      return exitCodeOfError[err.code as keyof typeof exitCodeOfError] ?? ExitCode.Error;
    }
    io.err(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    return ExitCode.Error;
  }
}
