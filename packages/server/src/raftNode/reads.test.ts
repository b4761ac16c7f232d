import { describe, expect, it } from 'vitest';
import { systemScheduler } from '../clock.js';
import { ReadIndexQueue } from './reads.js';

function queue(applied = { index: 0 }, leader = true) {
  const asked: Uint8Array[] = [];
  const q = new ReadIndexQueue({ requestIndex: (ctx) => asked.push(ctx), appliedIndex: () => applied.index, hasLeader: () => leader, scheduler: systemScheduler });
  return { q, asked, applied };
}

describe('ReadIndex queue', () => {
  it('batches: reads arriving while a round is out share the next round', async () => {
    const { q, asked, applied } = queue();
    const first = Array.from({ length: 10 }, () => q.wait(5000));
    await Promise.resolve();
    expect(asked).toHaveLength(1);
    const later = Array.from({ length: 10 }, () => q.wait(5000));
    expect(asked).toHaveLength(1);
    applied.index = 5;
    q.readState({ index: 5, requestCtx: asked[0]! });
    await Promise.all(first);
    expect(asked).toHaveLength(2); // the next round, for the later ten
    q.readState({ index: 9, requestCtx: asked[1]! });
    let done = false;
    void Promise.all(later).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(done).toBe(false); // confirmed at 9, applied only 5: still waiting
    q.applied(9);
    await Promise.all(later);
    q.close();
  });

  it('ignores an answer to another round, retries a lost one, and times out typed', async () => {
    const { q, asked } = queue({ index: 0 }, false);
    const p = q.wait(700);
    await Promise.resolve();
    q.readState({ index: 1, requestCtx: new Uint8Array(8) });
    await new Promise((r) => setTimeout(r, 600));
    expect(asked.length).toBe(2); // asked again after 500 ms
    await expect(p).rejects.toMatchObject({ code: 'no_leader' });
    q.close();
  });
  it('starts its context ids afresh per process: a restarted queue does not reuse the ids of the one before', async () => {
    // Two queues stand for one member before and after a restart: with ids counted from 1,
    // the new queue's first round would carry the old one's first id, and a late answer to
    // the old round (index 3, say) would release the new reads at a stale index.
    const ids = new Set<string>();
    for (let restart = 0; restart < 20; restart++) {
      const { q, asked } = queue();
      void q.wait(5000).catch(() => undefined);
      await Promise.resolve();
      expect(asked).toHaveLength(1);
      ids.add(Buffer.from(asked[0]!).toString('hex'));
      q.close();
    }
    expect(ids.size).toBe(20);
  });
});
