import { CairnError, ErrorCode, validate, type HashKvResponse, type ResponseHeader } from '@cairn/protocol';
import { hashView } from '../mvcc/hash.js';
import type { ChangeListener, MvccStore } from '../mvcc/store.js';
import { PEER_HASH_WAIT_MS } from './corruptCheck.js';
import type { Clock, Scheduler } from '../clock.js';

/** Peer hashKv requests served at once (each reads the whole history); more get `unavailable`. */
export const MAX_PEER_HASHES_IN_FLIGHT = 2;

/** What hashing needs from the member (it does not import Member). */
export interface HashHost {
  stopped(): boolean;
  /** The current state machine's store (replaced when a snapshot is installed). */
  store(): MvccStore;
  /** The newest revision applied and committed (see Member.visibleRevision). */
  visibleRevision(): bigint;
  /** The newest revision in the state tables on disk (what a hash can read). */
  writtenRevision(): bigint;
  /** Resolves once everything applied so far is written. */
  written(): Promise<void>;
  header(): ResponseHeader;
  /** Visible revisions as they come (see Member.onChange). */
  onChange(listener: ChangeListener): () => void;
  /** Seconds one hash took (metrics). */
  hashed?(seconds: number): void;
  readonly log: { warn(obj: object, msg: string): void };
  readonly clock: Clock;
  readonly scheduler: Scheduler;
}

/** `maintenance.hashKv` for clients and for peers (the corruption checks). */
export class HashService {
  private peerHashesInFlight = 0;

  constructor(private readonly host: HashHost) {}

  /**
   * etcd's HashKV on this member: a CRC-32C over the MVCC history up to `revision` (0n: the
   * newest written revision), records at or below the compaction point counted only when a
   * compaction keeps them (see mvcc/hash.ts). `compacted` below the compaction point,
   * `future_revision` past the newest revision.
   */
  async hashKv(revision = 0n): Promise<HashKvResponse> {
    const h = this.host;
    if (h.stopped()) throw new CairnError(ErrorCode.Stopped);
    if (revision < 0n) throw new CairnError(ErrorCode.InvalidArgument, `revision must not be negative, got ${revision}`);
    if (revision > BigInt(h.store().currentRevision)) throw new CairnError(ErrorCode.FutureRevision);
    // The hash reads the backend: wait until what was applied is written.
    await h.written();
    const at = revision === 0n ? h.writtenRevision() : revision;
    const view = h.store().hashView(Number(at));
    const t0 = h.clock.monotonic();
    const hash = await hashView(view, () => new Promise((resolve) => h.scheduler.defer(resolve)));
    h.hashed?.((h.clock.monotonic() - t0) / 1000);
    return { header: h.header(), hash, compactRevision: BigInt(view.compactRevision), hashRevision: BigInt(view.hashRevision) };
  }

  /** A peer's request: waits up to `waitMs` for the revision to be applied here, then hashes. */
  async servePeer(params: unknown, waitMs = PEER_HASH_WAIT_MS): Promise<HashKvResponse> {
    const revision = validate.hashKvRequest(params, 'params').revision ?? 0n;
    if (revision < 0n) throw new CairnError(ErrorCode.InvalidArgument, 'revision must not be negative');
    // Each hash reads the whole history: a check asks once per member per period, so more
    // than a few at once is a misbehaving peer, not a check.
    if (this.peerHashesInFlight >= MAX_PEER_HASHES_IN_FLIGHT) {
      this.host.log.warn(
        { inFlight: this.peerHashesInFlight },
        'refusing a peer hashKv request: too many in flight (a peer asks far more often than the corruption checks do)',
      );
      throw new CairnError(ErrorCode.Unavailable, `too many hashKv requests in flight (at most ${MAX_PEER_HASHES_IN_FLIGHT}); try again later`);
    }
    this.peerHashesInFlight++;
    try {
      await this.applied(revision, waitMs);
      return await this.hashKv(revision);
    } finally {
      this.peerHashesInFlight--;
    }
  }

  /** Resolves once `revision` is applied here, or `waitMs` has passed (hashKv then says future_revision). */
  private async applied(revision: bigint, waitMs: number): Promise<void> {
    const h = this.host;
    const deadline = h.clock.monotonic() + waitMs;
    while (revision > h.visibleRevision() && !h.stopped()) {
      const left = deadline - h.clock.monotonic();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          cancel();
          off();
          resolve();
        };
        // Polled too: a snapshot install moves the revision without a change event.
        const cancel = h.scheduler.after(Math.min(left, 100), done);
        const off = h.onChange(() => {
          if (revision <= h.visibleRevision()) done();
        });
      });
    }
  }
}

/** A peer's hash answer, checked (it came over the network). */
export function peerHashResponse(v: unknown): HashKvResponse {
  const r = v as Partial<Record<keyof HashKvResponse, unknown>> | null;
  const int = (x: unknown): bigint | undefined => (typeof x === 'bigint' ? x : typeof x === 'number' && Number.isSafeInteger(x) ? BigInt(x) : undefined);
  const compactRevision = int(r?.compactRevision);
  const hashRevision = int(r?.hashRevision);
  if (r === null || typeof r.hash !== 'number' || compactRevision === undefined || hashRevision === undefined || typeof r.header !== 'object') {
    throw new CairnError(ErrorCode.Internal, 'peer answered hashKv with a malformed response');
  }
  return { header: r.header as HashKvResponse['header'], hash: r.hash, compactRevision, hashRevision };
}
