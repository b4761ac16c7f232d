import {
  CairnError,
  ErrorCode,
  compare,
  op,
  toCairnError,
  type CairnClient,
  type KeyValue,
  type RangeResponse,
  type TxnResponse,
} from '@cairn/client';
import type { Session } from './session.js';

/*
 * The queue under a lock or election prefix: each session owns one key, `<prefix><lease hex>`,
 * attached to its lease. Keys are ordered by create revision; the first is the owner (or the
 * leader). A waiter watches only the key right before its own, so one release wakes one waiter,
 * not the whole queue. Worked example, prefix "jobs/":
 *
 *   jobs/694d7a  create 10   <- owner
 *   jobs/694d80  create 12   waits for jobs/694d7a to go
 *   jobs/694d95  create 15   waits for jobs/694d80 to go
 *
 * If jobs/694d80 gives up (or its process dies), jobs/694d95 wakes, finds jobs/694d7a still
 * ahead of it and waits for that one instead.
 */

/** A session's place in a queue: its key and the revision that key was created at. */
export interface QueueEntry {
  readonly key: string;
  readonly createRevision: bigint;
  /** The owner's key as of joining: the entry itself when it joined first. */
  readonly owner: KeyValue | undefined;
  /** Whether the key was already there (the session had joined before). */
  readonly existed: boolean;
}

export function queueKey(prefix: string, session: Session): string {
  return `${prefix}${session.leaseHex}`;
}

/** The prefix a user's name stands for: "lock1" -> "lock1/". */
export function queuePrefix(name: string): string {
  if (name === '') throw new CairnError(ErrorCode.InvalidArgument, 'a lock or election name must not be empty');
  return name.endsWith('/') ? name : `${name}/`;
}

/** Options of the calls that may wait. */
export interface WaitOptions {
  /** Aborting gives up the wait (the call rejects with `canceled`). */
  readonly signal?: AbortSignal;
  /** Give up after this long (the call rejects with `timeout`). */
  readonly timeoutMs?: number;
}

/**
 * Puts the session's key under `prefix` unless it is there already, and reads the owner, in one
 * transaction. Safe to resend after a lost answer: the key is the session's own.
 */
export async function join(session: Session, prefix: string, value: string, signal: AbortSignal): Promise<QueueEntry> {
  const key = queueKey(prefix, session);
  const owner = op.range({ key: prefix, prefix: true, sortTarget: 'create', sortOrder: 'ascend', limit: 1 });
  const res: TxnResponse = await session.client
    .txn()
    .if(compare.create(key, '=', 0))
    .then(op.put(key, value, { lease: session.lease }), owner)
    .else(op.get(key), owner)
    .commit({ retry: true, signal });
  const ownerKv = rangeOf(res, 1)?.kvs[0];
  if (res.succeeded) return { key, createRevision: res.header.revision, owner: ownerKv, existed: false };
  const mine = rangeOf(res, 0)?.kvs[0];
  if (mine === undefined) throw new CairnError(ErrorCode.Internal, `the queue key ${key} vanished inside a transaction`);
  return { key, createRevision: mine.createRevision, owner: ownerKv, existed: true };
}

function rangeOf(res: TxnResponse, i: number): RangeResponse | undefined {
  const r = res.responses[i];
  return r !== undefined && 'range' in r ? r.range : undefined;
}

/**
 * Resolves once no key under `prefix` created before `createRevision` remains, i.e. the entry
 * heads the queue. Watches one predecessor at a time.
 */
export async function waitForPredecessors(client: CairnClient, prefix: string, createRevision: bigint, signal: AbortSignal): Promise<void> {
  for (;;) {
    signal.throwIfAborted();
    const res = await client.kv.range({
      key: prefix,
      prefix: true,
      maxCreateRevision: createRevision - 1n,
      sortTarget: 'create',
      sortOrder: 'descend',
      limit: 1,
      keysOnly: true,
      signal,
    });
    const predecessor = res.kvs[0];
    if (predecessor === undefined) return;
    await waitForDelete(client, predecessor.key, res.header.revision + 1n, signal);
  }
}

