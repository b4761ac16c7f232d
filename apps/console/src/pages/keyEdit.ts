// Writes guarded by the revision the page shows: a put or delete only happens if the key is
// still at that mod revision (0: the key must not exist); otherwise nothing is written and
// the caller learns what the key is now. This is how a concurrent change is reported instead
// of overwritten.
import { compare, op, type CairnClient, type KeyValue } from '@cairn/client';

export type GuardedResult = { readonly ok: true; readonly revision: bigint } | { readonly ok: false; readonly current: KeyValue | undefined };

function currentOf(responses: readonly unknown[]): KeyValue | undefined {
  const first = responses[0] as { range?: { kvs: KeyValue[] } } | undefined;
  return first?.range?.kvs[0];
}

/** Puts `value` if `key` is still at `expectedModRevision` (0n: absent). */
export async function guardedPut(client: CairnClient, key: string, value: Uint8Array, expectedModRevision: bigint): Promise<GuardedResult> {
  const res = await client.txn().if(compare.mod(key, '=', expectedModRevision)).then(op.put(key, value)).else(op.get(key)).commit();
  return res.succeeded ? { ok: true, revision: res.header.revision } : { ok: false, current: currentOf(res.responses) };
}

/** Deletes `key` if it is still at `expectedModRevision`. */
export async function guardedDelete(client: CairnClient, key: string, expectedModRevision: bigint): Promise<GuardedResult> {
  const res = await client.txn().if(compare.mod(key, '=', expectedModRevision)).then(op.delete(key)).else(op.get(key)).commit();
  return res.succeeded ? { ok: true, revision: res.header.revision } : { ok: false, current: currentOf(res.responses) };
}

/** Deletes every key under `prefix`; returns how many went. */
export async function deletePrefix(client: CairnClient, prefix: string): Promise<number> {
  return (await client.kv.delete(prefix, { prefix: true })).deleted;
}

export interface PastVersion {
  readonly modRevision: bigint;
  readonly value: Uint8Array;
  readonly version: bigint;
}

/**
 * The key's versions, newest first, from `kv` back through its history: each step reads the
 * key as it was just before the version it has. Stops at the key's creation, after `max`
 * versions, or at the compaction point (`compacted` true: older history is gone).
 */
export async function history(client: CairnClient, kv: KeyValue, max = 20): Promise<{ versions: PastVersion[]; compacted: boolean }> {
  const versions: PastVersion[] = [{ modRevision: kv.modRevision, value: kv.value, version: kv.version }];
  let at = kv;
  while (versions.length < max && at.modRevision > at.createRevision) {
    let prev: KeyValue | undefined;
    try {
      prev = await client.kv.get(kv.key, { revision: at.modRevision - 1n });
    } catch (err) {
      if ((err as { code?: string }).code === 'compacted') return { versions, compacted: true };
      throw err;
    }
    if (prev === undefined) break;
    versions.push({ modRevision: prev.modRevision, value: prev.value, version: prev.version });
    at = prev;
  }
  return { versions, compacted: false };
}
