import { CairnError, decodeValue, encodeValue, ErrorCode, type Member, type MemberId } from '@cairn/protocol';
import type { ConfState } from '@cairn/raft';
import type { Backend, BatchOp } from '../storage/backend.js';
import { TABLE_CLUSTER, readU64, u64Key } from '../storage/keyspace.js';
import { invariant } from '../mvcc/revision.js';

const SUB_MEMBER = 0x6d; // 'm'
const SUB_REMOVED = 0x78; // 'x'

const memberKey = (id: MemberId): Uint8Array => u64Key([TABLE_CLUSTER, SUB_MEMBER], id);
const removedKey = (id: MemberId): Uint8Array => u64Key([TABLE_CLUSTER, SUB_REMOVED], id);

const byId = (a: Member, b: Member): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** A member's record as `member add` proposes it (name and client URLs come when it starts). */
export interface MemberRecord {
  readonly id: MemberId;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

/**
 * The cluster's members as the state machine knows them (etcd's membership store): who they
 * are, where they listen, which are learners, and which ids were removed for good. Changed only
 * by applying the log (confChange entries, and `memberAttr`/`memberUpdate` requests), so every
 * member holds the same table. Deterministic; every list is sorted by id.
 */
export class Membership {
  private readonly members = new Map<MemberId, Member>();
  private readonly removed = new Set<MemberId>();
  private ops: BatchOp[] = [];

  static load(backend: Backend): Membership {
    const m = new Membership();
    for (const [k, v] of backend.scan({ gte: new Uint8Array([TABLE_CLUSTER]), lt: new Uint8Array([TABLE_CLUSTER + 1]) })) {
      const id = readU64(k, 2);
      if (k[1] === SUB_REMOVED) m.removed.add(id);
      else if (k[1] === SUB_MEMBER) m.members.set(id, decodeMember(id, v));
    }
    return m;
  }

  list(): Member[] {
    return [...this.members.values()].sort(byId);
  }

  get(id: MemberId): Member | undefined {
    return this.members.get(id);
  }

  isRemoved(id: MemberId): boolean {
    return this.removed.has(id);
  }

  /** The voters and learners, as raft's ConfState. */
  confState(): ConfState {
    const list = this.list();
    return { voters: list.filter((m) => !m.isLearner).map((m) => m.id), learners: list.filter((m) => m.isLearner).map((m) => m.id) };
  }

  /** The member of these peer URLs, if any (a peer URL belongs to one member only). */
  byPeerUrl(url: string): Member | undefined {
    for (const m of this.members.values()) if (m.peerUrls.includes(url)) return m;
    return undefined;
  }

  /** A new member (confChange addNode / addLearnerNode), or a learner's promotion. */
  add(rec: MemberRecord): void {
    const old = this.members.get(rec.id);
    if (old !== undefined) {
      // addNode on a learner promotes it; anything else is a no-op, as raft treats it.
      if (old.isLearner && !rec.isLearner) this.put({ ...old, isLearner: false });
      return;
    }
    invariant(!this.removed.has(rec.id), `membership: re-adding removed member ${rec.id.toString(16)}`);
    this.put({ id: rec.id, name: rec.name, peerUrls: [...rec.peerUrls], clientUrls: [...rec.clientUrls], isLearner: rec.isLearner });
  }

  remove(id: MemberId): void {
    if (this.members.delete(id)) this.ops.push({ type: 'del', key: memberKey(id) });
    if (!this.removed.has(id)) {
      this.removed.add(id);
      this.ops.push({ type: 'put', key: removedKey(id), value: new Uint8Array([1]) });
    }
  }

  /** `member update`: new peer URLs. */
  updatePeerUrls(id: MemberId, peerUrls: readonly string[]): void {
    const m = this.members.get(id);
    if (m === undefined) throw new CairnError(ErrorCode.MemberNotFound);
    this.put({ ...m, peerUrls: [...peerUrls] });
  }

  /** A member published its name and client URLs (it does on every start). */
  setAttributes(id: MemberId, name: string, clientUrls: readonly string[]): void {
    const m = this.members.get(id);
    if (m === undefined) return; // removed meanwhile
    this.put({ ...m, name, clientUrls: [...clientUrls] });
  }

  private put(m: Member): void {
    this.members.set(m.id, m);
    this.ops.push({ type: 'put', key: memberKey(m.id), value: encodeValue({ name: m.name, peerUrls: m.peerUrls, clientUrls: m.clientUrls, isLearner: m.isLearner }) });
  }

  drain(): BatchOp[] {
    const ops = this.ops;
    this.ops = [];
    return ops;
  }
}

function decodeMember(id: MemberId, bytes: Uint8Array): Member {
  const v = decodeValue(bytes) as Partial<Record<keyof Member, unknown>>;
  const strings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');
  if (typeof v.name !== 'string' || !strings(v.peerUrls) || !strings(v.clientUrls) || typeof v.isLearner !== 'boolean') {
    throw new CairnError(ErrorCode.Corrupt, `member record ${id.toString(16)} is corrupt`);
  }
  return { id, name: v.name, peerUrls: v.peerUrls, clientUrls: v.clientUrls, isLearner: v.isLearner };
}

/** Writes the initial members of a new cluster (bootstrap, before the first entry). */
export function bootstrapMembers(members: readonly MemberRecord[]): BatchOp[] {
  const m = new Membership();
  for (const rec of members) m.add(rec);
  return m.drain();
}

/** Raft membership as stored in meta and raft snapshot metadata. */
export function encodeConfState(cs: ConfState): Uint8Array {
  return encodeValue({ voters: cs.voters, learners: cs.learners });
}

export function decodeConfState(v: { voters?: unknown; learners?: unknown }): ConfState {
  invariant(Array.isArray(v.voters) && Array.isArray(v.learners), 'raft: membership record is corrupt');
  return { voters: v.voters.map(toId), learners: v.learners.map(toId) };
}

const toId = (v: unknown): bigint => (typeof v === 'bigint' ? v : BigInt(v as number));
