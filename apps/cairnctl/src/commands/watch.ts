import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import type { CairnClient, WatchEvent, WatchOptions, WatchResponse } from '@cairn/client';
import { interruptSignal, type CliIo } from '../context.js';
import { ExitCode, UsageError } from '../exitCodes.js';
import { kvJson } from '../output/jsonPrinter.js';
import { omitEmpty as o, writeJson, type Json } from '../output/json.js';
import { hexEscape } from '../output/printer.js';
import { withContext } from './kv.js';
import { parseInt64Flag } from './kvFlags.js';

interface WatchFlags {
  prefix?: boolean;
  rev?: string;
  prevKv?: boolean;
  interactive?: boolean;
  progressNotify?: boolean;
}

const text = new TextDecoder();

/** One response as etcdctl prints it: per event PUT/DELETE, [prev key, prev value,] key, value. */
export function watchText(r: WatchResponse, hex: boolean): string {
  const s = (b: Uint8Array): string => (hex ? hexEscape(b) : text.decode(b));
  let out = '';
  for (const e of r.events) {
    out += e.type === 'put' ? 'PUT\n' : 'DELETE\n';
    if (e.prevKv !== undefined) out += `${s(e.prevKv.key)}\n${s(e.prevKv.value)}\n`;
    out += `${s(e.kv.key)}\n${s(e.kv.value)}\n`;
  }
  return out;
}

/** etcdctl's `-w json` of a clientv3.WatchResponse (Go field names, mvccpb events). */
export function watchJson(r: WatchResponse): Json {
  const h = r.header;
  return {
    Header: { cluster_id: o(h.clusterId), member_id: o(h.memberId), revision: o(h.revision), raft_term: o(h.raftTerm) },
    Events: r.events.map((e: WatchEvent) => ({
      type: e.type === 'delete' ? 1 : undefined,
      kv: kvJson(e.kv),
      prev_kv: e.prevKv === undefined ? undefined : kvJson(e.prevKv),
    })),
    CompactRevision: r.compactRevision ?? 0n,
    Canceled: r.canceled === true,
    Created: r.created === true,
  };
}

function watchOptions(args: readonly string[], f: WatchFlags, signal: AbortSignal | undefined): { key: string; options: WatchOptions } {
  const [key, end] = args;
  if (key === undefined) throw new UsageError('watch command needs an argument');
  if (args.length > 2) throw new UsageError('too many arguments');
  if (end !== undefined && f.prefix === true) throw new UsageError('unexpected range_end with --prefix');
  const options: { -readonly [K in keyof WatchOptions]: WatchOptions[K] } = {};
  if (end !== undefined) options.rangeEnd = end;
  if (f.prefix === true) options.prefix = true;
  if (f.rev !== undefined) options.startRevision = parseInt64Flag(f.rev, 'rev');
  if (f.prevKv === true) options.prevKv = true;
  if (f.progressNotify === true) options.progressNotify = true;
  if (signal !== undefined) options.signal = signal;
  return { key, options };
}

