import { worstStatus, type CheckSpec, type CheckState, type HealthStatus } from './options.js';
import type { Probe, ProbeResult } from './probes.js';

/** Time for the runner, injected so that tests run it on a fake clock. */
export interface Timers {
  /** Milliseconds, monotonic enough for intervals. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // Checks alone must not keep a process alive.
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface CheckRunnerHooks {
  readonly probe: Probe;
  readonly timers: Timers;
  /** A check's status changed (so maybe the instance's): the record should be written again. */
  readonly onChange: (status: HealthStatus, checks: readonly CheckState[]) => void;
  /** `check` has been critical for its deregisterAfterMs: the instance should deregister. */
  readonly onDeregister: (check: CheckState) => void;
}

interface Slot {
  readonly spec: CheckSpec;
  state: CheckState;
  timer: unknown;
  deregisterTimer: unknown;
}

/**
 * Runs an instance's checks: each once at `start()`, then every intervalMs from the start of its
 * previous run (a run lasts at most about timeoutMs <= intervalMs, so runs of one check never
 * overlap). Reports status changes, not every result: a record is written only when it would say
 * something new.
 *
 * Invariant: a slot's deregisterTimer is set exactly while its status is critical, it has a
 * deregisterAfterMs, and the runner is not stopped.
 */
export class CheckRunner {
  private readonly slots: Slot[];
  private stopped = false;
  private deregistered = false;

  constructor(
    specs: readonly CheckSpec[],
    private readonly hooks: CheckRunnerHooks,
  ) {
    // Until its first run, a check counts as passing: start() runs them all before the first record.
    this.slots = specs.map((spec) => ({ spec, state: { name: spec.name, status: 'passing', output: '' }, timer: undefined, deregisterTimer: undefined }));
  }

  /** The instance's status: the worst of its checks (passing without checks). */
  get status(): HealthStatus {
    return worstStatus(this.slots.map((s) => s.state.status));
  }

  get checks(): CheckState[] {
    return this.slots.map((s) => s.state);
  }

  /** Runs every check once (together), records the results without reporting them, then schedules the next runs. */
  async start(): Promise<void> {
    await Promise.all(
      this.slots.map(async (slot) => {
        const startedAt = this.hooks.timers.now();
        const r = await this.hooks.probe(slot.spec);
        this.record(slot, r, false);
        this.schedule(slot, startedAt);
      }),
    );
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.slots) {
      this.hooks.timers.clearTimeout(s.timer);
      this.hooks.timers.clearTimeout(s.deregisterTimer);
      s.timer = s.deregisterTimer = undefined;
    }
  }

  private schedule(slot: Slot, startedAt: number): void {
    if (this.stopped) return;
    const wait = Math.max(0, startedAt + slot.spec.intervalMs - this.hooks.timers.now());
    slot.timer = this.hooks.timers.setTimeout(() => void this.runOnce(slot), wait);
  }

  private async runOnce(slot: Slot): Promise<void> {
    if (this.stopped) return;
    const startedAt = this.hooks.timers.now();
    const r = await this.hooks.probe(slot.spec);
    if (this.stopped) return;
    this.record(slot, r, true);
    this.schedule(slot, startedAt);
  }

  private record(slot: Slot, r: ProbeResult, report: boolean): void {
    if (this.stopped) return;
    const before = slot.state.status;
    slot.state = { name: slot.spec.name, status: r.status, output: r.output };
    const after = r.status;
    const limit = slot.spec.deregisterAfterMs;
    if (after === 'critical' && slot.deregisterTimer === undefined && limit !== undefined) {
      slot.deregisterTimer = this.hooks.timers.setTimeout(() => this.deregister(slot), limit);
    } else if (after !== 'critical' && slot.deregisterTimer !== undefined) {
      this.hooks.timers.clearTimeout(slot.deregisterTimer);
      slot.deregisterTimer = undefined;
    }
    if (report && before !== after) this.hooks.onChange(this.status, this.checks);
  }

  private deregister(slot: Slot): void {
    slot.deregisterTimer = undefined;
    if (this.stopped || this.deregistered) return;
    this.deregistered = true;
    this.hooks.onDeregister(slot.state);
  }
}
