import type { Command } from 'commander';
import type { CairnClient, KeyValue, RequestOp } from '@cairn/client';
import { loadClient, type CliIo, type Context } from '../context.js';
import { ExitCode, UsageError } from '../exitCodes.js';
import { withContext } from './kv.js';

/*
 * etcdctl's `make-mirror`: copy a prefix of this cluster into the destination cluster, then keep
 * it copied: first every key as of one revision (read in pages), then the changes after that
 * revision from a watch, one destination txn per source revision. Every 30 seconds it prints the
 * number of keys synced so far; it runs until interrupted, or fails (exit 1) if the destination
 * refuses a write or the source compacted the history it still had to copy. (etcdctl refuses
 * --dest-prefix together with --no-dest-prefix; here, as commander parses them, the last wins.)
 */

/** Keys per page of the initial copy (bounds memory whatever the prefix holds). */
const SYNC_PAGE_KEYS = 1000;
const REPORT_EVERY_MS = 30_000;

interface MirrorFlags {
  prefix: string;
  /** `false` with --no-dest-prefix (commander's negation of --dest-prefix). */
  destPrefix: string | false;
  destCacert?: string;
  destCert?: string;
  destKey?: string;
  destInsecureTransport?: boolean;
}

const enc = new TextEncoder();

/** etcdctl's modifyPrefix: the first occurrence of the source prefix becomes the destination's. */
function destKey(key: Uint8Array, from: Uint8Array, to: Uint8Array): Uint8Array {
  for (let i = 0; i + from.length <= key.length; i++) {
    let hit = true;
    for (let j = 0; j < from.length && hit; j++) hit = key[i + j] === from[j];
    if (!hit) continue;
    const out = new Uint8Array(key.length - from.length + to.length);
    out.set(key.subarray(0, i));
    out.set(to, i);
    out.set(key.subarray(i + from.length), i + to.length);
    return out;
  }
  return key;
}

function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  const end = Uint8Array.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return undefined;
}

async function mirror(ctx: Context, dest: string, flags: MirrorFlags): Promise<void> {
  const from = enc.encode(flags.prefix);
  const to = enc.encode(flags.destPrefix === false ? '' : flags.destPrefix === '' ? flags.prefix : flags.destPrefix);
  const src = await ctx.client();
  const { CairnClient, op } = await loadClient();
  const readPem = (await import('node:fs')).readFileSync;
  const tls =
    flags.destCacert !== undefined || flags.destCert !== undefined
      ? {
          ...(flags.destCacert !== undefined ? { ca: readPem(flags.destCacert) } : {}),
          ...(flags.destCert !== undefined ? { cert: readPem(flags.destCert) } : {}),
          ...(flags.destKey !== undefined ? { key: readPem(flags.destKey) } : {}),
        }
      : undefined;
  const dst: CairnClient = new CairnClient({
    endpoints: dest.split(',').map((e) => e.trim()),
    dialTimeoutMs: ctx.dialTimeoutMs,
    requestTimeoutMs: ctx.commandTimeoutMs,
    ...(tls !== undefined ? { tls } : {}),
  });
  let total = 0;
  const report = setInterval(() => ctx.io.out(`${total}\n`), REPORT_EVERY_MS);
  const stop = new AbortController();
  ctx.io.onInterrupt?.(() => stop.abort());
  try {
    // 1. Everything under the prefix as of one revision, page by page.
    const range = from.length === 0 ? { fromKey: true as const } : { rangeEnd: prefixEnd(from) ?? new Uint8Array([0]) };
    let start: Uint8Array = from.length === 0 ? new Uint8Array([0]) : from;
    let rev = 0n;
    for (;;) {
      const page = await src.kv.range({ key: start, ...range, limit: SYNC_PAGE_KEYS, ...(rev !== 0n ? { revision: rev } : {}) });
      if (rev === 0n) rev = page.header.revision;
      for (const kv of page.kvs) {
        await dst.kv.put(destKey(kv.key, from, to), kv.value);
        total++;
      }
      const last: KeyValue | undefined = page.kvs.at(-1);
      if (!page.more || last === undefined) break;
      start = Uint8Array.from([...last.key, 0]);
    }
    // 2. Then every change after that revision, one txn per source revision.
    const watcher = src.watch(from.length === 0 ? new Uint8Array([0]) : from, { ...range, startRevision: rev + 1n, signal: stop.signal });
    for await (const res of watcher) {
      if (res.canceled === true) {
        if (res.compactRevision !== undefined) throw new UsageError('etcdserver: mvcc: required revision has been compacted', ExitCode.Error);
        if (stop.signal.aborted) return;
        throw new UsageError(`the watch ended: ${res.cancelReason ?? 'canceled'}`, ExitCode.Error);
      }
      let ops: RequestOp[] = [];
      let lastRev = 0n;
      const flush = async (): Promise<void> => {
        if (ops.length === 0) return;
        await dst.txn().then(...ops).commit();
        ops = [];
      };
      for (const ev of res.events) {
        if (lastRev !== 0n && ev.kv.modRevision > lastRev) await flush();
        lastRev = ev.kv.modRevision;
        const key = destKey(ev.kv.key, from, to);
        ops.push(ev.type === 'put' ? op.put(key, ev.kv.value) : op.delete(key));
        total++;
      }
      await flush();
    }
  } catch (err) {
    if (stop.signal.aborted) return;
    throw err;
  } finally {
    clearInterval(report);
    dst.close();
  }

}

export function registerMirrorCommand(program: Command, io: CliIo): void {
  program
    .command('make-mirror')
    .summary('Makes a mirror at the destination cairn cluster')
    .argument('[destination]')
    .option('--prefix <prefix>', 'Key-value prefix to mirror', '')
    .option('--dest-prefix <prefix>', 'destination prefix to mirror a prefix to a different prefix in the destination cluster', '')
    .option('--no-dest-prefix', 'mirror key-values to the root of the destination cluster')
    .option('--dest-cacert <file>', 'Verify certificates of TLS enabled secure servers using this CA bundle')
    .option('--dest-cert <file>', 'Identify secure client using this TLS certificate file for the destination cluster')
    .option('--dest-key <file>', 'Identify secure client using this TLS key file')
    .option('--dest-insecure-transport', 'Disable transport security for client connections')
    .action(
      withContext(io, async (ctx, destination: string | undefined, flags: MirrorFlags) => {
        if (destination === undefined) throw new UsageError('make-mirror takes one destination argument.', ExitCode.BadArgs);
        await mirror(ctx, destination, flags);
      }),
    );
}
