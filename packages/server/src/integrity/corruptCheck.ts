import { CairnError, ErrorCode, type HashKvResponse, type MemberId } from '@cairn/protocol';
import type { Scheduler } from '../clock.js';

/** The peer RPC a member answers with its hash (any member, not only the leader). */
export const PEER_HASHKV_METHOD = 'maintenance.hashKv';

/** How long a peer waits to apply the revision it is asked to hash before it says future_revision. */
export const PEER_HASH_WAIT_MS = 3000;

export interface CorruptCheckLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error?(obj: object, msg: string): void;
}

/** What the checker needs from the member (it does not import Member). */
export interface CorruptCheckHost {
  readonly memberId: MemberId;
  /** Every other member of the cluster (voters and learners). */
  peers(): MemberId[];
  /** How many members the cluster has, this one included. */
  clusterSize(): number;
  isLeader(): boolean;
  /** This member's hash at `revision` (0n: its newest durable revision). */
  hashKv(revision: bigint): Promise<HashKvResponse>;
  /** A peer's hash at `revision` (it waits a little to apply that revision first). */
  peerHash(peer: MemberId, revision: bigint): Promise<HashKvResponse>;
  /** Whether a CORRUPT alarm naming `memberId` is active. */
  corruptAlarmed(memberId: MemberId): boolean;
  /** Raises CORRUPT for `memberId` through the log. */
  raiseCorrupt(memberId: MemberId): Promise<void>;
  readonly scheduler: Pick<Scheduler, 'after'>;
  readonly log: CorruptCheckLog;
}

/** One member's answer in a check, or why it could not be compared. */
export interface PeerHash {
  readonly memberId: MemberId;
  readonly hash?: number;
  readonly compactRevision?: bigint;
  readonly skipped?: string;
}

/** What one periodic check found. */
export interface CheckReport {
  readonly revision: bigint;
  readonly compactRevision: bigint;
  readonly hash: number;
  readonly peers: readonly PeerHash[];
  /** Members whose hash differs from the majority's (raised as CORRUPT). */
  readonly diverged: readonly MemberId[];
}

const hex = (id: bigint): string => id.toString(16);

/**
 * etcd's corruption checks (`--experimental-initial-corrupt-check`,
 * `--experimental-corrupt-check-time`). Hashes are compared only at the same revision and the
 * same compacted revision: a peer that compacted at another point, or could not reach the
 * revision in time, is skipped, never counted as a mismatch.
 *
 * - Initial: before serving clients, this member hashes its newest revision and asks every
 *   peer for its hash there. A mismatch means this member's data is not the cluster's: it
 *   must not serve (`initialCheck` throws `corrupt`).
 * - Periodic (leader only): the leader hashes its newest revision and asks every member for
 *   theirs at it. The hash a majority of the cluster shares is the reference; every member
 *   with another hash gets a CORRUPT alarm through the log. Without a majority nobody can be
 *   trusted, and every member compared is alarmed.
 */
export class CorruptChecker {
  private timer: (() => void) | undefined;
  private running = false;
  private stopped = false;

  constructor(
    private readonly host: CorruptCheckHost,
    /** Period of the leader's check in ms; 0 turns it off (etcd's default). */
    readonly periodMs: number,
  ) {}

  start(): void {
    this.stopped = false;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.();
    this.timer = undefined;
  }

  private arm(): void {
    if (this.periodMs <= 0 || this.stopped || this.timer !== undefined) return;
    this.timer = this.host.scheduler.after(this.periodMs, () => {
      this.timer = undefined;
      if (!this.host.isLeader()) {
        this.arm();
        return;
      }
      this.periodicCheck().then(
        () => this.arm(),
        (err: unknown) => {
          this.host.log.warn({ err: (err as Error).message }, 'corruption check failed; trying again next period');
          this.arm();
        },
      );
    });
  }

  /** Asks every peer in parallel; a failure is a skip with its reason. */
  private async askPeers(revision: bigint): Promise<PeerHash[]> {
    const peers = this.host.peers();
    const answers = await Promise.allSettled(peers.map((p) => this.host.peerHash(p, revision)));
    return answers.map((a, i): PeerHash => {
      const memberId = peers[i]!;
      if (a.status === 'rejected') {
        const e = a.reason as Error;
        return { memberId, skipped: e instanceof CairnError ? `${e.code}: ${e.message}` : e.message };
      }
      if (a.value.hashRevision !== revision) return { memberId, skipped: `hashed revision ${a.value.hashRevision}, not ${revision}` };
      return { memberId, hash: a.value.hash, compactRevision: a.value.compactRevision };
    });
  }

