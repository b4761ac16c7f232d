import { describe, expect, it } from 'vitest';
import type { LeaseId } from '@cairn/protocol';
import type { Clock, Scheduler } from '../clock.js';
import { MemoryBackend } from '../storage/memory.js';
import type { BatchOp } from '../storage/backend.js';
import { Lessor } from './lessor.js';
import { LeasePrimary } from './primary.js';

/** Simulated time: timers fire only when the test advances the clock. */
class FakeTime implements Clock, Scheduler {
  ms = 1_000_000;
  timers: { at: number; fn: () => void; live: boolean }[] = [];
  now(): number {
    return this.ms;
  }
  monotonic(): number {
    return this.ms;
  }
  defer(fn: () => void): void {
    this.after(0, fn);
  }
  after(ms: number, fn: () => void): () => void {
    const t = { at: this.ms + ms, fn, live: true };
    this.timers.push(t);
    return () => (t.live = false);
  }
  get pending(): number {
    return this.timers.filter((t) => t.live).length;
  }
  async advance(ms: number): Promise<void> {
    const end = this.ms + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.ms = Math.max(this.ms, due.at);
      due.live = false;
      due.fn();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
    this.ms = end;
  }
}

function setup(maxRevokesPerRound = 1000) {
  const time = new FakeTime();
  const lessor = Lessor.load(new MemoryBackend());
  const ops: BatchOp[] = [];
  const rounds: LeaseId[][] = [];
  const primary = new LeasePrimary({
    lessor,
    clock: time,
    scheduler: time,
    maxRevokesPerRound,
    expire: async (ids) => {
      rounds.push(ids);
      for (const id of ids) lessor.revoke(id, ops);
    },
  });
  primary.promote();
  return { time, lessor, ops, rounds, primary };
}

describe('lease primary', () => {
  it('expires leases in expiry order, not before their TTL', async () => {
    const { time, lessor, ops, rounds } = setup();
    lessor.grant(1n, 5, ops);
    lessor.grant(2n, 2, ops);
    await time.advance(1900);
    expect(rounds).toEqual([]);
    await time.advance(200);
    expect(rounds).toEqual([[2n]]);
    await time.advance(3000);
    expect(rounds).toEqual([[2n], [1n]]);
    expect(lessor.size).toBe(0);
  });

  it('a keep-alive gives the full TTL again; an expired lease cannot be renewed', async () => {
    const { time, lessor, ops, rounds, primary } = setup();
    lessor.grant(7n, 3, ops);
    for (let i = 0; i < 10; i++) {
      await time.advance(2000);
      expect(primary.renew(7n)).toBe(3);
    }
    expect(rounds).toEqual([]);
    expect(primary.remainingSeconds(7n)).toBe(3);
    await time.advance(3200);
    expect(rounds).toEqual([[7n]]);
    expect(primary.renew(7n)).toBe(-1);
  });

  it('a new leader (or a restart) gives every lease its full TTL: nothing is cut short', async () => {
    const { time, lessor, ops, rounds, primary } = setup();
    lessor.grant(1n, 10, ops);
    await time.advance(9000);
    primary.demote();
    await time.advance(5000);
    expect(rounds).toEqual([]);
    primary.promote();
    expect(primary.remainingSeconds(1n)).toBe(10);
    await time.advance(9900);
    expect(rounds).toEqual([]);
    await time.advance(300);
    expect(rounds).toEqual([[1n]]);
  });

  it('revokes in bounded rounds', async () => {
    const { time, lessor, ops, rounds } = setup(2);
    for (let i = 1n; i <= 5n; i++) lessor.grant(i, 1, ops);
    await time.advance(1100);
    await time.advance(500);
    expect(rounds.map((r) => r.length)).toEqual([2, 2, 1]);
  });

  it('retries a revoke that failed one resolution later, not in a busy loop', async () => {
    const time = new FakeTime();
    const lessor = Lessor.load(new MemoryBackend());
    const ops: BatchOp[] = [];
    let calls = 0;
    const primary = new LeasePrimary({
      lessor,
      clock: time,
      scheduler: time,
      resolutionMs: 100,
      expire: async (ids) => {
        // Refused at once (as during a leadership transfer) the first 50 times.
        if (++calls <= 50) throw new Error('proposal dropped');
        for (const id of ids) lessor.revoke(id, ops);
      },
    });
    primary.promote();
    lessor.grant(1n, 1, ops);
    await time.advance(1000);
    expect(calls).toBe(1);
    await time.advance(450);
    expect(calls).toBe(5);
    expect(lessor.exists(1n)).toBe(true);
    await time.advance(5000);
    expect(calls).toBe(51);
    expect(lessor.exists(1n)).toBe(false);
  });

  it('100,000 idle leases hold one timer and expire on time', async () => {
    const { time, lessor, ops, rounds, primary } = setup(1000);
    for (let i = 1; i <= 100_000; i++) lessor.grant(BigInt(i), 10 + (i % 5), ops);
    expect(time.pending).toBe(1);
    // Renewals keep the heap bounded (stale entries are dropped).
    for (let i = 1; i <= 100_000; i++) primary.renew(BigInt(i));
    expect(time.pending).toBe(1);
    await time.advance(9_900);
    expect(rounds).toEqual([]);
    await time.advance(6_000);
    expect(lessor.size).toBe(0);
    expect(Math.max(...rounds.map((r) => r.length))).toBeLessThanOrEqual(1000);
  });
});
