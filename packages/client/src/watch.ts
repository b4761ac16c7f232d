import {
  Backoff,
  CairnError,
  ErrorCode,
  toCairnError,
  traitsOf,
  Watch,
  type BytesLike,
  type WatchCreateRequest,
  type WatchEvent,
  type WatchFilter,
  type WatchResponse,
} from '@cairn/protocol';
import { resolveKeyRange, toInt64, type Int64Like, type KeyRange } from './options.js';
import type { Transport } from './transport.js';

export interface WatchOptions extends KeyRange {
  /** First revision to deliver (history first, then live); default: changes after now. */
  readonly startRevision?: Int64Like;
  /** Each event carries the key's previous value. */
  readonly prevKv?: boolean;
  readonly filters?: readonly WatchFilter[];
  /** Ask the server for periodic progress messages (no events, a newer header revision). */
  readonly progressNotify?: boolean;
  /** Aborting cancels the watch. */
  readonly signal?: AbortSignal;
}

/** Between reopening attempts of a broken watch stream. */
const REOPEN_BACKOFF = { initialMs: 100, maxMs: 2000 } as const;

/**
 * A watch: iterate it for WatchResponse batches (each holds whole revisions, in revision
 * order; progress messages have no events). It survives reconnects: the client remembers the
 * last revision it delivered and reopens the watch with startRevision = that + 1 on the new
 * connection, so nothing is missed or repeated. A start revision below the compaction point
 * ends iteration with CairnError(`compacted`, details.compactRevision).
 */
export class Watcher implements AsyncIterable<WatchResponse> {
  private readonly queue: WatchResponse[] = [];
  private waiter: { resolve: (r: IteratorResult<WatchResponse>) => void; reject: (e: Error) => void } | undefined;
  private failure: CairnError | undefined;
  private ended = false;
  private stream: { close(): void; send(m: { progressRequest: true }): void } | undefined;
  /** The next revision to deliver; 0n until the first `created` says where "now" is. */
  private next: bigint;
  private readonly createdPromise: Promise<void>;
  private markCreated!: () => void;
  /** Removes the abort listener from the caller's signal once the watch is over. */
  private readonly unlisten: () => void;

  constructor(
    private readonly transport: Transport,
    private readonly base: Omit<WatchCreateRequest, 'startRevision'>,
    startRevision: bigint,
    signal: AbortSignal | undefined,
  ) {
    this.next = startRevision;
    this.createdPromise = new Promise((r) => (this.markCreated = r));
    const onAbort = (): void => this.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    this.unlisten = () => signal?.removeEventListener('abort', onAbort);
    if (signal?.aborted === true) this.cancel();
    void this.run();
  }

  /** Resolves once the server registered the watch (events after this point are seen). */
  get created(): Promise<void> {
    return this.createdPromise;
  }

  /** The revision the next delivered event will be at least. */
  get nextRevision(): bigint {
    return this.next;
  }

  /** Ask for a progress message (answered once the server-side watch is caught up). */
  requestProgress(): void {
    try {
      this.stream?.send({ progressRequest: true });
    } catch {
      // Reconnecting; progress follows from the next message anyway.
    }
  }

  cancel(): void {
    if (this.ended) return;
    this.finish(undefined);
  }

  /** Every event, one at a time, instead of batches. */
  async *events(): AsyncGenerator<WatchEvent> {
    for await (const r of this) yield* r.events;
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchResponse> {
    return {
      next: () => this.take(),
      return: () => {
        this.cancel();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(REOPEN_BACKOFF);
    while (!this.ended) {
      try {
        const params: WatchCreateRequest = this.next > 0n ? { ...this.base, startRevision: this.next } : this.base;
        const s = await this.transport.openStream(Watch, params);
        if (this.ended) {
          s.close();
          return;
        }
        this.stream = s;
        for await (const r of s) {
          backoff.reset();
          if (this.handle(r)) return;
        }
        // The server ended the stream without a cancel message: treat as a lost connection.
      } catch (err) {
        // Closing the client ends its watches as cancel() would, instead of retrying forever.
        if (this.transport.isClosed) {
          this.finish(undefined);
          return;
        }
        const e = toCairnError(err);
        if (!traitsOf(e.code).resumable) {
          this.finish(e);
          return;
        }
      }
      this.stream = undefined;
      if (this.ended) return;
      await new Promise((r) => setTimeout(r, backoff.next()));
    }
  }

  /** Returns true when the watch is over. */
  private handle(r: WatchResponse): boolean {
    if (r.created === true) {
      if (this.next === 0n) this.next = r.header.revision + 1n;
      this.markCreated();
      if (r.events.length === 0 && r.canceled !== true) return false;
    }
    if (r.canceled === true) {
      if (r.compactRevision !== undefined && r.compactRevision > 0n) {
        this.finish(
          new CairnError(ErrorCode.Compacted, r.cancelReason ?? 'required revision has been compacted', {
            compactRevision: r.compactRevision,
          }),
        );
      } else {
        this.finish(new CairnError(ErrorCode.Canceled, r.cancelReason ?? 'watch canceled by the server'));
      }
      return true;
    }
    // Never deliver a revision twice (a resumed stream starts at `next` anyway).
    const events = r.events.filter((e) => e.kv.modRevision >= this.next);
    if (r.header.revision + 1n > this.next) this.next = r.header.revision + 1n;
    if (events.length === 0 && r.progress !== true) return false;
    this.push(events.length === r.events.length ? r : { ...r, events });
    return false;
  }

  private push(r: WatchResponse): void {
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = undefined;
      w.resolve({ done: false, value: r });
    } else {
      this.queue.push(r);
    }
  }

  private finish(err: CairnError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.unlisten();
    this.failure = err;
    this.stream?.close();
    this.stream = undefined;
    this.markCreated();
    const w = this.waiter;
    this.waiter = undefined;
    if (w === undefined) return;
    if (err !== undefined) w.reject(err);
    else w.resolve({ done: true, value: undefined });
  }

  private take(): Promise<IteratorResult<WatchResponse>> {
    if (this.queue.length > 0) return Promise.resolve({ done: false, value: this.queue.shift()! });
    if (this.ended) {
      if (this.failure !== undefined) {
        const f = this.failure;
        this.failure = undefined;
        return Promise.reject(f);
      }
      return Promise.resolve({ done: true, value: undefined });
    }
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }
}

/** Builds the watch request from the client's options. */
export function watchParams(key: BytesLike, o: WatchOptions): { base: Omit<WatchCreateRequest, 'startRevision'>; start: bigint } {
  const { key: k, rangeEnd } = resolveKeyRange(key, o);
  const base: { -readonly [P in keyof WatchCreateRequest]?: WatchCreateRequest[P] } = { key: k };
  if (rangeEnd !== undefined) base.rangeEnd = rangeEnd;
  if (o.prevKv === true) base.prevKv = true;
  if (o.filters !== undefined && o.filters.length > 0) base.filters = [...o.filters];
  if (o.progressNotify === true) base.progressNotify = true;
  const start = o.startRevision === undefined ? 0n : toInt64(o.startRevision, 'startRevision');
  if (start < 0n) throw new CairnError(ErrorCode.InvalidArgument, 'startRevision must not be negative');
  return { base: base as WatchCreateRequest, start };
}
