import { CairnError, ErrorCode, bytesToString, compare, type Compare } from '@cairn/client';
import { acquire, join, leave, queuePrefix, type WaitOptions } from './queue.js';
import type { Session } from './session.js';

export type LockOptions = WaitOptions;

/**
 * A distributed mutex, etcd's algorithm: each session queues a key `<name>/<lease hex>` on its
 * lease; the key with the lowest create revision holds the lock, and each waiter watches only
 * the key just ahead of it. A holder that dies loses the lock when its lease runs out.
 *
 *   const mutex = new Mutex(session, 'jobs/nightly');
 *   await mutex.lock({ timeoutMs: 30_000 });
 *   try { ... } finally { await mutex.unlock(); }
 *
 * The holder's `revision` only grows from one holder to the next: use it as a fencing token, or
 * guard writes with `mutex.isOwner()` in a transaction so that a holder that lost its session
 * cannot write.
 */
export class Mutex {
  /** The lock's key prefix, `<name>/`. */
  readonly prefix: string;
  private held: { key: string; revision: bigint } | undefined;

  constructor(
    readonly session: Session,
    name: string,
  ) {
    this.prefix = queuePrefix(name);
  }

  /** The key this session holds, `<name>/<lease hex>` (as etcdctl prints it). */
  get key(): string {
    return this.owned().key;
  }

  /** The create revision of the held key: the fencing token. */
  get revision(): bigint {
    return this.owned().revision;
  }

  get isLocked(): boolean {
    return this.held !== undefined && this.session.endedWith === undefined;
  }

  /** A transaction guard that holds only while this session owns the lock. */
  isOwner(): Compare {
    const h = this.owned();
    return compare.create(h.key, '=', h.revision);
  }

  /**
   * Waits for the lock. Rejects with `canceled` (signal), `timeout` (timeoutMs) or
   * `session_expired` (the session ended first); the queue key is then removed, so a waiter
   * that gives up never blocks the ones behind it.
   */
  async lock(options: LockOptions = {}): Promise<this> {
    if (this.held !== undefined) throw new CairnError(ErrorCode.InvalidArgument, `this mutex already holds ${this.held.key}`);
    const entry = await acquire(this.session, this.prefix, '', options, `lock ${this.prefix}`);
    this.held = { key: entry.key, revision: entry.createRevision };
    return this;
  }

  /** Takes the lock if it is free right now; `false` (and nothing left behind) if it is held. */
  async tryLock(): Promise<boolean> {
    if (this.held !== undefined) throw new CairnError(ErrorCode.InvalidArgument, `this mutex already holds ${this.held.key}`);
    this.session.throwIfEnded();
    const joined = await join(this.session, this.prefix, '', this.session.signal);
    if (joined.owner?.createRevision === joined.createRevision) {
      this.held = { key: joined.key, revision: joined.createRevision };
      return true;
    }
    if (!joined.existed) await leave(this.session, joined.key, joined.createRevision);
    return false;
  }

  /** Releases the lock: deletes the held key (only if it is still this holder's). */
  async unlock(): Promise<void> {
    const h = this.held;
    if (h === undefined) return;
    this.held = undefined;
    if (this.session.endedWith?.code === ErrorCode.SessionExpired) return;
    await leave(this.session, h.key, h.revision);
  }

  /** In TypeScript 5.2+, `await using m = await mutex.lock()` unlocks at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.unlock();
  }

  /** The current holder's key, or undefined if the lock is free. */
  async holder(): Promise<string | undefined> {
    const res = await this.session.client.kv.range({ key: this.prefix, prefix: true, sortTarget: 'create', sortOrder: 'ascend', limit: 1, keysOnly: true });
    const kv = res.kvs[0];
    return kv === undefined ? undefined : bytesToString(kv.key);
  }

  private owned(): { key: string; revision: bigint } {
    if (this.held === undefined) throw new CairnError(ErrorCode.InvalidArgument, `mutex ${this.prefix} is not held`);
    return this.held;
  }
}
