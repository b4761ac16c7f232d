import { CairnError, ErrorCode } from '@cairn/protocol';
import type { Member } from '../member.js';

/** etcd's default --quota-backend-bytes: 2 GiB. */
export const DEFAULT_QUOTA_BACKEND_BYTES = 2 * 1024 * 1024 * 1024;
const MEASURE_EVERY_MS = 250;

/**
 * The backend quota, checked before a write that adds data is proposed. Past the quota the
 * member raises NOSPACE through the log (so every member caps writes) and the write fails with
 * `no_space`; deletes and compaction are never refused, so an operator can make room, then
 * `alarm disarm`.
 */
export class Quota {
  private raising: Promise<unknown> | undefined;
  private measuredBytes = 0;
  private measuredAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly member: Member,
    private readonly quotaBytes: number,
    private readonly sizeBytes: () => number,
    /** Monotonic milliseconds; the size is measured at most every `MEASURE_EVERY_MS`. */
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /**
   * The database size, measured at most every 250 ms (RocksDB's size properties: a few native
   * calls, cheap, but not free on every put). The quota may be overshot by what 250 ms of
   * writes add.
   */
  private size(): number {
    const now = this.nowMs();
    if (now - this.measuredAtMs >= MEASURE_EVERY_MS) {
      this.measuredBytes = this.sizeBytes();
      this.measuredAtMs = now;
    }
    return this.measuredBytes;
  }

  check(): void {
    if (this.member.applier.alarms.has('nospace')) throw new CairnError(ErrorCode.NoSpace);
    if (this.size() <= this.quotaBytes) return;
    this.raising ??= this.member
      .propose({ alarm: { action: 'activate', memberId: this.member.memberId, alarm: 'nospace' } })
      .catch(() => undefined)
      .finally(() => (this.raising = undefined));
    throw new CairnError(ErrorCode.NoSpace);
  }
}
