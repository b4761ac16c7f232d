// What must hold after a run of the whole-member simulation. Each check returns violations
// (empty: fine), phrased for a person replaying the seed.
import { checkHistory, kvModel, type KvInput, type KvOutput, type Operation } from '@cairn/linearizability';
import { toBytes } from '@cairn/protocol';
import type { Member } from '../src/member.js';
import type { RevisionEvents } from '../src/mvcc/store.js';
import type { AckedWrite, LeaseRecord, WatchRecord } from './workload.js';
import { LEASE_PREFIX, REGISTER_PREFIX } from './workload.js';

const dec = new TextDecoder();

/** Deterministic search budget of the linearizability checker (past it: "unknown", not a failure). */
const MAX_STEPS = 20_000_000;

export function checkLinearizable(history: readonly Operation<KvInput, KvOutput>[]): string[] {
  const r = checkHistory(kvModel, history, { maxSteps: MAX_STEPS });
  if (r.verdict !== 'not-linearizable') return [];
  const f = r.failure;
  return [`history not linearizable: blocked by ${f?.blockedBy ?? '?'} after ${f?.longestPrefix.slice(-6).join('; ') ?? '?'}`];
}

/**
 * Every acknowledged write is in every member's history at the revision it was acknowledged
 * with; where that revision is compacted away, in the history the members made visible.
 */
export async function checkAcked(members: readonly Member[], acked: readonly AckedWrite[], history: ReadonlyMap<bigint, readonly ReferenceEvent[]>): Promise<string[]> {
  const out: string[] = [];
  for (const w of acked) {
    const seen = history.get(w.revision)?.some((e) => e.type === 'put' && e.key === w.key && e.value === w.value);
    if (seen !== true) out.push(`acknowledged write ${w.key}=${w.value} at revision ${w.revision} is not in the history the members made visible`);
    if (out.length > 5) return out;
  }
  for (const m of members) {
    const compacted = BigInt(m.applier.store.compactRevision);
    for (const w of acked) {
      if (w.revision <= compacted) continue;
      const r = await m.range({ key: toBytes(w.key), revision: w.revision, serializable: true });
      const kv = r.kvs[0];
      if (kv === undefined || dec.decode(kv.value) !== w.value || kv.modRevision !== w.revision) {
        out.push(`${m.name}: acknowledged write ${w.key}=${w.value} at revision ${w.revision} is missing (found ${kv === undefined ? 'nothing' : `${dec.decode(kv.value)} at ${kv.modRevision}`})`);
        if (out.length > 5) return out;
      }
    }
  }
  return out;
}

export interface ReferenceEvent {
  readonly revision: bigint;
  readonly key: string;
  readonly type: string;
  readonly value: string;
}

/** A revision's events as the checks compare them. */
export function referenceOf(r: RevisionEvents): ReferenceEvent[] {
  return r.events.map((e) => ({ revision: e.kv.modRevision, key: dec.decode(e.kv.key), type: e.type, value: dec.decode(e.kv.value) }));
}

/** The register events of revisions up to `to`, from the history the members made visible. */
export function registerEvents(history: ReadonlyMap<bigint, readonly ReferenceEvent[]>, to: bigint): ReferenceEvent[] {
  const revisions = [...history.keys()].filter((r) => r <= to).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return revisions.flatMap((r) => history.get(r)!.filter((e) => e.key.startsWith(REGISTER_PREFIX)));
}

/**
 * The recorded history (first seen on any member) is what `m` still holds of revisions
 * [from, to], and has every one of them: so the checks built on it check the real history.
 */
export function checkRecordedHistory(m: Member, history: ReadonlyMap<bigint, readonly ReferenceEvent[]>, from: bigint, to: bigint): string[] {
  const fmt = (es: readonly ReferenceEvent[] | undefined): string => (es === undefined ? 'nothing' : es.map((e) => `${e.type} ${e.key}=${e.value}@${e.revision}`).join(', '));
  for (const r of m.historyRange(from, to)) {
    const held = referenceOf(r);
    const recorded = history.get(r.revision);
    if (recorded === undefined || fmt(recorded) !== fmt(held)) {
      return [`${m.name}: revision ${r.revision} holds ${fmt(held)} but the members made visible ${fmt(recorded)}`];
    }
  }
  return [];
}