/** Resolves when `key` is deleted at or after `fromRevision`. */
async function waitForDelete(client: CairnClient, key: Uint8Array, fromRevision: bigint, signal: AbortSignal): Promise<void> {
  const watcher = client.watch(key, { startRevision: fromRevision, filters: ['noput'], signal });
  try {
    for await (const batch of watcher) {
      if (batch.events.some((e) => e.type === 'delete')) return;
    }
    // Ended without a delete: it was aborted.
    signal.throwIfAborted();
  } catch (err) {
    const e = toCairnError(err);
    // History compacted past fromRevision: the caller re-reads the queue, which is just as good.
    if (e.code !== ErrorCode.Compacted) throw e;
  } finally {
    watcher.cancel();
  }
}

/**
 * The whole wait for the head of the queue: join, (optionally) act on the fresh entry, wait for
 * every predecessor to go, then make sure the key is still there (the wait may have outlived the
 * session). On any failure the key is removed, so a waiter that gives up never blocks the ones
 * behind it; the error is the abort reason if the wait was aborted.
 */
export async function acquire(
  session: Session,
  prefix: string,
  value: string,
  options: WaitOptions,
  what: string,
  afterJoin?: (entry: QueueEntry, signal: AbortSignal) => Promise<void>,
): Promise<QueueEntry> {
  session.throwIfEnded();
  const { signal, dispose } = waitSignal(session, options, what);
  let entry: QueueEntry | undefined;
  try {
    const joined = await join(session, prefix, value, signal);
    entry = joined;
    await afterJoin?.(joined, signal);
    if (joined.owner?.createRevision !== joined.createRevision) {
      await waitForPredecessors(session.client, prefix, joined.createRevision, signal);
    }
    const mine = await session.client.kv.get(joined.key, { signal });
    if (mine === undefined || mine.createRevision !== joined.createRevision) {
      entry = undefined;
      throw new CairnError(ErrorCode.SessionExpired, `${what}: the session's key vanished while waiting`);
    }
    return joined;
  } catch (err) {
    const e = waitError(signal, err);
    if (entry !== undefined) await leave(session, entry.key, entry.createRevision).catch(() => undefined);
    throw e;
  } finally {
    dispose();
  }
}

/** Deletes the entry's key if it is still the one this session created (best effort). */
export async function leave(session: Session, key: string, createRevision: bigint): Promise<void> {
  if (session.client.isClosed) return;
  await session.client
    .txn()
    .if(compare.create(key, '=', createRevision))
    .then(op.delete(key))
    .commit({ retry: true, timeoutMs: 5000 });
}

/**
 * One signal for a wait: the caller's, its timeout, and the session's end. The reason says which
 * fired, as a CairnError (`canceled`, `timeout` or `session_expired`).
 */
export function waitSignal(session: Session, o: WaitOptions, what: string): { signal: AbortSignal; dispose: () => void } {
  const ctl = new AbortController();
  const cleanups: (() => void)[] = [];
  const on = (s: AbortSignal, reason: () => CairnError): void => {
    if (s.aborted) {
      ctl.abort(reason());
      return;
    }
    const f = (): void => ctl.abort(reason());
    s.addEventListener('abort', f, { once: true });
    cleanups.push(() => s.removeEventListener('abort', f));
  };
  on(session.signal, () => session.endedWith ?? new CairnError(ErrorCode.SessionExpired));
  if (o.signal !== undefined) on(o.signal, () => new CairnError(ErrorCode.Canceled, `${what} canceled`));
  if (o.timeoutMs !== undefined) {
    const t = setTimeout(() => ctl.abort(new CairnError(ErrorCode.Timeout, `${what} timed out after ${o.timeoutMs} ms`)), o.timeoutMs);
    cleanups.push(() => clearTimeout(t));
  }
  return { signal: ctl.signal, dispose: () => cleanups.forEach((c) => c()) };
}

/** The error a failed wait reports: the abort reason if the wait was aborted, else the failure. */
export function waitError(signal: AbortSignal, err: unknown): CairnError {
  if (signal.aborted && signal.reason instanceof CairnError) return signal.reason;
  return toCairnError(err);
}
