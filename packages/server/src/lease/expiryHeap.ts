import type { LeaseId } from '@cairn/protocol';
import { MinHeap } from '../minHeap.js';

interface Entry {
  readonly atMs: number;
  readonly id: LeaseId;
}

/**
 * A binary min-heap of (expiry time, lease id). Renewing a lease pushes a new entry and leaves
 * the old one in place; the owner tells a live entry from a stale one by comparing its time
 * with the lease's current expiry (lazy deletion), and rebuilds the heap when stale entries
 * dominate.
 */
export class ExpiryHeap {
  private readonly heap = new MinHeap<Entry>((a, b) => a.atMs < b.atMs);

  get size(): number {
    return this.heap.size;
  }

  peek(): Entry | undefined {
    return this.heap.peek();
  }

  push(atMs: number, id: LeaseId): void {
    this.heap.push({ atMs, id });
  }

  pop(): Entry | undefined {
    return this.heap.pop();
  }

  /** Rebuilds from the live entries only. */
  rebuild(live: Iterable<readonly [LeaseId, number]>): void {
    this.heap.clear();
    for (const [id, at] of live) this.push(at, id);
  }
}
