import { Command, CommanderError, Option } from 'commander';
import { formatHashKv, formatRestore, formatStatus, FORMATS, type Format } from './output.js';

/** Where a run writes; the process in main.ts, strings in tests. */
export interface UtlIo {
  out(text: string): void;
  err(text: string): void;
}

/** etcdutl's exit codes: 0 ok, 1 a failure, 128 bad arguments. */
export const ExitCode = { Success: 0, Error: 1, BadArgs: 128 } as const;

class UsageError extends Error {}

type ServerModule = typeof import('@cairn/server');
/** @cairn/server (RocksDB) loads only when a command runs, so `--help` stays fast. */
const server = (): Promise<ServerModule> => import('@cairn/server');

function format(cmd: Command): Format {
  const w = (cmd.optsWithGlobals() as { writeOut: string }).writeOut;
  if (!(FORMATS as readonly string[]).includes(w)) throw new UsageError(`unsupported output format ${JSON.stringify(w)} (use ${FORMATS.join(', ')})`);
  return w as Format;
}

function nonNegative(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`invalid argument ${JSON.stringify(text)} for "--${flag}" flag: must be a non-negative integer`);
  return Number(text);
}

export function buildProgram(io: UtlIo): Command {
  const program = new Command('cairnutl')
    .description('An administrative command line tool for Cairn data files (etcdutl-compatible). Run it on a stopped member\'s data dir or on a snapshot file.')
    .addOption(new Option('-w, --write-out <format>', `set the output format (${FORMATS.join(', ')})`).default('simple'))
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s), outputError: () => undefined });

  const snapshot = program.command('snapshot').summary('Manages Cairn node snapshots');
  snapshot
    .command('status')
    .summary('Gets backend snapshot status of a given file')
    .description('Checks a snapshot file (SHA-256, structure) and prints its hash, revision, total keys and total size.')
    .argument('[filename]')
    .action(async (file: string | undefined, _o: unknown, cmd: Command) => {
      if (file === undefined) throw new UsageError('snapshot status expects one argument');
      const fmt = format(cmd);
      const { snapshotStatus } = await server();
      io.out(formatStatus(snapshotStatus(file), fmt));
    });
  snapshot
    .command('restore')
    .summary('Restores a Cairn member snapshot to a Cairn directory')
    .description('Makes a new cluster member\'s data dir from a snapshot file: the keys, their history, the revision, leases, users and roles, under the new membership given by the flags. Restore the same file on every member.')
    .argument('[filename]')
    .option('--name <name>', 'human-readable name for this member', 'default')
    .option('--data-dir <dir>', 'path to the data directory (default: ./<name>.cairn)')
    .option('--initial-cluster <list>', 'initial cluster configuration for restore bootstrap', 'default=http://localhost:2380')
    .option('--initial-cluster-token <token>', 'initial cluster token for the cluster during restore bootstrap', 'cairn-cluster')
    .option('--initial-advertise-peer-urls <urls>', "list of this member's peer URLs to advertise to the rest of the cluster", 'http://localhost:2380')
    .option('--bump-revision <n>', 'how much to increase the latest revision after restore', '0')
    .option('--mark-compacted', 'mark the latest revision after restore as the point of scheduled compaction (required if --bump-revision > 0, disallowed otherwise)')
    .action(async (file: string | undefined, o: RestoreFlags) => {
      if (file === undefined) throw new UsageError('snapshot restore expects one argument');
      const dataDir = o.dataDir ?? `${o.name}.cairn`;
      const { restoreSnapshot } = await server();
      const t0 = performance.now();
      const r = await restoreSnapshot(file, {
        name: o.name,
        dataDir,
        initialCluster: o.initialCluster,
        initialClusterToken: o.initialClusterToken,
        initialAdvertisePeerUrls: o.initialAdvertisePeerUrls.split(',').map((u) => u.trim()).filter((u) => u !== ''),
        bumpRevision: nonNegative(o.bumpRevision, 'bump-revision'),
        markCompacted: o.markCompacted === true,
      });
      io.out(formatRestore(file, dataDir, r, Math.round(performance.now() - t0)));
    });
  program
    .command('hashkv')
    .summary('Prints the KV history hash of a given data dir')
    .description("Prints the hash `cairnctl endpoint hashkv` reports, over a stopped member's data dir.")
    .requiredOption('--data-dir <dir>', 'path to the data directory')
    .option('--rev <revision>', 'maximum revision to hash (default: latest revision)', '0')
    .action(async (o: { dataDir: string; rev: string }, cmd: Command) => {
      const fmt = format(cmd);
      const rev = BigInt(nonNegative(o.rev, 'rev'));
      const { hashKvOfDataDir } = await server();
      io.out(formatHashKv(await hashKvOfDataDir(o.dataDir, rev), fmt));
    });
  program
    .command('defrag')
    .summary("Defragments a stopped member's data dir")
    .description("Copies the live data of a stopped member's database into a fresh one and puts it in place (the online `cairnctl defrag`, for a member that is not running). Progress goes to stderr.")
    .requiredOption('--data-dir <dir>', 'path to the data directory')
    .action(async (o: { dataDir: string }) => {
      const { defragDataDir } = await server();
      let lastPct = -1;
      const r = await defragDataDir(o.dataDir, (p) => {
        const pct = p.sizeBeforeBytes > 0 ? Math.min(100, Math.floor((p.bytes * 100) / p.sizeBeforeBytes)) : 0;
        if (pct >= lastPct + 10 || p.phase !== 'copy') {
          lastPct = pct;
          io.err(`defrag ${p.phase}: ${p.keys} keys, ${p.bytes} bytes copied (~${pct}%)\n`);
        }
      });
      io.out(`Finished defragmenting data dir ${o.dataDir}: ${r.sizeBeforeBytes} -> ${r.sizeAfterBytes} bytes, ${r.keys} keys in ${r.ms} ms\n`);
    });
  program
    .command('version')
    .summary('Prints the version of cairnutl')
    .action(async () => {
      const { SERVER_VERSION } = await server();
      io.out(`cairnutl version: ${SERVER_VERSION}\n`);
    });
  for (const c of [snapshot, ...program.commands, ...snapshot.commands]) {
    c.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s), outputError: () => undefined });
  }
  return program;
}

interface RestoreFlags {
  name: string;
  dataDir?: string;
  initialCluster: string;
  initialClusterToken: string;
  initialAdvertisePeerUrls: string;
  bumpRevision: string;
  markCompacted?: boolean;
}

/** Runs one cairnutl command line (without node and the script); returns the exit code. */
export async function runCli(argv: readonly string[], io: UtlIo): Promise<number> {
  try {
    await buildProgram(io).parseAsync([...argv], { from: 'user' });
    return ExitCode.Success;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') return ExitCode.Success;
      io.err(`Error: ${err.message.replace(/^error: /, '')}\n`);
      return err.exitCode === 0 ? ExitCode.Success : ExitCode.BadArgs;
    }
    if (err instanceof UsageError) {
      io.err(`Error: ${err.message}\n`);
      return ExitCode.BadArgs;
    }
    io.err(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    return ExitCode.Error;
  }
}
