// Simulated time: one deterministic event queue that every member's Clock and Scheduler and
// the simulator itself run on. No real timer decides anything; real macrotasks are used only
// to let the microtasks an event started settle before the next event runs (as Node does
// between two timers), which keeps promise-heavy code in the same order on every run.
import type { Clock, Scheduler } from '../src/clock.js';
import { MinHeap } from '../src/minHeap.js';

/** Who armed a timer: a member's incarnation (its timers die with it) or the simulator. */
export interface Owner {
  readonly name: string;
  alive: boolean;
  /**
   * A paused process (SIGSTOP, a long GC or a starved VM): until this simulated time none of
   * its events run; they run at resume, in the order they fell due.
   */
  pausedUntil?: number;
}

interface SimEvent {
  at: number;
  seq: number;
  readonly owner: Owner;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * Events at one instant past which the run is a livelock: something re-arms itself with no
 * delay forever (a retry without back-off), and simulated time would never move again.
 */
const MAX_EVENTS_AT_ONE_INSTANT = 100_000;

/** Events by (at, seq): equal times run in the order they were armed. */
const before = (x: SimEvent, y: SimEvent): boolean => x.at < y.at || (x.at === y.at && x.seq < y.seq);

/** Lets every microtask queued so far (and those they queue) run: one real macrotask turn. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The simulated wall clock starts here (2024-01-01T00:00:00Z), so stamps look plausible. */
const EPOCH_MS = 1_704_067_200_000;

export class SimLoop {
  private readonly heap = new MinHeap<SimEvent>(before);
  private seq = 0;
  private nowMs = 0;
  /** Events run so far. */
  steps = 0;
  /** The simulator's own timers: never die. */
  readonly sim: Owner = { name: 'sim', alive: true };

  /** Simulated milliseconds since the start. */
  get now(): number {
    return this.nowMs;
  }

  /** Runs `fn` at now + `ms` unless `owner` died or it was cancelled first. */
  at(owner: Owner, ms: number, fn: () => void): () => void {
    const e: SimEvent = { at: this.nowMs + Math.max(0, ms), seq: this.seq++, owner, fn, cancelled: false };
    this.heap.push(e);
    return () => {
      e.cancelled = true;
    };
  }

  /** A Clock for one member: its wall clock may be off by `wallSkewMs`; monotonic time is shared. */
  clock(wallSkewMs = 0): Clock {
    return { now: () => EPOCH_MS + this.nowMs + wallSkewMs, monotonic: () => this.nowMs };
  }

  /** A Scheduler whose timers and deferred calls belong to `owner`. */
  scheduler(owner: Owner): Scheduler {
    return {
      after: (ms, fn) => this.at(owner, ms, fn),
      // setImmediate: after what is already due now, in the order asked.
      defer: (fn) => void this.at(owner, 0, fn),
    };
  }

  /**
   * Runs events until simulated time reaches `untilMs` or `stop()` says so (checked after
   * every event). Each event runs alone, its microtasks settled before the next one. Throws
   * on a livelock (see MAX_EVENTS_AT_ONE_INSTANT).
   */
  async run(untilMs: number, stop: () => boolean = () => false): Promise<void> {
    await settle();
    let sameInstant = 0;
    for (;;) {
      if (stop()) return;
      const e = this.heap.peek();
      if (e === undefined || e.at > untilMs) {
        this.nowMs = Math.max(this.nowMs, untilMs);
        return;
      }
      this.heap.pop();
      if (e.cancelled || !e.owner.alive) continue;
      const resumeAt = e.owner.pausedUntil;
      if (resumeAt !== undefined && resumeAt > e.at) {
        // Due while its process is paused: it runs at resume, after what was due before it.
        e.at = resumeAt;
        e.seq = this.seq++;
        this.heap.push(e);
        continue;
      }
      sameInstant = e.at === this.nowMs ? sameInstant + 1 : 0;
      if (sameInstant > MAX_EVENTS_AT_ONE_INSTANT) {
        throw new Error(`livelock: ${sameInstant} events at ${this.nowMs} ms without time moving (the last armed by ${e.owner.name})`);
      }
      this.nowMs = e.at;
      this.steps++;
      e.fn();
      await settle();
    }
  }

  /** Events armed and not yet run (cancelled ones included). */
  get pending(): number {
    return this.heap.size;
  }
}
