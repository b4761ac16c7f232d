/**
 * Sliding window of MsgApp sent to one follower in replicate state but not yet acknowledged.
 * Bounded by a count (maxInflightMsgs) and optionally by bytes. Indices are increasing.
 */
export class Inflights {
  private idx: number[] = [];
  private sizes: number[] = [];
  private start = 0;
  private bytes = 0;

  constructor(
    readonly maxCount: number,
    readonly maxBytes: number = 0,
  ) {}

  count(): number {
    return this.idx.length - this.start;
  }

  full(): boolean {
    return this.count() >= this.maxCount || (this.maxBytes > 0 && this.bytes >= this.maxBytes);
  }

  /** Records a MsgApp whose last entry is `index`. */
  add(index: number, bytes: number): void {
    this.idx.push(index);
    this.sizes.push(bytes);
    this.bytes += bytes;
  }

  /** The follower acknowledged everything up to `to`: frees those slots. */
  freeLE(to: number): void {
    while (this.start < this.idx.length && this.idx[this.start]! <= to) {
      this.bytes -= this.sizes[this.start]!;
      this.start++;
    }
    if (this.start > 64 && this.start * 2 > this.idx.length) {
      this.idx = this.idx.slice(this.start);
      this.sizes = this.sizes.slice(this.start);
      this.start = 0;
    }
  }

  /** Frees the oldest slot (used when the follower is alive but a MsgApp may have been lost). */
  freeFirstOne(): void {
    if (this.count() > 0) this.freeLE(this.idx[this.start]!);
  }

  reset(): void {
    this.idx = [];
    this.sizes = [];
    this.start = 0;
    this.bytes = 0;
  }
}
