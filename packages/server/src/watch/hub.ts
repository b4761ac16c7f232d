import {
  CairnError,
  ErrorCode,
  type KeyValue,
  type ResponseHeader,
  type WatchCreateRequest,
  type WatchEvent,
  type WatchResponse,
} from '@cairn/protocol';
import type { Scheduler } from '../clock.js';
import type { RevisionEvents, StoreEvent } from '../mvcc/store.js';
import type { Rev } from '../mvcc/revision.js';

/** What the hub needs from the member. */
export interface WatchSource {
  onChange(listener: (revisions: readonly RevisionEvents[]) => void): () => void;
  /**
   * Events of revisions [from, visibleRevision]; throws `compacted` below the compaction point,
   * `unavailable` while they cannot be read now (a snapshot being installed: try later).
   */
  historyRange(from: bigint, to: bigint): RevisionEvents[];
  /**
   * The values stored at these revisions (MvccStore.readKvs): the values that events of the
   * revisions being announced replaced, read while `onChange` listeners run.
   */
  readKvs(revs: readonly Rev[]): KeyValue[];
  readonly visibleRevision: bigint;
  readonly compactRevision: bigint;
  header(): ResponseHeader;
}

/** Where one watch's messages go (a stream on a client socket). */
export interface WatchSink {
  send(response: WatchResponse): void;
  /** The stream ended from the server side: compaction (no error), or the error that ended it. */
  end(error?: CairnError): void;
  /** Bytes queued on the socket, not yet taken by the client. */
  bufferedBytes(): number;
}

export interface WatchHubOptions {
  readonly scheduler: Scheduler;
  /** A synced watcher whose socket holds more than this moves to the catch-up group. */
  readonly maxBufferedBytes?: number;
  /** Revisions read from history per catch-up step of one watcher. */
  readonly catchUpRevisions?: number;
  /** How often catch-up runs while some watcher is behind. */
  readonly catchUpIntervalMs?: number;
  /** Idle time after which a watch with `progressNotify` gets a progress message. */
  readonly progressIntervalMs?: number;
}

interface Watcher {
  readonly key: Uint8Array;
  /** undefined: the single key; [0]: every key >= key; else the exclusive end. */
  readonly end: Uint8Array | undefined;
  readonly prevKv: boolean;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly progressNotify: boolean;
  readonly sink: WatchSink;
  /** The next revision this watcher has not been given. Invariant: only grows. */
  nextRev: bigint;
  synced: boolean;
  /** A progress request arrived while catching up: answer once synced. */
  progressWanted: boolean;
  sentSinceProgress: boolean;
  closed: boolean;
  /** Whether the watch may go on after an auth change: undefined, or the error that ends it. */
  readonly recheck: (() => CairnError | undefined) | undefined;
}

export interface WatchHandle {
  /** A `progressRequest`: a progress message now (or once caught up). */
  requestProgress(): void;
  close(): void;
}

const cmp = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b);

function matches(w: Watcher, key: Uint8Array): boolean {
  if (w.end === undefined) return cmp(key, w.key) === 0;
  if (cmp(key, w.key) < 0) return false;
  // rangeEnd [0]: every key >= key.
  return (w.end.length === 1 && w.end[0] === 0) || cmp(key, w.end) < 0;
}

/** Whether `e` is already in the form a watcher gets (no field of the store's own). */
const isWireForm = (e: StoreEvent, withPrevKv: boolean): boolean => e.prevRev === undefined && (withPrevKv || e.prevKv === undefined);

/**
 * The forms watchers get of one batch of store events, each made once however many watchers
 * get it: without prevKv, or with it. A store event that did not read the value it replaced
 * names that value's revision instead (StoreEvent), and the first watcher that wants it has it
 * read, together with the other events it gets that still lack theirs.
 */
class EventForms {
  private readonly bareForms = new Map<StoreEvent, WatchEvent>();
  private readonly fullForms = new Map<StoreEvent, WatchEvent>();

  constructor(private readonly readKvs: (revs: readonly Rev[]) => KeyValue[]) {}

  bare(e: StoreEvent): WatchEvent {
    if (isWireForm(e, false)) return e;
    let f = this.bareForms.get(e);
    if (f === undefined) this.bareForms.set(e, (f = { type: e.type, kv: e.kv }));
    return f;
  }

