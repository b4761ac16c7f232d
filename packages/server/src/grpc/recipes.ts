import { CairnError, concatBytes, DeleteRange, ErrorCode, prefixEnd, Range, Txn, Watch, type KeyValue, type RangeResponse, type TxnResponse, type WatchResponse } from '@cairn/protocol';
import type { Caller } from '../auth/authorizer.js';
import { runUnary, type GrpcHost } from './call.js';

/**
 * What etcd's v3lock and v3election servers do with clientv3's concurrency package, done here
 * with Cairn's own handlers (so the caller's permissions apply to every step): a waiter's key
 * is `<name>/<lease in hex>`; it holds the lock (or leads) once no key under `<name>/` has a
 * smaller create revision. Waiting is a watch on the one key just ahead.
 */

const SLASH = new Uint8Array([0x2f]);

export const waiterKey = (name: Uint8Array, lease: bigint): Uint8Array => concatBytes(name, SLASH, new TextEncoder().encode(lease.toString(16)));

export const prefixOf = (name: Uint8Array): Uint8Array => concatBytes(name, SLASH);

/** Creates `key` with `value` on `lease` unless it exists; its create revision either way. */
export async function enqueue(host: GrpcHost, caller: Caller, key: Uint8Array, value: Uint8Array, lease: bigint): Promise<{ rev: bigint; kv?: KeyValue; res: TxnResponse }> {
  const res = (await runUnary(
    host,
    Txn.method,
    {
      compare: [{ key, target: 'create', result: 'equal', value: 0n }],
      success: [{ put: { key, value, lease } }],
      failure: [{ range: { key } }],
    },
    caller,
  )) as TxnResponse;
  if (res.succeeded) return { rev: res.header.revision, res };
  const op = res.responses[0];
  const kv = op !== undefined && 'range' in op ? op.range.kvs[0] : undefined;
  if (kv === undefined) throw new CairnError(ErrorCode.Internal, 'the waiter key vanished while it was read');
  return { rev: kv.createRevision, kv, res };
}

/** The newest key under the prefix created before `rev`, or the oldest when `rev` is undefined. */
export async function neighbour(host: GrpcHost, caller: Caller, name: Uint8Array, rev?: bigint): Promise<RangeResponse> {
  const key = prefixOf(name);
  return (await runUnary(
    host,
    Range.method,
    {
      key,
      rangeEnd: prefixEnd(key),
      limit: 1,
      sortTarget: 'create',
      sortOrder: rev === undefined ? 'ascend' : 'descend',
      ...(rev !== undefined ? { maxCreateRevision: rev - 1n } : {}),
    },
    caller,
  )) as RangeResponse;
}

/**
 * Resolves once `key` is deleted at or after revision `from`; rejects if the watch cannot be
 * had or `signal` aborts (the client went away).
 */
export function deleted(host: GrpcHost, caller: Caller, key: Uint8Array, from: bigint, signal: AbortSignal): Promise<void> {
  return watchUntil(host, caller, { key, startRevision: from, filters: ['noput'] }, signal, (r) => r.events.some((e) => e.type === 'delete'));
}

/** Watches with `params` until `done` says so for a response. */
export function watchUntil(
  host: GrpcHost,
  caller: Caller,
  params: Record<string, unknown>,
  signal: AbortSignal,
  done: (r: WatchResponse) => boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const opener = host.session.streams.get(Watch.method);
    if (opener === undefined) return reject(new CairnError(ErrorCode.NotCapable, 'watches are not served'));
    let finished = false;
    let close = (): void => undefined;
    const finish = (err?: unknown): void => {
      if (finished) return;
      finished = true;
      signal.removeEventListener('abort', onAbort);
      close();
      if (err === undefined) resolve();
      else reject(err as Error);
    };
    const onAbort = (): void => finish(new CairnError(ErrorCode.Canceled));
    signal.addEventListener('abort', onAbort);
    try {
      const s = opener(params, {
        id: 0,
        caller,
        send: (r) => {
          const w = r as WatchResponse;
          if (w.canceled === true) finish(new CairnError(ErrorCode.Compacted));
          else if (done(w)) finish();
        },
        end: (err) => finish(err ?? new CairnError(ErrorCode.Canceled, 'watch ended')),
        bufferedBytes: () => 0,
      });
      close = () => s.close();
      if (finished) s.close();
    } catch (err) {
      finish(err);
    }
  });
}

/** Waits until no key under `name` was created before `rev`. */
export async function waitTurn(host: GrpcHost, caller: Caller, name: Uint8Array, rev: bigint, signal: AbortSignal): Promise<void> {
  for (;;) {
    const ahead = await neighbour(host, caller, name, rev);
    const kv = ahead.kvs[0];
    if (kv === undefined) return;
    await deleted(host, caller, kv.key, ahead.header.revision + 1n, signal);
  }
}

export async function deleteKey(host: GrpcHost, caller: Caller, key: Uint8Array): Promise<unknown> {
  return runUnary(host, DeleteRange.method, { key }, caller);
}
