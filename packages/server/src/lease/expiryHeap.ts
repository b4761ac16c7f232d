import type { LeaseId } from '@cairn/protocol';

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
  private items: Entry[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Entry | undefined {
    return this.items[0];
  }

  push(atMs: number, id: LeaseId): void {
    const a = this.items;
    a.push({ atMs, id });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.atMs <= a[i]!.atMs) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  pop(): Entry | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.atMs < a[m]!.atMs) m = l;
        if (r < a.length && a[r]!.atMs < a[m]!.atMs) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }

  /** Rebuilds from the live entries only. */
  rebuild(live: Iterable<readonly [LeaseId, number]>): void {
    this.items = [];
    for (const [id, at] of live) this.push(at, id);
  }
}
