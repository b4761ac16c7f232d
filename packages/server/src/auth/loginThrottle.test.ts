import { describe, expect, it } from 'vitest';
import { CairnError } from '@cairn/protocol';
import { LoginThrottle, type LoginBlock } from './loginThrottle.js';

function setup(): { t: LoginThrottle; clock: { ms: number; now: () => number }; blocks: LoginBlock[] } {
  const clock = { ms: 1_000_000, now: () => clock.ms };
  const blocks: LoginBlock[] = [];
  const t = new LoginThrottle(clock, { freeFailures: 3, baseDelayMs: 1000, maxDelayMs: 4000 }, (b) => blocks.push(b));
  return { t, clock, blocks };
}

/** One login; 'ok', 'failed' or `refused <retryAfterMs>`. */
async function login(t: LoginThrottle, user: string, address: string, right: boolean): Promise<string> {
  try {
    const a = await t.admit(user, address);
    a.done(right);
    return right ? 'ok' : 'failed';
  } catch (err) {
    const e = err as CairnError;
    return `${e.code} ${String(e.details?.['retryAfterMs'])}`;
  }
}

describe('login throttle', () => {
  it('blocks an address after the free failures, doubling up to the maximum; a success clears it', async () => {
    const { t, clock, blocks } = setup();
    const out: string[] = [];
    for (let i = 0; i < 4; i++) out.push(await login(t, 'alice', 'A', false));
    expect(out).toEqual(['failed', 'failed', 'failed', 'too_many_requests 1000']);
    // Even the right password waits out the block from the address that failed.
    expect(await login(t, 'alice', 'A', true)).toBe('too_many_requests 1000');
    clock.ms += 1000;
    expect(await login(t, 'alice', 'A', false)).toBe('failed');
    expect(await login(t, 'alice', 'A', true)).toBe('too_many_requests 2000');
    for (const step of [2000, 4000, 4000]) {
      clock.ms += step;
      expect(await login(t, 'alice', 'A', false)).toBe('failed');
    }
    expect(await login(t, 'alice', 'A', true)).toBe('too_many_requests 4000');
    clock.ms += 4000;
    expect(await login(t, 'alice', 'A', true)).toBe('ok');
    expect(await login(t, 'alice', 'A', false)).toBe('failed');
    expect(blocks.map((b) => `${b.scope} ${b.key} ${b.forMs}`)).toContain('address A 1000');
  });

  it('guessing from many addresses blocks the user for untrusted addresses only', async () => {
    const { t, clock } = setup();
    expect(await login(t, 'alice', 'home', true)).toBe('ok');
    for (const addr of ['x1', 'x2', 'x3']) expect(await login(t, 'alice', addr, false)).toBe('failed');
    // A fourth attacker address, and the real user on a new address, wait at most the maximum.
    expect(await login(t, 'alice', 'x4', false)).toBe('too_many_requests 1000');
    expect(await login(t, 'alice', 'cafe', true)).toBe('too_many_requests 1000');
    // From home, where alice logged in before, nothing changes.
    expect(await login(t, 'alice', 'home', true)).toBe('ok');
    // Another user from an attacker address is not affected by alice's block.
    expect(await login(t, 'bob', 'x4', true)).toBe('ok');
    clock.ms += 1000;
    expect(await login(t, 'alice', 'cafe', true)).toBe('ok');
  });

  it('a burst of parallel guesses from one address gets no more guesses than a sequence', async () => {
    const { t } = setup();
    const results = await Promise.all(
      Array.from({ length: 200 }, async () => {
        try {
          const a = await t.admit('alice', 'A');
          await new Promise((r) => setTimeout(r, 5));
          a.done(false);
          return 'failed';
        } catch (err) {
          return (err as CairnError).code;
        }
      }),
    );
    const failed = results.filter((r) => r === 'failed').length;
    // Free failures plus what was already being checked when the block started (4 at once).
    expect(failed).toBeGreaterThanOrEqual(3);
    expect(failed).toBeLessThanOrEqual(3 + 4 - 1);
    expect(results.filter((r) => r === 'too_many_requests').length).toBe(200 - failed);
  });

  it('a burst of right passwords from one address is queued, not refused', async () => {
    const { t } = setup();
    const results = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const a = await t.admit('svc', 'A');
        await new Promise((r) => setTimeout(r, 2));
        a.done(true);
        return 'ok';
      }),
    );
    expect(results.every((r) => r === 'ok')).toBe(true);
  });
});
