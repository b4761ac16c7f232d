// Simulated network: per-message delay (which also reorders), loss, duplication, and
// directed link cuts (partitions, possibly asymmetric). Driven entirely by the sim's PRNG.
import type { Message, NodeId, SeededRng } from '../src/index.js';

export interface NetworkFaults {
  /** Probability that a message is lost. */
  drop: number;
  /** Probability that a message is delivered twice. */
  duplicate: number;
  /** Delivery happens 0..maxDelay rounds after sending. */
  maxDelay: number;
}

interface InFlight {
  readonly at: number;
  readonly seq: number;
  readonly m: Message;
}

export class Network {
  private queue: InFlight[] = [];
  private seq = 0;
  /** Cut directed links, `${from}>${to}`. */
  private readonly cut = new Set<string>();
  sent = 0;
  dropped = 0;

  constructor(
    private readonly rng: SeededRng,
    public faults: NetworkFaults,
  ) {}

  send(m: Message, now: number): void {
    this.sent++;
    if (this.rng.nextFloat() < this.faults.drop) {
      this.dropped++;
      return;
    }
    const copies = this.rng.nextFloat() < this.faults.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.queue.push({ at: now + this.rng.nextInt(this.faults.maxDelay + 1), seq: this.seq++, m });
    }
  }

  /**
   * Messages due at `now`, in a random order. Link cuts are applied at delivery time; a
   * message lost to a cut is passed to `unreachable` (the transport noticing the failure).
   */
  due(now: number, unreachable: (m: Message) => void): Message[] {
    const ready: InFlight[] = [];
    const rest: InFlight[] = [];
    for (const f of this.queue) (f.at <= now ? ready : rest).push(f);
    this.queue = rest;
    // Fisher-Yates over the (deterministically ordered) due list.
    for (let i = ready.length - 1; i > 0; i--) {
      const j = this.rng.nextInt(i + 1);
      const t = ready[i]!;
      ready[i] = ready[j]!;
      ready[j] = t;
    }
    const out: Message[] = [];
    for (const f of ready) {
      if (this.cut.has(`${f.m.from}>${f.m.to}`)) {
        this.dropped++;
        unreachable(f.m);
        continue;
      }
      out.push(f.m);
    }
    return out;
  }

  /** The sender crashed: messages still in its outgoing queues are lost. */
  dropFrom(from: NodeId): void {
    const before = this.queue.length;
    this.queue = this.queue.filter((f) => f.m.from !== from);
    this.dropped += before - this.queue.length;
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.has(`${from}>${to}`);
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  healAll(): void {
    this.cut.clear();
  }

  cutCount(): number {
    return this.cut.size;
  }

  pending(): number {
    return this.queue.length;
  }
}

/** One-line description of a message for traces. */
export function describeMessage(m: Message): string {
  let s = `${m.from}->${m.to} ${m.type} term=${m.term}`;
  if (m.type === 'MsgApp' || m.type === 'MsgVote' || m.type === 'MsgPreVote' || m.type === 'MsgAppResp') s += ` index=${m.index} logTerm=${m.logTerm}`;
  if (m.entries.length > 0) s += ` entries=${m.entries[0]!.index}..${m.entries[m.entries.length - 1]!.index}`;
  if (m.type === 'MsgApp' || m.type === 'MsgHeartbeat') s += ` commit=${m.commit}`;
  if (m.reject) s += ` reject hint=${m.rejectHint}`;
  if (m.snapshot !== null) s += ` snapshot=${m.snapshot.metadata.index}`;
  return s;
}