  withPrevKv(events: readonly StoreEvent[]): WatchEvent[] {
    const unread = events.filter((e) => e.prevKv === undefined && e.prevRev !== undefined && !this.fullForms.has(e));
    if (unread.length > 0) {
      const kvs = this.readKvs(unread.map((e) => e.prevRev!));
      for (const [i, e] of unread.entries()) this.fullForms.set(e, { type: e.type, kv: e.kv, prevKv: kvs[i]! });
    }
    return events.map((e) => {
      if (isWireForm(e, true)) return e;
      let f = this.fullForms.get(e);
      if (f === undefined) this.fullForms.set(e, (f = e.prevKv === undefined ? { type: e.type, kv: e.kv } : { type: e.type, kv: e.kv, prevKv: e.prevKv }));
      return f;
    });
  }
}

/**
 * Every watch on this member (etcd's watchableStore). Watchers are in one of two groups:
 *
 * - synced: `nextRev` is past the visible revision; each visible batch of revisions is
 *   filtered and sent to them as it arrives (one message per batch, so a transaction's events
 *   are never split);
 * - unsynced: behind (a start revision in the past, or a socket too slow to take more); a
 *   timer replays their history from MVCC in bounded steps until they reach the visible
 *   revision and join the synced group.
 *
 * No gap, no duplicate: a watcher is only ever given revisions >= its `nextRev`, which then
 * moves past them; history and live batches are read in the same JS turn as the visible
 * revision they end at, so the seam between them is exact. A slow watcher never blocks the
 * apply path or other watchers: it is just skipped and caught up later from history.
 */
