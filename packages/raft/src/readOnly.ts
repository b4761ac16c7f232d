import type { Message, NodeId } from './types.js';

/**
 * Pending ReadIndex requests on the leader (Raft thesis §6.4). A request records the commit
 * index at arrival; it is answered once a quorum acknowledged a heartbeat sent after it
 * (carrying its context), which proves this node was still leader when the request arrived.
 * An acknowledgement for a request also confirms every earlier request.
 */
interface ReadIndexStatus {
  readonly req: Message;
  readonly index: number;
  readonly acks: Set<NodeId>;
}

export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  addRequest(index: number, m: Message): void {
    const key = ctxKey(m.context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { req: m, index, acks: new Set() });
    this.queue.push(key);
  }

  /** Records that `id` acknowledged the heartbeat carrying `context`; returns the acks so far. */
  recvAck(id: NodeId, context: Uint8Array): Set<NodeId> | undefined {
    const rs = this.pending.get(ctxKey(context));
    if (rs === undefined) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** Dequeues the request with `context` and all requests queued before it. */
  advance(context: Uint8Array): { req: Message; index: number }[] {
    const key = ctxKey(context);
    const i = this.queue.indexOf(key);
    if (i < 0) return [];
    const out: { req: Message; index: number }[] = [];
    for (const k of this.queue.slice(0, i + 1)) {
      const rs = this.pending.get(k)!;
      out.push({ req: rs.req, index: rs.index });
      this.pending.delete(k);
    }
    this.queue = this.queue.slice(i + 1);
    return out;
  }

  lastPendingRequestCtx(): Uint8Array | undefined {
    const k = this.queue[this.queue.length - 1];
    return k === undefined ? undefined : this.pending.get(k)!.req.context;
  }

  pendingCount(): number {
    return this.queue.length;
  }
}

function ctxKey(c: Uint8Array): string {
  let s = '';
  for (let i = 0; i < c.length; i++) s += (c[i]! < 16 ? '0' : '') + c[i]!.toString(16);
  return s;
}
