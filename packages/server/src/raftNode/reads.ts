import { randomBytes } from 'node:crypto';
import { CairnError, ErrorCode } from '@cairn/protocol';
import type { ReadState } from '@cairn/raft';
import type { Scheduler } from '../clock.js';

interface ReadWaiter {
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
  cancelTimer: () => void;
  /** The read index, once a round confirmed one. */
  index?: number;
}

export interface ReadHost {
  /** Asks raft for a read index (RawNode.readIndex); the answer comes back via `readState`. */
  requestIndex(ctx: Uint8Array): void;
  appliedIndex(): number;
  /** Whether a leader is known now (a read that times out without one says no_leader). */
  hasLeader(): boolean;
  readonly scheduler: Pick<Scheduler, 'after'>;
}

/** A round not answered within this is asked again (the request or its answer was lost). */
const RETRY_MS = 500;

/**
 * Linearizable reads by ReadIndex (thesis §6.4), batched like etcd's read loop: every read
 * that arrives while a round is out waits for the next round, so a thousand concurrent reads
 * cost one heartbeat exchange, not a thousand. A read is released once this member has applied
 * up to the index its round confirmed.
 */
export class ReadIndexQueue {
  private waiting: ReadWaiter[] = [];
  private round: { ctx: Uint8Array; waiters: ReadWaiter[]; cancelRetry: () => void } | undefined;
  private confirmed: ReadWaiter[] = [];
  /**
   * Context ids: from a random 64-bit start, so that a restarted member never reuses an id a
   * leader may still answer from before the restart (an old answer must not release new reads).
   */
  private seq = randomBytes(8).readBigUInt64BE(0);
  private closed = false;
  private starting = false;

  constructor(private readonly host: ReadHost) {}

  /** Resolves when a read served from this member's state now would be linearizable. */
  wait(timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.reject(new CairnError(ErrorCode.Stopped));
    return new Promise((resolve, reject) => {
      const w: ReadWaiter = { resolve, reject, cancelTimer: () => undefined };
      w.cancelTimer = this.host.scheduler.after(timeoutMs, () => {
        this.drop(w);
        reject(this.host.hasLeader() ? new CairnError(ErrorCode.Timeout, 'request timed out') : new CairnError(ErrorCode.NoLeader));
      });
      this.waiting.push(w);
      // Reads of the same JS turn share the round: it starts once the turn is over.
      if (this.round === undefined && !this.starting) {
        this.starting = true;
        queueMicrotask(() => {
          this.starting = false;
          if (this.round === undefined && !this.closed) this.startRound();
        });
      }
    });
  }

  private drop(w: ReadWaiter): void {
    this.waiting = this.waiting.filter((x) => x !== w);
    this.confirmed = this.confirmed.filter((x) => x !== w);
    if (this.round !== undefined) this.round.waiters = this.round.waiters.filter((x) => x !== w);
  }

  private startRound(carried: ReadWaiter[] = []): void {
    const waiters = [...carried, ...this.waiting];
    this.waiting = [];
    if (waiters.length === 0) {
      this.round = undefined;
      return;
    }
    const ctx = new Uint8Array(8);
    this.seq = BigInt.asUintN(64, this.seq + 1n);
    new DataView(ctx.buffer).setBigUint64(0, this.seq);
    const cancelRetry = this.host.scheduler.after(RETRY_MS, () => {
      const r = this.round;
      if (r !== undefined && r.ctx === ctx) this.startRound(r.waiters);
    });
    this.round = { ctx, waiters, cancelRetry };
    this.host.requestIndex(ctx);
  }

  /** Raft answered a read index request. */
  readState(rs: ReadState): void {
    const r = this.round;
    if (r === undefined || !sameBytes(r.ctx, rs.requestCtx)) return;
    r.cancelRetry();
    this.round = undefined;
    for (const w of r.waiters) {
      w.index = rs.index;
      this.confirmed.push(w);
    }
    this.applied(this.host.appliedIndex());
    if (this.waiting.length > 0) this.startRound();
  }

  /** This member applied up to `index`: release the reads it satisfies. */
  applied(index: number): void {
    if (this.confirmed.length === 0) return;
    const still: ReadWaiter[] = [];
    for (const w of this.confirmed) {
      if (w.index! <= index) {
        w.cancelTimer();
        w.resolve();
      } else still.push(w);
    }
    this.confirmed = still;
  }

  close(): void {
    this.closed = true;
    const all = [...this.waiting, ...this.confirmed, ...(this.round?.waiters ?? [])];
    this.round?.cancelRetry();
    this.round = undefined;
    this.waiting = [];
    this.confirmed = [];
    for (const w of all) {
      w.cancelTimer();
      w.reject(new CairnError(ErrorCode.Stopped));
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
