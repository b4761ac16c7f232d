import { CairnError, decodeValue, encodeValue, ErrorCode, type LeaseId } from '@cairn/protocol';
import type { Backend, BatchOp } from '../storage/backend.js';

/** Lease records: 'l' id:u64be -> msgpack { ttlSeconds, owner? }. */
export const TABLE_LEASE = 0x6c; // 'l'
const LEASE_START = new Uint8Array([TABLE_LEASE]);
const LEASE_END = new Uint8Array([TABLE_LEASE + 1]);

/** etcd's MaxLeaseTTL: a grant above it fails with lease_ttl_too_large. */
export const MAX_LEASE_TTL_SECONDS = 9_000_000_000;

export function leaseKey(id: LeaseId): Uint8Array {
  const k = new Uint8Array(9);
  k[0] = TABLE_LEASE;
  new DataView(k.buffer).setBigUint64(1, BigInt.asUintN(64, id));
  return k;
}

/** One lease as the state machine knows it: its TTL and the keys attached to it. */
export interface LeaseRecord {
  readonly id: LeaseId;
  readonly ttlSeconds: number;
  /**
   * The user who granted it, when auth was on (keep-alive, time-to-live and revoke are theirs
   * and root's); undefined for a lease granted while auth was off.
   */
  readonly owner: string | undefined;
  /** Attached keys, by their key string (see mvcc/keyTree keyString) -> key bytes. */
  readonly keys: Map<string, Uint8Array>;
}

/** What the lessor tells the expiry side (the primary) about the table changing. */
export interface LessorListener {
  granted(id: LeaseId, ttlSeconds: number): void;
  revoked(id: LeaseId): void;
}

/**
 * The lease table of the state machine. Deterministic: no clock. Expiry is not decided here
 * but by the primary (see primary.ts), which proposes a revoke through the log.
 *
 * The lessor does not know MVCC: the applier attaches and detaches keys as puts and deletes
 * happen, and deletes a revoked lease's keys itself (with the key list `revoke` returns).
 *
 * Durability: `grant` and `revoke` push their record changes into the caller's batch
 * (the store's ops), so a lease and the data written in the same entry land together.
 */
export class Lessor {
  private readonly leases = new Map<LeaseId, LeaseRecord>();
  private listener: LessorListener | undefined;

  private constructor() {}

  static load(backend: Backend): Lessor {
    const l = new Lessor();
    for (const [k, v] of backend.scan({ gte: LEASE_START, lt: LEASE_END })) {
      const id = BigInt.asIntN(64, new DataView(k.buffer, k.byteOffset, k.byteLength).getBigUint64(1));
      const rec = decodeValue(v) as { ttlSeconds?: unknown; owner?: unknown };
      if (typeof rec.ttlSeconds !== 'number') throw new CairnError(ErrorCode.Corrupt, `lease record ${id} is corrupt`);
      const owner = typeof rec.owner === 'string' && rec.owner !== '' ? rec.owner : undefined;
      l.leases.set(id, { id, ttlSeconds: rec.ttlSeconds, owner, keys: new Map() });
    }
    return l;
  }

  setListener(listener: LessorListener): void {
    this.listener = listener;
  }

  exists(id: LeaseId): boolean {
    return this.leases.has(id);
  }

  get(id: LeaseId): LeaseRecord | undefined {
    return this.leases.get(id);
  }

  ids(): LeaseId[] {
    return [...this.leases.keys()];
  }

  get size(): number {
    return this.leases.size;
  }

  grant(id: LeaseId, ttlSeconds: number, ops: BatchOp[], owner?: string): void {
    if (id <= 0n) throw new CairnError(ErrorCode.InvalidArgument, 'lease id must be positive');
    if (ttlSeconds > MAX_LEASE_TTL_SECONDS) throw new CairnError(ErrorCode.LeaseTtlTooLarge);
    if (this.leases.has(id)) throw new CairnError(ErrorCode.LeaseExists);
    const who = owner === undefined || owner === '' ? undefined : owner;
    this.leases.set(id, { id, ttlSeconds, owner: who, keys: new Map() });
    ops.push({ type: 'put', key: leaseKey(id), value: encodeValue(who === undefined ? { ttlSeconds } : { ttlSeconds, owner: who }) });
    this.listener?.granted(id, ttlSeconds);
  }

  /**
   * Forgets the lease and returns its keys (in key order) for the caller to delete in one
   * revision. The caller must delete them in the same entry.
   */
  revoke(id: LeaseId, ops: BatchOp[]): Uint8Array[] {
    const l = this.leases.get(id);
    if (l === undefined) throw new CairnError(ErrorCode.LeaseNotFound);
    this.leases.delete(id);
    ops.push({ type: 'del', key: leaseKey(id) });
    this.listener?.revoked(id);
    return [...l.keys.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, k]) => k);
  }

  attach(id: LeaseId, ks: string, key: Uint8Array): void {
    this.leases.get(id)?.keys.set(ks, key);
  }

  detach(id: LeaseId, ks: string): void {
    this.leases.get(id)?.keys.delete(ks);
  }
}