  /**
   * The start-up check. Resolves when no peer that could be compared disagrees (peers that
   * are down, behind, or compacted elsewhere are logged and skipped, as in etcd); throws a
   * `corrupt` CairnError when one does.
   */
  async initialCheck(): Promise<void> {
    const log = this.host.log;
    const mine = await this.host.hashKv(0n);
    log.info({ revision: mine.hashRevision.toString(), compactRevision: mine.compactRevision.toString(), hash: mine.hash }, 'initial corruption check: comparing this member with its peers');
    const peers = await this.askPeers(mine.hashRevision);
    const mismatched: PeerHash[] = [];
    for (const p of peers) {
      if (p.skipped !== undefined) {
        log.warn({ peer: hex(p.memberId), reason: p.skipped }, 'initial corruption check: cannot get the hash of a peer; skipped');
      } else if (p.compactRevision !== mine.compactRevision) {
        log.warn(
          { peer: hex(p.memberId), compactRevision: mine.compactRevision.toString(), peerCompactRevision: String(p.compactRevision) },
          'initial corruption check: the peer compacted at another revision; skipped',
        );
      } else if (p.hash !== mine.hash) {
        mismatched.push(p);
      }
    }
    if (mismatched.length > 0) {
      const fields = {
        revision: mine.hashRevision.toString(),
        compactRevision: mine.compactRevision.toString(),
        hash: mine.hash,
        peers: mismatched.map((p) => ({ id: hex(p.memberId), hash: p.hash })),
      };
      (log.error ?? log.warn).call(log, fields, 'initial corruption check: this member\'s data differs from its peers\'; refusing to serve');
      throw new CairnError(
        ErrorCode.Corrupt,
        `member ${hex(this.host.memberId)} found data inconsistency with peers: hash ${mine.hash} at revision ${mine.hashRevision} ` +
          `(compacted at ${mine.compactRevision}) but ${mismatched.map((p) => `${hex(p.memberId)} has ${p.hash}`).join(', ')}; ` +
          'this data directory must not serve: remove the member, wipe its data dir and add it back (see docs/integrity.md)',
      );
    }
    const compared = peers.filter((p) => p.skipped === undefined && p.compactRevision === mine.compactRevision).length;
    log.info({ compared, peers: peers.length }, 'initial corruption check passed');
  }

  /** One leader-side check; raises CORRUPT for each diverged member. */
  async periodicCheck(): Promise<CheckReport> {
    if (this.running) throw new CairnError(ErrorCode.Unavailable, 'a corruption check is already running');
    this.running = true;
    try {
      return await this.check();
    } finally {
      this.running = false;
    }
  }

  private async check(): Promise<CheckReport> {
    const log = this.host.log;
    const mine = await this.host.hashKv(0n);
    const peers = await this.askPeers(mine.hashRevision);
    const compared = new Map<MemberId, number>([[this.host.memberId, mine.hash]]);
    for (const p of peers) {
      if (p.skipped !== undefined) log.info({ peer: hex(p.memberId), reason: p.skipped }, 'corruption check: peer skipped');
      else if (p.compactRevision !== mine.compactRevision) log.info({ peer: hex(p.memberId) }, 'corruption check: peer compacted at another revision; skipped');
      else compared.set(p.memberId, p.hash!);
    }
    const diverged = divergedMembers(compared, this.host.clusterSize());
    const report: CheckReport = { revision: mine.hashRevision, compactRevision: mine.compactRevision, hash: mine.hash, peers, diverged };
    if (diverged.length === 0) return report;
    (log.error ?? log.warn).call(
      log,
      {
        revision: mine.hashRevision.toString(),
        compactRevision: mine.compactRevision.toString(),
        hashes: [...compared].map(([id, h]) => ({ id: hex(id), hash: h })),
        diverged: diverged.map(hex),
      },
      'corruption check: members hold different data at the same revision; raising CORRUPT (the diverged members stop serving reads and the cluster refuses writes; see docs/integrity.md to recover)',
    );
    for (const id of diverged) {
      if (!this.host.corruptAlarmed(id)) await this.host.raiseCorrupt(id);
    }
    return report;
  }
}

/**
 * The members to alarm: those whose hash is not the one shared by a strict majority of the
 * cluster (`clusterSize` members). With no such majority, every member compared.
 */
export function divergedMembers(hashes: ReadonlyMap<MemberId, number>, clusterSize: number): MemberId[] {
  const groups = new Map<number, MemberId[]>();
  for (const [id, h] of hashes) groups.set(h, [...(groups.get(h) ?? []), id]);
  if (groups.size <= 1) return [];
  let reference: number | undefined;
  for (const [h, ids] of groups) if (ids.length * 2 > clusterSize) reference = h;
  const out: MemberId[] = [];
  for (const [h, ids] of groups) if (h !== reference) out.push(...ids);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