export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  private readonly unsynced = new Set<Watcher>();
  /** Events delivered to watchers so far (metrics). */
  private sentEvents = 0;
  private readonly unsubscribe: () => void;
  private cancelCatchUp: (() => void) | undefined;
  private cancelProgress: (() => void) | undefined;
  private readonly maxBuffered: number;
  private readonly stepRevisions: number;
  private readonly catchUpMs: number;
  private readonly progressMs: number;

  constructor(
    private readonly source: WatchSource,
    private readonly o: WatchHubOptions,
  ) {
    this.maxBuffered = o.maxBufferedBytes ?? 4 * 1024 * 1024;
    this.stepRevisions = o.catchUpRevisions ?? 1000;
    this.catchUpMs = o.catchUpIntervalMs ?? 50;
    this.progressMs = o.progressIntervalMs ?? 10 * 60 * 1000;
    this.unsubscribe = source.onChange((revs) => this.onChange(revs));
  }

  get size(): number {
    return this.watchers.size;
  }

  /** Events sent to watchers since the hub started (etcd_debugging_mvcc_events_total). */
  get eventsSent(): number {
    return this.sentEvents;
  }

  get unsyncedCount(): number {
    return this.unsynced.size;
  }

  /**
   * Registers a watch; sends `created` (or `canceled` for a compacted start) first.
   * `recheck` runs on every auth change (see recheckAuth).
   */
  open(req: WatchCreateRequest, sink: WatchSink, recheck?: () => CairnError | undefined): WatchHandle {
    const filters = req.filters ?? [];
    const visible = this.source.visibleRevision;
    const start = req.startRevision ?? 0n;
    const header = this.header(visible);
    const compacted = this.source.compactRevision;
    if (start > 0n && start < compacted) {
      sink.send({ header, events: [], created: true });
      sink.send({
        header,
        events: [],
        canceled: true,
        compactRevision: compacted,
        cancelReason: 'mvcc: required revision has been compacted',
      });
      sink.end();
      return { requestProgress: () => undefined, close: () => undefined };
    }
    const w: Watcher = {
      key: req.key,
      end: req.rangeEnd,
      prevKv: req.prevKv === true,
      noPut: filters.includes('noput'),
      noDelete: filters.includes('nodelete'),
      progressNotify: req.progressNotify === true,
      sink,
      nextRev: start > 0n ? start : visible + 1n,
      synced: true,
      progressWanted: false,
      sentSinceProgress: false,
      closed: false,
      recheck,
    };
    this.watchers.add(w);
    sink.send({ header, events: [], created: true });
    if (w.nextRev <= visible) this.desync(w);
    if (w.progressNotify) this.armProgress();
    return {
      requestProgress: () => {
        if (w.closed) return;
        if (w.synced) this.sendProgress(w);
        else w.progressWanted = true;
      },
      close: () => this.remove(w),
    };
  }

  /**
   * The member's state was replaced by a snapshot: its revisions jumped. Every watcher catches
   * up from the new history from where it was (or is told it was compacted away).
   */
  resync(): void {
    for (const w of this.watchers) if (w.synced) this.desync(w);
  }

  /**
   * Users, roles or permissions changed: every watch whose caller may no longer read its range
   * ends now with the error its check gives (permission_denied and why), instead of going on
   * delivering what its user can no longer see. Returns how many ended.
   */
  recheckAuth(): number {
    let ended = 0;
    for (const w of [...this.watchers]) {
      const err = w.recheck?.();
      if (err === undefined) continue;
      this.remove(w);
      w.sink.end(err);
      ended++;
    }
    return ended;
  }

  close(): void {
    this.unsubscribe();
    this.cancelCatchUp?.();
    this.cancelProgress?.();
    for (const w of this.watchers) w.closed = true;
    this.watchers.clear();
    this.unsynced.clear();
  }

  private remove(w: Watcher): void {
    w.closed = true;
    this.watchers.delete(w);
    this.unsynced.delete(w);
  }

  private header(revision: bigint): ResponseHeader {
    return { ...this.source.header(), revision };
  }

  private onChange(revs: readonly RevisionEvents[]): void {
    const last = revs[revs.length - 1];
    if (last === undefined || this.watchers.size === 0) return;
    const forms = new EventForms((r) => this.source.readKvs(r));
    for (const w of this.watchers) {
      if (!w.synced || w.nextRev > last.revision) continue;
      if (w.sink.bufferedBytes() > this.maxBuffered) {
        // Too slow: stop pushing; catch-up replays from history once the socket drains.
        this.desync(w);
        continue;
      }
      const events = this.select(w, revs, forms);
      w.nextRev = last.revision + 1n;
      if (events.length > 0) this.deliver(w, last.revision, events);
    }
  }

  /** The events of `revs` that `w` is to get, in the form it asked for (`forms`). */
  private select(w: Watcher, revs: readonly RevisionEvents[], forms: EventForms): WatchEvent[] {
    const matched: StoreEvent[] = [];
    for (const r of revs) {
      if (r.revision < w.nextRev) continue;
      for (const e of r.events) {
        if (e.type === 'put' ? w.noPut : w.noDelete) continue;
        if (matches(w, e.kv.key)) matched.push(e);
      }
    }
    return w.prevKv ? forms.withPrevKv(matched) : matched.map((e) => forms.bare(e));
  }

  private deliver(w: Watcher, revision: bigint, events: WatchEvent[]): void {
    w.sentSinceProgress = true;
    this.sentEvents += events.length;
    w.sink.send({ header: this.header(revision), events });
  }

  private sendProgress(w: Watcher): void {
    w.sentSinceProgress = false;
    w.sink.send({ header: this.header(this.source.visibleRevision), events: [], progress: true });
  }

  private desync(w: Watcher): void {
    w.synced = false;
    this.unsynced.add(w);
    this.armCatchUp(0);
  }

  private armCatchUp(ms: number): void {
    if (this.cancelCatchUp !== undefined) return;
    this.cancelCatchUp = this.o.scheduler.after(ms, () => {
      this.cancelCatchUp = undefined;
      this.catchUp();
    });
  }

  /** One step for every unsynced watcher whose socket has room. */
  private catchUp(): void {
    const visible = this.source.visibleRevision;
    for (const w of [...this.unsynced]) {
      if (w.closed) continue;
      if (w.sink.bufferedBytes() > this.maxBuffered / 2) continue;
      const to = w.nextRev + BigInt(this.stepRevisions) - 1n < visible ? w.nextRev + BigInt(this.stepRevisions) - 1n : visible;
      let revs: RevisionEvents[];
      try {
        revs = this.source.historyRange(w.nextRev, to);
      } catch (err) {
        if (err instanceof CairnError && err.code === ErrorCode.Compacted) {
          w.sink.send({
            header: this.header(visible),
            events: [],
            canceled: true,
            compactRevision: this.source.compactRevision,
            cancelReason: 'mvcc: required revision has been compacted',
          });
          w.sink.end();
          this.remove(w);
          continue;
        }
        // Not readable now: this watcher stays where it is and tries again next round.
        if (err instanceof CairnError && err.code === ErrorCode.Unavailable) continue;
        throw err;
      }
      const events = this.select(w, revs, new EventForms((r) => this.source.readKvs(r)));
      if (events.length > 0) this.deliver(w, to, events);
      w.nextRev = to + 1n;
      if (w.nextRev > visible) {
        w.synced = true;
        this.unsynced.delete(w);
        if (w.progressWanted) {
          w.progressWanted = false;
          this.sendProgress(w);
        }
      }
    }
    if (this.unsynced.size > 0) this.armCatchUp(this.catchUpMs);
  }

  private armProgress(): void {
    if (this.cancelProgress !== undefined) return;
    this.cancelProgress = this.o.scheduler.after(this.progressMs, () => {
      this.cancelProgress = undefined;
      let any = false;
      for (const w of this.watchers) {
        if (!w.progressNotify) continue;
        any = true;
        if (w.synced && !w.sentSinceProgress) this.sendProgress(w);
        w.sentSinceProgress = false;
      }
      if (any) this.armProgress();
    });
  }
}