/** Runs `command` once per event with CAIRN_WATCH_* in its environment; waits for it. */
function runForEvent(io: CliIo, command: readonly string[], r: WatchResponse, e: WatchEvent): Promise<void> {
  const [file, ...args] = command;
  return new Promise((resolve) => {
    const child = spawn(file!, args, {
      env: {
        ...io.env,
        // The event's own revision (a batch may hold several revisions).
        CAIRN_WATCH_REVISION: String(e.kv.modRevision),
        CAIRN_WATCH_KEY: text.decode(e.kv.key),
        CAIRN_WATCH_EVENT_TYPE: e.type === 'put' ? 'PUT' : 'DELETE',
        CAIRN_WATCH_VALUE: text.decode(e.kv.value),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => io.out(d.toString()));
    child.stderr.on('data', (d: Buffer) => io.err(d.toString()));
    child.on('error', (err) => {
      io.err(`Error: ${err.message}\n`);
      resolve();
    });
    child.on('close', () => resolve());
  });
}

async function runWatch(
  io: CliIo,
  client: CairnClient,
  key: string,
  options: WatchOptions,
  format: string,
  hex: boolean,
  command: readonly string[],
): Promise<void> {
  const w = client.watch(key, options);
  for await (const r of w) {
    if (command.length > 0) {
      for (const e of r.events) await runForEvent(io, command, r, e);
      continue;
    }
    if (format === 'json') io.out(`${writeJson(watchJson(r))}\n`);
    else io.out(watchText(r, hex));
  }
}

export function registerWatchCommand(program: Command, io: CliIo): void {
  program
    .command('watch')
    .summary('Watches events stream on keys or prefixes')
    .description('Watches KEY, the range [KEY, RANGE_END) or a prefix; with `-- COMMAND [ARGS]` runs the command per event.')
    .argument('[args...]')
    .option('-i, --interactive', 'Interactive mode')
    .option('--prefix', 'Watch on a prefix if prefix is set')
    .option('--rev <revision>', 'Revision to start watching')
    .option('--prev-kv', 'get the previous key-value pair before the event happens')
    .option('--progress-notify', 'get periodic watch progress notification from server')
    .action(
      withContext(io, async (ctx, all: string[], flags: WatchFlags) => {
        // Everything after `--` is the command to run per event.
        const raw = (program as Command & { rawArgs: string[] }).rawArgs;
        const dd = raw.indexOf('--');
        const command = dd >= 0 ? raw.slice(dd + 1) : [];
        const args = dd >= 0 ? all.slice(0, all.length - command.length) : all;
        if (dd >= 0 && command.length === 0) throw new UsageError('no command given after --');
        const client = await ctx.client();
        if (flags.interactive === true) {
          await interactive(io, client, ctx.format, ctx.hex, interruptSignal(io));
          return;
        }
        const { key, options } = watchOptions(args, flags, interruptSignal(io));
        try {
          await runWatch(io, client, key, options, ctx.format, ctx.hex, command);
        } catch (err) {
          if ((err as { code?: string }).code === 'compacted') {
            const rev = (err as { details?: { compactRevision?: bigint } }).details?.compactRevision ?? 0n;
            throw new UsageError(`watch was canceled (etcdserver: mvcc: required revision has been compacted; compact revision ${rev})`, ExitCode.Error);
          }
          throw err;
        }
      }),
    );
}

/** `watch -i`: each stdin line `watch [--prefix] [--rev=N] [--prev-kv] KEY [RANGE_END]` starts a watch. */
async function interactive(io: CliIo, client: CairnClient, format: string, hex: boolean, signal: AbortSignal): Promise<void> {
  const lines = io.stdin.lines();
  const running: Promise<void>[] = [];
  const aborted = new Promise<undefined>((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true }));
  try {
    for (;;) {
      const line = signal.aborted ? undefined : await Promise.race([lines.readLine(), aborted]);
      if (line === undefined) break;
      const words = line.trim().split(/\s+/).filter((w) => w !== '');
      if (words.length === 0) continue;
      if (words[0] !== 'watch') {
        io.err(`Invalid command ${JSON.stringify(words[0])} (only support "watch")\n`);
        continue;
      }
      const f: WatchFlags = {};
      const args: string[] = [];
      for (const w of words.slice(1)) {
        if (w === '--prefix') f.prefix = true;
        else if (w === '--prev-kv') f.prevKv = true;
        else if (w.startsWith('--rev=')) f.rev = w.slice(6);
        else args.push(w);
      }
      try {
        const { key, options } = watchOptions(args, f, signal);
        running.push(runWatch(io, client, key, options, format, hex, []).catch((err: unknown) => io.err(`Error: ${String(err)}\n`)));
      } catch (err) {
        io.err(`Invalid command: ${(err as Error).message}\n`);
      }
    }
  } finally {
    lines.close();
  }
  await Promise.all(running);
}
