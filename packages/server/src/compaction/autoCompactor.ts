import { CairnError, ErrorCode } from '@cairn/protocol';
import type { Scheduler } from '../clock.js';

/**
 * etcd's --auto-compaction-mode / --auto-compaction-retention, with etcd 3.4's semantics
 * (server/etcdserver/api/v3compactor):
 *
 * - `periodic`, retention a duration T: the revision is sampled every min(T, 1h) / 10; the
 *   first compaction comes T after start, then one every
 *   min(T, 1h), each to the revision sampled T ago. So history of about the last T is kept.
 * - `revision`, retention a count N: every 5 minutes (`checkIntervalMs`), compact to
 *   current revision - N if that moved since the last compaction.
 *
 * Only the leader decides: the compactor runs on every member but acts only while its member
 * leads, and a compaction is an ordinary compaction request proposed through the log, applied
 * by every member alike. A failure (no leader, compacted already) waits for the next round.
 */
export type AutoCompactionPolicy =
  | { readonly mode: 'off' }
  | { readonly mode: 'periodic'; readonly retentionMs: number }
  | { readonly mode: 'revision'; readonly retentionRevisions: number };

/** etcd's revision-mode interval. */
export const DEFAULT_REVISION_CHECK_INTERVAL_MS = 5 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;
const RETRY_DIVISOR = 10;

/** A retention the policy cannot use, with the flag named. */
export class AutoCompactionError extends Error {
  override readonly name = 'AutoCompactionError';
}

const UNITS_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: HOUR_MS };

/**
 * Parses etcd's pair of flags. Periodic: a Go duration (`1h`, `30m`, `1h30m`) or a bare
 * number of hours (`1`, `0.5`); revision: a whole number of revisions. `0`: off.
 */
export function parseAutoCompaction(mode: string, retention: string): AutoCompactionPolicy {
  const text = retention.trim();
  if (mode !== 'periodic' && mode !== 'revision') {
    throw new AutoCompactionError(`auto-compaction-mode must be periodic or revision, got ${JSON.stringify(mode)}`);
  }
  if (text === '' || text === '0') return { mode: 'off' };
  if (mode === 'revision') {
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
      throw new AutoCompactionError(`auto-compaction-retention must be a number of revisions in revision mode, got ${JSON.stringify(retention)}`);
    }
    return { mode: 'revision', retentionRevisions: Number(text) };
  }
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) ms = Number(text) * HOUR_MS;
  else {
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
      throw new AutoCompactionError(`auto-compaction-retention must be a duration like 1h or 30m (or a number of hours) in periodic mode, got ${JSON.stringify(retention)}`);
    }
    ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNITS_MS[p[2]!]!, 0);
  }
  ms = Math.round(ms);
  if (ms <= 0) return { mode: 'off' };
  if (ms < 10) throw new AutoCompactionError(`auto-compaction-retention must be at least 10ms, got ${JSON.stringify(retention)}`);
  return { mode: 'periodic', retentionMs: ms };
}

export interface CompactorHost {
  readonly scheduler: Pick<Scheduler, 'after'>;
  /** Monotonic milliseconds. */
  nowMs(): number;
  isLeader(): boolean;
  /** The store's newest revision. */
  revision(): bigint;
  /** Proposes `compact` at `revision` through the log. */
  compact(revision: bigint): Promise<unknown>;
  log: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

export class AutoCompactor {
  private cancel: (() => void) | undefined;
  private stopped = false;
  /** Periodic: revisions sampled every retry interval, oldest first (revs[0] ~ retention ago). */
  private revs: bigint[] = [];
  private lastSuccessMs: number;
  private firstDone = false;
  /** Revision mode: the revision of the last compaction proposed successfully. */
  private prev = 0n;

  constructor(
    private readonly policy: AutoCompactionPolicy,
    private readonly host: CompactorHost,
    private readonly checkIntervalMs = DEFAULT_REVISION_CHECK_INTERVAL_MS,
  ) {
    this.lastSuccessMs = host.nowMs();
  }

  start(): void {
    if (this.policy.mode === 'off') return;
    this.host.log.info({ ...this.policy }, 'auto compaction enabled');
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.cancel?.();
  }

  private get retryMs(): number {
    if (this.policy.mode === 'periodic') return Math.min(this.policy.retentionMs, HOUR_MS) / RETRY_DIVISOR;
    return this.checkIntervalMs;
  }

  private arm(): void {
    if (this.stopped) return;
    if (this.policy.mode === 'periodic') this.sample();
    this.cancel = this.host.scheduler.after(this.retryMs, () => void this.round().finally(() => this.arm()));
  }

  private sample(): void {
    if (this.policy.mode !== 'periodic') return;
    this.revs.push(this.host.revision());
    const keep = Math.floor(this.policy.retentionMs / this.retryMs) + 1;
    if (this.revs.length > keep) this.revs.splice(0, this.revs.length - keep);
  }

  /** One tick: while leading, compact if it is time (paused otherwise, like etcd's compactor). */
  private async round(): Promise<void> {
    // Paused while not leading; the samples go on (as etcd's compactor, which a new leader
    // resumes: the revision it compacts to was sampled a retention ago either way).
    if (!this.host.isLeader()) return;
    if (this.policy.mode === 'periodic') {
      const wait = this.firstDone ? Math.min(this.policy.retentionMs, HOUR_MS) : this.policy.retentionMs;
      if (this.host.nowMs() - this.lastSuccessMs < wait) return;
      const rev = this.revs[0];
      if (rev === undefined) return;
      if (await this.compact(rev)) {
        this.lastSuccessMs = this.host.nowMs();
        this.firstDone = true;
      }
      return;
    }
    if (this.policy.mode !== 'revision') return;
    const rev = this.host.revision() - BigInt(this.policy.retentionRevisions);
    if (rev <= 0n || rev === this.prev) return;
    if (await this.compact(rev)) this.prev = rev;
  }

  /** True when the compaction is done (or was done already). */
  private async compact(rev: bigint): Promise<boolean> {
    const t0 = this.host.nowMs();
    try {
      await this.host.compact(rev);
      this.host.log.info({ revision: rev.toString(), ms: Math.round(this.host.nowMs() - t0), ...this.policy }, 'auto compaction: compacted');
      return true;
    } catch (err) {
      if (err instanceof CairnError && err.code === ErrorCode.Compacted) return true;
      this.host.log.warn({ revision: rev.toString(), err: (err as Error).message }, 'auto compaction failed; trying again later');
      return false;
    }
  }
}