/**
 * Each watch got exactly the register events of its revisions, in order: none missing, none
 * twice. A watch still open at the end must have everything up to the final revision; one that
 * ended (closed, canceled, or its member went down) everything up to the last revision it got.
 */
export function checkWatches(watches: readonly WatchRecord[], reference: readonly ReferenceEvent[], openAtEnd: (w: WatchRecord) => bigint | undefined): string[] {
  const out: string[] = [];
  const fmt = (e: ReferenceEvent | undefined): string => (e === undefined ? 'nothing' : `${e.type} ${e.key}=${e.value}@${e.revision}`);
  for (const [i, w] of watches.entries()) {
    if (w.from === undefined) continue;
    const end = openAtEnd(w) ?? w.events[w.events.length - 1]?.revision;
    if (end === undefined) continue;
    const want = reference.filter((e) => e.revision >= w.from! && e.revision <= end);
    const n = Math.max(want.length, w.events.length);
    for (let j = 0; j < n; j++) {
      const a = w.events[j];
      const b = want[j];
      if (a === undefined || b === undefined || a.revision !== b.revision || a.key !== b.key || a.type !== b.type || a.value !== b.value) {
        out.push(`watch #${i} (client ${w.client} on ${w.member}, from ${w.from}): event ${j} is ${fmt(a)}, expected ${fmt(b)}`);
        break;
      }
    }
  }
  return out;
}

/** Every member hashes its history to the same value at the same revisions. */
export async function checkHashes(members: readonly Member[], revisions: readonly bigint[]): Promise<string[]> {
  const out: string[] = [];
  for (const rev of revisions) {
    const hashes = await Promise.all(members.map((m) => m.hashKv(rev)));
    const distinct = new Set(hashes.map((h) => h.hash));
    if (distinct.size > 1) out.push(`hashKv at revision ${rev} differs: ${members.map((m, i) => `${m.name}=${hashes[i]!.hash}`).join(' ')}`);
  }
  return out;
}

/**
 * Leases: none revoked while kept alive (a renewal's call plus the TTL, less `slackMs` for a
 * deposed leader's last renewals, must not be later than the moment its keys' deletion became
 * visible), and at the end every lease gone with its keys (all stopped being renewed long ago).
 */
export function checkLeases(members: readonly Member[], leases: readonly LeaseRecord[], deletedAt: ReadonlyMap<string, number>, slackMs: number): string[] {
  const out: string[] = [];
  for (const l of leases) {
    for (const key of l.keys) {
      const t = deletedAt.get(key);
      if (t === undefined) continue;
      if (l.revokeCall !== undefined && l.revokeCall <= t) continue;
      const kept = Math.max(l.grantCall, ...l.renewals.filter((c) => c < t));
      if (t < kept + l.ttlSeconds * 1000 - slackMs) {
        out.push(`lease ${l.id.toString(16)} (ttl ${l.ttlSeconds}s, renewed at ${kept} ms): its key ${key} was deleted at ${t} ms, ${kept + l.ttlSeconds * 1000 - t} ms early`);
      }
    }
  }
  for (const m of members) {
    const left = m.applier.lessor.ids();
    if (left.length > 0) out.push(`${m.name}: ${left.length} lease(s) outlived their TTL: ${left.slice(0, 3).map((id) => id.toString(16)).join(', ')}`);
    const keys = m.applier.store.range({ key: toBytes(LEASE_PREFIX), rangeEnd: toBytes('l0') });
    if (keys.kvs.length > 0) out.push(`${m.name}: ${keys.kvs.length} key(s) of expired leases left, e.g. ${dec.decode(keys.kvs[0]!.key)}`);
  }
  return out;
}
