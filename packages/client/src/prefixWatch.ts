import { Backoff, toBytes, toCairnError, type BytesLike, type CairnError, type KeyValue, type WatchEvent } from '@cairn/protocol';
import type { KV } from './kv.js';
import type { Watcher, WatchOptions } from './watch.js';

/** The keys under a prefix as of one revision. */
export interface PrefixSnapshot {
  /** Every key under the prefix as of `revision`, in key order. */
  readonly kvs: readonly KeyValue[];
  /** The store revision the snapshot was read at; the events that follow are all after it. */
  readonly revision: bigint;
  /**
   * `false` for the first snapshot. `true` for a reload: the watch could not go on from where
   * it was (its history was compacted, or it ended otherwise), so whatever was built from the
   * earlier snapshot and events is to be replaced by this one. Changes between the two are not
   * delivered as events; compare the snapshots to find them.
   */
  readonly reload: boolean;
  /** For a reload: why the watch ended (e.g. `compacted`). */
  readonly reason?: CairnError;
}

/** What `watchPrefix` calls. Handlers are called one at a time, in revision order. */
export interface PrefixWatchHandlers {
  /** The prefix's keys: once at the start, then after every reload (`reload: true`). */
  snapshot(snapshot: PrefixSnapshot): void;
  /**
   * Changes after the last snapshot: one call per watch response, each revision whole (the
   * events of one transaction arrive together), no revision twice, none skipped. `revision` is
   * the store revision the batch brings the view to.
   */
  events(events: readonly WatchEvent[], revision: bigint): void;
  /**
   * Something went wrong and the watch carries on: the watch ended (a reload follows after a
   * back-off), a reload failed (it is tried again), or a handler threw after the first
   * snapshot (the error it threw).
   */
  error?(err: CairnError): void;
}

export interface PrefixWatchOptions {
  /** Aborting closes the watch (and, before the first snapshot, fails `watchPrefix` with `canceled`). */
  readonly signal?: AbortSignal;
}

/** The part of the client a prefix watch uses. */
export interface PrefixWatchClient {
  readonly kv: Pick<KV, 'range'>;
  watch(key: BytesLike, options: WatchOptions): Watcher;
}

/** Between reload attempts: after the watch ended, and after each failed re-read. */
const RELOAD_BACKOFF = { initialMs: 250, maxMs: 5000 } as const;

/**
 * A prefix followed as a snapshot plus its changes (see `CairnClient.watchPrefix`). Across
 * reconnects the watch resumes from the last revision it delivered (no gap, no duplicate); only
 * when that is impossible (compacted history) or the watch is refused does it re-read the
 * prefix and deliver a fresh snapshot with `reload: true`.
 *
 * Ownership: `watcher` is the one live watch, replaced only by `follow`; a response of an
 * earlier watcher is never delivered.
 */
export class PrefixWatch {
  /** The prefix, as bytes. */
  readonly prefix: Uint8Array;
  private watcher: Watcher | undefined;
  private closed = false;
  private rev = 0n;
  private reloadTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly backoff = new Backoff(RELOAD_BACKOFF);
  private readonly unlisten: () => void;

  /** @internal use `CairnClient.watchPrefix` */
  constructor(
    private readonly client: PrefixWatchClient,
    prefix: BytesLike,
    private readonly handlers: PrefixWatchHandlers,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.prefix = toBytes(prefix);
    const onAbort = (): void => this.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    this.unlisten = () => signal?.removeEventListener('abort', onAbort);
  }

  /** The store revision the consumer's view is at: the last snapshot's, or the last batch's. */
  get revision(): bigint {
    return this.rev;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Stops watching; no handler is called after it returns. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unlisten();
    clearTimeout(this.reloadTimer);
    this.watcher?.cancel();
    this.watcher = undefined;
  }

  /** In TypeScript 5.2+, `using w = await client.watchPrefix(...)` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal The first snapshot; rejects (and closes) if it cannot be read or its handler throws. */
  async start(): Promise<void> {
    try {
      this.signal?.throwIfAborted();
      await this.load(undefined);
    } catch (err) {
      this.close();
      throw toCairnError(err);
    }
  }

  private async load(reason: CairnError | undefined): Promise<void> {
    const res = await this.client.kv.range({ key: this.prefix, prefix: true, ...(this.signal === undefined ? {} : { signal: this.signal }) });
    if (this.closed) return;
    this.rev = res.header.revision;
    const snapshot: PrefixSnapshot = { kvs: res.kvs, revision: res.header.revision, reload: reason !== undefined, ...(reason === undefined ? {} : { reason }) };
    // Watch first, so that a throwing handler (reported, not fatal after the start) loses nothing.
    this.follow(res.header.revision + 1n);
    if (reason === undefined) this.handlers.snapshot(snapshot);
    else this.deliver(() => this.handlers.snapshot(snapshot));
  }

  private follow(from: bigint): void {
    const w = this.client.watch(this.prefix, { prefix: true, startRevision: from });
    this.watcher = w;
    void (async () => {
      try {
        for await (const batch of w) {
          if (this.watcher !== w) return;
          this.backoff.reset();
          if (batch.header.revision > this.rev) this.rev = batch.header.revision;
          if (batch.events.length > 0) this.deliver(() => this.handlers.events(batch.events, batch.header.revision));
        }
      } catch (err) {
        if (this.watcher !== w) return;
        // The history it needs is compacted, or the watch was refused: read afresh.
        this.reloadLater(toCairnError(err));
      }
    })();
  }

  private reloadLater(err: CairnError): void {
    this.watcher = undefined;
    this.report(err);
    if (this.closed) return;
    this.reloadTimer = setTimeout(() => {
      this.load(err).catch((e: unknown) => {
        if (!this.closed) this.reloadLater(toCairnError(e));
      });
    }, this.backoff.next());
  }

  private deliver(call: () => void): void {
    if (this.closed) return;
    try {
      call();
    } catch (err) {
      this.report(toCairnError(err));
    }
  }

  private report(err: CairnError): void {
    if (this.closed) return;
    try {
      this.handlers.error?.(err);
    } catch {
      // An error handler that throws has nothing left to tell.
    }
  }
}
