import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@cairn/protocol';
import { MemoryBackend } from '../storage/memory.js';
import { openMember } from '../testing/harness.js';
import { Quota } from './quota.js';

describe('quota', () => {
  it('measures the size at most every 250 ms, raises NOSPACE once past it, and refuses while raised', async () => {
    const member = await openMember('', new MemoryBackend());
    let size = 10;
    let measured = 0;
    let now = 0;
    const quota = new Quota(member, 100, () => (measured++, size), () => now);
    quota.check();
    quota.check();
    expect(measured).toBe(1);
    size = 1000;
    quota.check(); // still the cached 10
    now = 300;
    expect(() => quota.check()).toThrow(expect.objectContaining({ code: ErrorCode.NoSpace }));
    expect(measured).toBe(2);
    // The alarm goes through the member's write path.
    await member.propose({ put: { key: new TextEncoder().encode('x'), value: new Uint8Array() } }).catch(() => undefined);
    expect(member.applier.alarms.list()).toEqual([{ memberId: member.memberId, alarm: 'nospace' }]);
    size = 0;
    now = 600;
    // Under the quota again, but the alarm holds until disarmed.
    expect(() => quota.check()).toThrow(expect.objectContaining({ code: ErrorCode.NoSpace }));
    await member.propose({ alarm: { action: 'deactivate', memberId: member.memberId, alarm: 'nospace' } });
    quota.check();
    await member.close();
  });
});
