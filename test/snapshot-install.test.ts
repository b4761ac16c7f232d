/**
 * A snapshot install on a follower that its readers never see half-done (issue 13, item 6),
 * with real processes: a follower that missed more than the leader's log keeps is caught up
 * by a snapshot (--snapshot-count small) while serializable reads and a watch catching up from
 * revision 1 run against it. Every read answers, and answers a whole state (each put adds one
 * key, so a range's count is its revision - 1); the watch delivers every revision once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CairnClient, type WatchEvent } from '@cairn/client';
import { TestCluster } from './support/cluster.js';
import { waitFor } from './support/process.js';

let cluster: TestCluster | undefined;
afterAll(async () => {
  await cluster?.cleanup();
});

const key = (i: number): string => `k/${String(i).padStart(5, '0')}`;

describe('snapshot install on a follower', () => {
  it('serves serializable reads and a catching-up watch without an error, a gap or a duplicate', async () => {
    cluster = await TestCluster.create({ extraYaml: ['snapshot-count: 100'] });
    await cluster.start();
    const leader = await cluster.leader();
    const behind = (leader + 1) % 3;
    const writer = cluster.client([0, 1, 2].filter((i) => i !== behind));
    const value = 'v'.repeat(64);
    let written = 0;
    const put = async (n: number): Promise<void> => {
      for (let end = written + n; written < end; ) {
        const batch = Array.from({ length: Math.min(50, end - written) }, () => key(written++));
        await Promise.all(batch.map((k) => writer.kv.put(k, value)));
      }
    };
    await put(300);
    await cluster.converged();
    await cluster.members[behind]!.kill();
    // Far more than the log keeps (two snapshot points of 100 entries): a snapshot it is, of
    // enough rows that copying them in takes several writes (4096 rows each).
    await put(15_000);

    await cluster.members[behind]!.start(60_000, 'listening');
    const c = new CairnClient({ endpoints: [cluster.endpoints[behind]!], dialTimeoutMs: 5000, requestTimeoutMs: 15_000 });
    const events: WatchEvent[] = [];
    const watcher = c.watch('k/', { prefix: true, startRevision: 1 });
    const watching = (async () => {
      for await (const e of watcher.events()) events.push(e);
    })();
    const readErrors: string[] = [];
    const inconsistent: string[] = [];
    let reads = 0;
    let lastRev = 0n;
    let stop = false;
    const deadline = Date.now() + 90_000;
    const reader = (async () => {
      while (!stop && Date.now() < deadline && reads < 200_000) {
        try {
          // The newest keys, with their values: read from the history table, which an install
          // rewrites, the newest records last.
          const r = await c.kv.range({ key: 'k/', prefix: true, limit: 10, sortOrder: 'descend', sortTarget: 'key', serializable: true });
          reads++;
          const n = Number(r.header.revision - 1n);
          if (BigInt(r.count) !== BigInt(n)) inconsistent.push(`count ${r.count} at revision ${r.header.revision}`);
          const whole = r.kvs.length === Math.min(10, n) && r.kvs.every((kv) => kv.value.length === value.length && kv.modRevision <= r.header.revision);
          if (!whole) inconsistent.push(`revision ${r.header.revision}: ${r.kvs.length} keys ${r.kvs.map((kv) => `${new TextDecoder().decode(kv.key)}@${kv.modRevision}`).join()}`);
          if (r.header.revision < lastRev) inconsistent.push(`revision went back from ${lastRev} to ${r.header.revision}`);
          lastRev = r.header.revision;
        } catch (err) {
          readErrors.push((err as Error).message);
        }
      }
    })();
    // More writes while it installs and after.
    const more = put(300);
    await waitFor('the follower to install a snapshot', () => cluster!.members[behind]!.log.includes('installed a snapshot'), 60_000, 50);
    await more;
    const finalRev = BigInt(written + 1);
    await waitFor(`the watch to reach revision ${finalRev}`, () => events.length >= written, 60_000, 50);
    stop = true;
    await reader;
    watcher.cancel();
    await watching;
    c.close();

    expect(readErrors).toEqual([]);
    expect(inconsistent).toEqual([]);
    expect(reads).toBeGreaterThan(10);
    expect(lastRev).toBe(finalRev);
    const revs = events.map((e) => e.kv.modRevision);
    // Revisions 2 .. written+1, each once, in order, each the put of its key.
    expect(revs.length).toBe(written);
    const wrong = revs.filter((r, i) => r !== BigInt(i + 2));
    expect(wrong.slice(0, 5)).toEqual([]);
    const keys = new Set(events.map((e) => new TextDecoder().decode(e.kv.key)));
    expect(keys.size).toBe(written);
    expect(keys.has(key(0)) && keys.has(key(written - 1))).toBe(true);
    console.log(`snapshot install: ${reads} serializable reads and ${events.length} watch events on the follower, no error`);
  }, 240_000);
});
