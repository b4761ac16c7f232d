import type { BatchOp } from './backend.js';

/** A write or a range deletion, as the backend was asked for it. */
export type GateOp =
  | { readonly kind: 'write'; readonly ops: readonly BatchOp[]; readonly sync: boolean }
  | { readonly kind: 'clear'; readonly gte: Uint8Array; readonly lt: Uint8Array };

/** Where the gate sends what it lets through (the live database). */
export type GateSink = (op: GateOp) => Promise<void>;

interface Held {
  readonly op: GateOp;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * What a defrag needs from the write path, between the backend's callers and the database:
 *
 * - `hold`: from now on writes queue in memory, in order (their promises wait), and `settle`
 *   waits for the ones already sent; `release` sends the queue on, in order, then lets writes
 *   through again. A clear waits for the writes sent before it (Backend.clear must run alone).
 * - a journal: while it is open every operation let through is also recorded, so that a copy
 *   made from a snapshot of the database can replay what came after the snapshot. Past
 *   `maxJournalBytes` the gate holds writes instead of recording more (memory stays bounded;
 *   writers wait until the defrag has switched over).
 *
 * Journaled keys and values are kept by reference: callers must not reuse a buffer they wrote.
 */
export class WriteGate {
  private held: Held[] | undefined;
  private readonly inflight = new Set<Promise<void>>();
  private journal: GateOp[] | undefined;
  private journalBytes = 0;

  constructor(
    private sink: GateSink,
    private readonly maxJournalBytes: number,
  ) {}

  /** Sends `op`, or queues it while the gate holds. */
  submit(op: GateOp): Promise<void> {
    if (this.held !== undefined) return new Promise((resolve, reject) => this.held!.push({ op, resolve, reject }));
    return this.send(op);
  }

  private send(op: GateOp): Promise<void> {
    if (this.journal !== undefined) {
      this.journal.push(op);
      this.journalBytes += opBytes(op);
      if (this.journalBytes > this.maxJournalBytes) this.held ??= [];
    }
    const p = this.sink(op);
    const tracked = p.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.add(tracked);
    void tracked.then(() => this.inflight.delete(tracked));
    return p;
  }

  /** Where operations go from now on (the database a defrag switched to). */
  setSink(sink: GateSink): void {
    this.sink = sink;
  }

  hold(): void {
    this.held ??= [];
  }

  get holding(): boolean {
    return this.held !== undefined;
  }

  /** Resolves once every operation sent so far has finished (succeeded or failed). */
  async settle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  /** Sends what was held, in order, then stops holding. */
  async release(): Promise<void> {
    while (this.held !== undefined && this.held.length > 0) {
      const batch = this.held.splice(0);
      for (const h of batch) {
        if (h.op.kind === 'clear') await this.settle();
        this.send(h.op).then(h.resolve, h.reject);
      }
    }
    this.held = undefined;
  }

  openJournal(): void {
    this.journal = [];
    this.journalBytes = 0;
  }

  /** What was recorded since the last take (in order), and its size in bytes. */
  takeJournal(): { ops: GateOp[]; bytes: number } {
    const ops = this.journal ?? [];
    const bytes = this.journalBytes;
    if (this.journal !== undefined) this.journal = [];
    this.journalBytes = 0;
    return { ops, bytes };
  }

  get journalSize(): number {
    return this.journalBytes;
  }

  closeJournal(): void {
    this.journal = undefined;
    this.journalBytes = 0;
  }
}

function opBytes(op: GateOp): number {
  if (op.kind === 'clear') return op.gte.length + op.lt.length;
  let n = 0;
  for (const o of op.ops) n += o.key.length + (o.type === 'put' ? o.value.length : 0) + 16;
  return n;
}
