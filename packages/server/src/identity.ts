import { createHash } from 'node:crypto';
import { decodeValue, encodeValue } from '@cairn/protocol';
import type { Backend } from './storage/backend.js';
import { metaKey, MetaKey } from './storage/keyspace.js';
import type { Clock } from './clock.js';

export interface Identity {
  readonly clusterId: bigint;
  readonly memberId: bigint;
}

export interface IdentitySeed {
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly initialClusterToken: string;
}

/** The first 64 bits of SHA-256 over the parts, never 0 (0 means "none" on the wire). */
function hash64(...parts: string[]): bigint {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  const id = h.digest().readBigUInt64BE(0);
  return id === 0n ? 1n : id;
}

/**
 * The member's ids: read from meta, or on first start derived from the member's name, peer
 * URLs, the cluster token and the time (so a member re-created with the same flags gets a
 * new id), then stored. Runs once at start-up, outside the applier: the ids are this
 * member's facts, not replicated state.
 */
export async function loadOrCreateIdentity(backend: Backend, seed: IdentitySeed, clock: Clock): Promise<Identity> {
  const c = backend.get(metaKey(MetaKey.ClusterId));
  const m = backend.get(metaKey(MetaKey.MemberId));
  if (c !== undefined && m !== undefined) {
    return { clusterId: BigInt(decodeValue(c) as bigint), memberId: BigInt(decodeValue(m) as bigint) };
  }
  const peers = [...seed.peerUrls].sort();
  const memberId = hash64('member', seed.name, ...peers, seed.initialClusterToken, String(clock.now()));
  // A single-member cluster: the cluster id follows from its only member and the token.
  const clusterId = hash64('cluster', seed.initialClusterToken, memberId.toString(16));
  await backend.write(
    [
      { type: 'put', key: metaKey(MetaKey.ClusterId), value: encodeValue(clusterId) },
      { type: 'put', key: metaKey(MetaKey.MemberId), value: encodeValue(memberId) },
    ],
    { sync: true },
  );
  return { clusterId, memberId };
}
