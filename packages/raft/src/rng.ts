/**
 * Randomness is injected so that a node is a pure function of its inputs. Raft only uses it
 * for randomized election timeouts.
 */
export interface Rng {
  /** A uniformly distributed integer in [0, n). `n` is a positive integer < 2^32. */
  nextInt(n: number): number;
}

/**
 * Seeded 32-bit generator: a Weyl sequence passed through the murmur3 finalizer
 * (splitmix-style). Small, fast and good enough for timeouts and simulation; not for crypto.
 */
export class SeededRng implements Rng {
  private state: number;

  constructor(seed: number) {
    this.state = (seed ^ 0x5bd1e995) >>> 0;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  nextInt(n: number): number {
    // Multiply-shift mapping; the bias is below 2^-32 * n, irrelevant here.
    return Math.floor((this.nextU32() / 4294967296) * n);
  }

  /** A float in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }
}
