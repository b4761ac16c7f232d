import { describe, expect, it } from 'vitest';
import { CairnError, ErrorCode } from '@cairn/protocol';
import type { Scheduler } from '../clock.js';
import { AutoCompactor, parseAutoCompaction } from './autoCompactor.js';

/** Simulated time: timers fire as `advance` moves the clock. */
class FakeTime implements Pick<Scheduler, 'after'> {
  now = 0;
  private timers: { at: number; fn: () => void }[] = [];
  after(ms: number, fn: () => void): () => void {
    const t = { at: this.now + ms, fn };
    this.timers.push(t);
    return () => (this.timers = this.timers.filter((x) => x !== t));
  }
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const t = this.timers[0];
      if (t === undefined || t.at > end) break;
      this.timers.shift();
      this.now = t.at;
      t.fn();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
    this.now = end;
  }
}

function setup(mode: string, retention: string, leader = true) {
  const time = new FakeTime();
  const state = { rev: 1n, leader, compacted: [] as bigint[] };
  const c = new AutoCompactor(parseAutoCompaction(mode, retention), {
    scheduler: time,
    nowMs: () => time.now,
    isLeader: () => state.leader,
    revision: () => state.rev,
    compact: (r) => {
      if (state.compacted.length > 0 && r <= state.compacted.at(-1)!) return Promise.reject(new CairnError(ErrorCode.Compacted));
      state.compacted.push(r);
      return Promise.resolve();
    },
    log: { info: () => undefined, warn: () => undefined },
  }, 60_000);
  c.start();
  return { time, state, c };
}

describe('parseAutoCompaction', () => {
  it('reads etcd retentions', () => {
    expect(parseAutoCompaction('periodic', '1h')).toEqual({ mode: 'periodic', retentionMs: 3_600_000 });
    expect(parseAutoCompaction('periodic', '30m')).toEqual({ mode: 'periodic', retentionMs: 1_800_000 });
    expect(parseAutoCompaction('periodic', '5')).toEqual({ mode: 'periodic', retentionMs: 5 * 3_600_000 });
    expect(parseAutoCompaction('revision', '1000')).toEqual({ mode: 'revision', retentionRevisions: 1000 });
    expect(parseAutoCompaction('periodic', '0')).toEqual({ mode: 'off' });
    expect(() => parseAutoCompaction('revision', '1h')).toThrow(/number of revisions/);
    expect(() => parseAutoCompaction('periodic', '1 hour')).toThrow(/duration/);
    expect(() => parseAutoCompaction('hourly', '1h')).toThrow(/periodic or revision/);
  });
});

describe('AutoCompactor', () => {
  it('periodic 10m: first compaction after 10 minutes, to the revision of 10 minutes ago; then every 10 minutes', async () => {
    const { time, state } = setup('periodic', '10m');
    // One write per simulated minute.
    for (let m = 1; m <= 9; m++) {
      await time.advance(60_000);
      state.rev++;
    }
    expect(state.compacted).toEqual([]);
    await time.advance(60_000);
    expect(state.compacted).toEqual([1n]);
    for (let m = 0; m < 10; m++) {
      state.rev++;
      await time.advance(60_000);
    }
    // The revision sampled 10 minutes before the second compaction.
    expect(state.compacted.length).toBe(2);
    expect(state.compacted[1]).toBeGreaterThanOrEqual(9n);
    expect(state.compacted[1]).toBeLessThanOrEqual(11n);
  });

  it('revision: compacts to newest - N when it moved, and only while leading', async () => {
    const { time, state } = setup('revision', '100', false);
    state.rev = 500n;
    await time.advance(120_000);
    expect(state.compacted).toEqual([]);
    state.leader = true;
    await time.advance(60_000);
    expect(state.compacted).toEqual([400n]);
    await time.advance(60_000);
    expect(state.compacted).toEqual([400n]);
    state.rev = 650n;
    await time.advance(60_000);
    expect(state.compacted).toEqual([400n, 550n]);
  });
});
