import { afterEach, describe, expect, it } from 'vitest';
import type { Member } from '../member.js';
import { openMember, tempDir } from '../testing/harness.js';
import { minLeaseTtlSeconds } from './leases.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function open(extra: Parameters<typeof openMember>[2]): Promise<Member> {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const m = await openMember(t.dir, undefined, extra);
  cleanups.push(() => m.close());
  return m;
}

describe('the minimum lease TTL', () => {
  it('is 1.5 election timeouts rounded up to whole seconds, as etcd derives it', () => {
    expect(minLeaseTtlSeconds(1000)).toBe(2); // etcd's defaults: 100 ms x 10 ticks
    expect(minLeaseTtlSeconds(3000)).toBe(5);
    expect(minLeaseTtlSeconds(5000)).toBe(8);
    expect(minLeaseTtlSeconds(100)).toBe(1);
  });

  it("raises a grant below it to the member's minimum, and an explicit option overrides it", async () => {
    // 20 ms ticks x 100 = a 2 s election timeout: the minimum is 3 s.
    const m = await open({ raft: { tickMs: 20, electionTicks: 100 } });
    expect((await m.leases.grant({ ttlSeconds: 1 })).ttlSeconds).toBe(3);
    expect((await m.leases.grant({ ttlSeconds: 4 })).ttlSeconds).toBe(4);
    const n = await open({ minLeaseTtlSeconds: 7 });
    expect((await n.leases.grant({ ttlSeconds: 2 })).ttlSeconds).toBe(7);
  });
});
