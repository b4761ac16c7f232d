import { CairnError, ErrorCode, bytesToString, toCairnError, type BytesLike, type CairnClient, type PutResponse } from '@cairn/client';

/** One past value of a key. */
export interface Version {
  /** The revision that wrote this value. */
  readonly revision: bigint;
  /** The key's version number then (1: the put that created it). */
  readonly version: bigint;
  readonly value: string;
}

export interface HistoryOptions {
  /** At most this many values, newest first (default 20). */
  readonly limit?: number;
}

/**
 * A key's values, newest first, back to its creation or to the compaction point, whichever
 * comes first. Each step reads the key as of the revision just before the last write seen:
 *
 *   now: mod 42 "v3"  ->  @41: mod 17 "v2"  ->  @16: mod 5 "v1" (version 1: created)
 */
export async function history(client: CairnClient, key: BytesLike, options: HistoryOptions = {}): Promise<Version[]> {
  const limit = options.limit ?? 20;
  const out: Version[] = [];
  let kv = await client.kv.get(key);
  while (kv !== undefined && out.length < limit) {
    out.push({ revision: kv.modRevision, version: kv.version, value: bytesToString(kv.value) });
    if (kv.version <= 1n) break;
    try {
      kv = await client.kv.get(key, { revision: kv.modRevision - 1n });
    } catch (err) {
      // Older values were compacted away: the history ends here.
      if (toCairnError(err).code === ErrorCode.Compacted) break;
      throw err;
    }
  }
  return out;
}

/** The value `key` had as of `revision` (undefined: it did not exist then). */
export async function valueAt(client: CairnClient, key: BytesLike, revision: bigint): Promise<string | undefined> {
  const kv = await client.kv.get(key, { revision });
  return kv === undefined ? undefined : bytesToString(kv.value);
}

/**
 * Restores the value `key` had as of `revision` with a new put (history is kept: the rollback
 * is itself a new version). Fails with `key_not_found` if the key did not exist then.
 */
export async function rollback(client: CairnClient, key: BytesLike, revision: bigint): Promise<PutResponse> {
  const old = await valueAt(client, key, revision);
  if (old === undefined) throw new CairnError(ErrorCode.KeyNotFound, `the key did not exist at revision ${revision}`);
  return client.kv.put(key, old);
}
