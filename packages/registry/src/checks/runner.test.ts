import { describe, expect, it } from 'vitest';
import { parseChecks, type CheckState, type HealthStatus } from './options.js';
import type { ProbeResult } from './probes.js';
import { CheckRunner, type Timers } from './runner.js';

/** A clock that moves only when told; due timers run in time order. */
class FakeTimers implements Timers {
  private t = 0;
  private seq = 0;
  private readonly due = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.due.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.due.delete(h as number);
  }
  get pending(): number {
    return this.due.size;
  }
  /** Moves the clock by `ms`, running each timer at its time and letting its probe settle. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const next = [...this.due.entries()].filter(([, d]) => d.at <= end).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
      if (next === undefined) break;
      this.due.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
      for (let i = 0; i < 10; i++) await Promise.resolve();
    }
    this.t = end;
  }
}

function setup(checks: unknown[]) {
  const timers = new FakeTimers();
  const answers = new Map<string, HealthStatus>();
  const runs: { name: string; at: number }[] = [];
  const changes: { status: HealthStatus; checks: readonly CheckState[]; at: number }[] = [];
  const deregistered: { check: CheckState; at: number }[] = [];
  const runner = new CheckRunner(parseChecks(checks), {
    timers,
    probe: async (spec): Promise<ProbeResult> => {
      runs.push({ name: spec.name, at: timers.now() });
      const status = answers.get(spec.name) ?? 'passing';
      return { status, output: `said ${status}` };
    },
    onChange: (status, cs) => changes.push({ status, checks: cs, at: timers.now() }),
    onDeregister: (check) => deregistered.push({ check, at: timers.now() }),
  });
  return { timers, answers, runs, changes, deregistered, runner };
}

describe('CheckRunner', () => {
  it('runs each check at start and then every intervalMs; reports changes only', async () => {
    const { timers, answers, runs, changes, runner } = setup([{ name: 'web', http: 'http://127.0.0.1:1/health', intervalMs: 1000, timeoutMs: 500 }]);
    await runner.start();
    expect(runner.status).toBe('passing');
    expect(runs.map((r) => r.at)).toEqual([0]);
    await timers.advance(3000);
    expect(runs.map((r) => r.at)).toEqual([0, 1000, 2000, 3000]);
    expect(changes).toEqual([]);
    answers.set('web', 'critical');
    await timers.advance(1000);
    expect(changes).toEqual([{ status: 'critical', checks: [{ name: 'web', status: 'critical', output: 'said critical' }], at: 4000 }]);
    await timers.advance(2000);
    expect(changes).toHaveLength(1);
    answers.set('web', 'passing');
    await timers.advance(1000);
    expect(changes.map((c) => `${c.status}@${c.at}`)).toEqual(['critical@4000', 'passing@7000']);
  });

  it('the instance is the worst of its checks; warning is not critical', async () => {
    const { timers, answers, changes, runner } = setup([
      { name: 'a', tcp: '127.0.0.1:1', intervalMs: 100, timeoutMs: 50 },
      { name: 'b', run: ['true'], intervalMs: 300, timeoutMs: 50 },
    ]);
    answers.set('b', 'warning');
    await runner.start();
    expect(runner.status).toBe('warning');
    answers.set('a', 'critical');
    await timers.advance(100);
    expect(changes.at(-1)!.status).toBe('critical');
    answers.set('a', 'passing');
    answers.set('b', 'passing');
    await timers.advance(100); // a passes at 200; b runs next at 300
    expect(changes.at(-1)!.status).toBe('warning');
    await timers.advance(100);
    expect(changes.at(-1)!.status).toBe('passing');
    expect(runner.checks.map((c) => c.status)).toEqual(['passing', 'passing']);
  });

  it('deregisters once a check has been critical for deregisterAfterMs, not before, and not if it recovers', async () => {
    const { timers, answers, deregistered, runner } = setup([{ name: 'web', http: 'http://h/', intervalMs: 1000, timeoutMs: 100, deregisterAfterMs: 3500 }]);
    await runner.start();
    answers.set('web', 'critical');
    await timers.advance(1000); // critical from t=1000
    await timers.advance(2000);
    answers.set('web', 'passing');
    await timers.advance(1000); // passing again at t=4000, before 1000 + 3500
    await timers.advance(5000);
    expect(deregistered).toEqual([]);
    answers.set('web', 'critical');
    await timers.advance(1000); // critical from t=10000
    await timers.advance(3499);
    expect(deregistered).toEqual([]);
    await timers.advance(1);
    expect(deregistered).toEqual([{ check: { name: 'web', status: 'critical', output: 'said critical' }, at: 13500 }]);
    await timers.advance(10_000);
    expect(deregistered).toHaveLength(1);
  });

  it('a check critical from its first run counts from the start', async () => {
    const { timers, answers, deregistered, runner } = setup([{ name: 'web', http: 'http://h/', intervalMs: 500, timeoutMs: 100, deregisterAfterMs: 2000 }]);
    answers.set('web', 'critical');
    await runner.start();
    expect(runner.status).toBe('critical');
    await timers.advance(2000);
    expect(deregistered.map((d) => d.at)).toEqual([2000]);
  });

  it('stop() cancels every timer: no run, no report, no deregistration after it', async () => {
    const { timers, answers, runs, changes, deregistered, runner } = setup([{ name: 'web', http: 'http://h/', intervalMs: 100, timeoutMs: 10, deregisterAfterMs: 100 }]);
    answers.set('web', 'critical');
    await runner.start();
    runner.stop();
    expect(timers.pending).toBe(0);
    await timers.advance(1000);
    expect(runs).toHaveLength(1);
    expect(changes).toEqual([]);
    expect(deregistered).toEqual([]);
  });

  it('a run that outlasts the interval is not overlapped: the next starts when it ends', async () => {
    const timers = new FakeTimers();
    const starts: number[] = [];
    let release: (() => void) | undefined;
    const runner = new CheckRunner(parseChecks([{ tcp: 'h:1', intervalMs: 100, timeoutMs: 100 }]), {
      timers,
      probe: () => {
        starts.push(timers.now());
        if (starts.length !== 2) return Promise.resolve({ status: 'passing', output: '' });
        // The second run hangs until released (a real probe gives up at its timeout).
        return new Promise((r) => (release = () => r({ status: 'passing', output: '' })));
      },
      onChange: () => undefined,
      onDeregister: () => undefined,
    });
    await runner.start();
    await timers.advance(250);
    expect(starts).toEqual([0, 100]);
    release!();
    for (let i = 0; i < 10; i++) await Promise.resolve();
    await timers.advance(0);
    expect(starts).toEqual([0, 100, 250]);
    await timers.advance(100);
    expect(starts).toEqual([0, 100, 250, 350]);
  });
});
