import { createHash } from 'node:crypto';
import { decodeValue, encodeValue, type Member } from '@cairn/protocol';
import type { Backend, BatchOp } from './storage/backend.js';
import { localKey, LocalKey, metaKey, MetaKey } from './storage/keyspace.js';
import { bootstrapMembers, encodeConfState } from './apply/membership.js';
import { LogStorage } from './raftNode/logStorage.js';
import type { Clock } from './clock.js';

export interface Identity {
  readonly clusterId: bigint;
  readonly memberId: bigint;
}

/** A member that was removed from its cluster must not serve from the same data dir again. */
export class RemovedMemberError extends Error {
  override readonly name = 'RemovedMemberError';
}

/** A member joining an existing cluster could not find itself there. */
export class JoinError extends Error {
  override readonly name = 'JoinError';
}

export interface IdentitySeed {
  readonly name: string;
  /** This member's advertised peer URLs. */
  readonly peerUrls: readonly string[];
  readonly initialClusterToken: string;
  /** name -> peer URLs of every initial member (this one included). */
  readonly initialCluster: ReadonlyMap<string, readonly string[]>;
  readonly initialClusterState: 'new' | 'existing';
  /** Asks members at these peer URLs for the cluster (a joining member); see peerHttp.ts. */
  readonly fetchMembers?: (peerUrls: readonly string[]) => Promise<{ clusterId: bigint; members: readonly Member[] }>;
}

/** How this start found the data dir. */
export type StartKind = 'restart' | 'bootstrap' | 'join';

/** The first 64 bits of SHA-256 over the parts, never 0 (0 means "none" on the wire). */
function hash64(...parts: string[]): bigint {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  const id = h.digest().readBigUInt64BE(0);
  return id === 0n ? 1n : id;
}

const normalise = (urls: readonly string[]): string[] => urls.map((u) => new URL(u).href.replace(/\/$/, '')).sort();

/**
 * An initial member's id: from its peer URLs and the cluster token only, so that every member
 * of a new cluster computes the same ids for everyone without talking (as etcd does).
 */
export function initialMemberId(peerUrls: readonly string[], token: string): bigint {
  return hash64('member', ...normalise(peerUrls), token);
}

/** A new cluster's id: from its initial members and the token. */
export function initialClusterId(memberIds: readonly bigint[], token: string): bigint {
  return hash64('cluster', token, ...[...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((id) => id.toString(16)));
}

/** The id `member add` gives a new member: its URLs, the cluster and the time, so a re-add differs. */
export function addedMemberId(peerUrls: readonly string[], clusterId: bigint, nowMs: number): bigint {
  return hash64('member', ...normalise(peerUrls), clusterId.toString(16), String(nowMs));
}

const readId = (backend: Backend, key: LocalKey): bigint | undefined => {
  const raw = backend.get(localKey(key));
  return raw === undefined ? undefined : BigInt(decodeValue(raw) as bigint);
};

/**
 * Opens this member's identity, creating it on the first start:
 * - restart: the ids stored in the data dir (the initial-cluster settings are ignored, as etcd
 *   does); refused if this member was removed from its cluster;
 * - bootstrap (`new`, empty data dir): ids computed from the initial cluster, and the state of
 *   index 1 written: the members table, and a raft log whose base is that state;
 * - join (`existing`, empty data dir): asks the peers in initial-cluster for the cluster and
 *   finds itself by its peer URLs (it must have been added with `member add`); the state
 *   comes later, as a snapshot from the leader.
 */
/** What a start found or made: who this member is, and (a member that joined) whom it was told of. */
export interface OpenedIdentity {
  readonly identity: Identity;
  readonly kind: StartKind;
  /** Members a joined member was told of (MemberOptions.peerHints); empty otherwise. */
  readonly peerHints: ReadonlyMap<bigint, readonly string[]>;
}

export async function openIdentity(backend: Backend, seed: IdentitySeed, dataDir: string, _clock: Clock): Promise<OpenedIdentity> {
  const memberId = readId(backend, LocalKey.MemberId);
  const clusterId = readId(backend, LocalKey.ClusterId);
  if (memberId !== undefined && clusterId !== undefined) {
    if (backend.get(localKey(LocalKey.Removed)) !== undefined) {
      throw new RemovedMemberError(
        `member ${memberId.toString(16)} was removed from cluster ${clusterId.toString(16)}; its data dir ${dataDir} cannot be used again (remove it to join as a new member)`,
      );
    }
    // A member that joined and restarts before its first snapshot has no members table yet:
    // without the hints it was given it would refuse the leader (not a member) forever.
    return { identity: { clusterId, memberId }, kind: 'restart', peerHints: readHints(backend) };
  }
  if (seed.initialClusterState === 'existing') return { ...(await join(backend, seed)), kind: 'join' };
  return { identity: await bootstrap(backend, seed), kind: 'bootstrap', peerHints: new Map() };
}

function readHints(backend: Backend): Map<bigint, readonly string[]> {
  const v = backend.get(localKey(LocalKey.JoinHints));
  if (v === undefined) return new Map();
  return new Map(decodeValue(v) as [bigint, string[]][]);
}

function identityOps(id: Identity): BatchOp[] {
  return [
    { type: 'put', key: localKey(LocalKey.ClusterId), value: encodeValue(id.clusterId) },
    { type: 'put', key: localKey(LocalKey.MemberId), value: encodeValue(id.memberId) },
  ];
}

/** A new cluster's facts and the state of its index 1, as every initial member computes them. */
export interface BootstrapState {
  readonly identity: Identity;
  /** The initial members, as the members table holds them. */
  readonly members: readonly { id: bigint; name: string; peerUrls: string[] }[];
  /**
   * Identity, members table, applied index 1 (term 1) with the membership, and a raft log based
   * there: what a first start writes (with no other state) and what `cairnutl snapshot restore`
   * writes beside a snapshot's data.
   */
  readonly ops: BatchOp[];
}

/** Computes a new cluster's ids and index-1 state from the initial-cluster settings. */
export function bootstrapState(backend: Backend, seed: Pick<IdentitySeed, 'peerUrls' | 'initialClusterToken' | 'initialCluster'>): BootstrapState {
  const token = seed.initialClusterToken;
  const seen = new Map<string, string>();
  const records = [...seed.initialCluster].map(([name, urls]) => {
    for (const u of normalise(urls)) {
      const other = seen.get(u);
      if (other !== undefined) throw new JoinError(`initial-cluster: ${name} and ${other} share the peer URL ${u}`);
      seen.set(u, name);
    }
    return { id: initialMemberId(urls, token), name, peerUrls: [...urls], clientUrls: [], isLearner: false };
  });
  const memberId = initialMemberId(seed.peerUrls, token);
  const clusterId = initialClusterId(
    records.map((r) => r.id),
    token,
  );
  const confState = { voters: records.map((r) => r.id).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), learners: [] };
  // Index 1, term 1: every initial member writes exactly this state, so their logs agree.
  const base = { index: 1, term: 1, confState };
  const log = LogStorage.load(backend);
  const ops: BatchOp[] = [
    ...identityOps({ clusterId, memberId }),
    ...bootstrapMembers(records),
    { type: 'put', key: metaKey(MetaKey.AppliedIndex), value: encodeValue(1n) },
    { type: 'put', key: metaKey(MetaKey.AppliedTerm), value: encodeValue(1) },
    { type: 'put', key: metaKey(MetaKey.ConfState), value: encodeConfState(confState) },
    ...log.restore(base),
    ...log.setHardState({ term: 1, vote: 0n, commit: 1 }),
  ];
  return { identity: { clusterId, memberId }, members: records, ops };
}

async function bootstrap(backend: Backend, seed: IdentitySeed): Promise<Identity> {
  const state = bootstrapState(backend, seed);
  await backend.write(state.ops, { sync: true });
  return state.identity;
}

async function join(backend: Backend, seed: IdentitySeed): Promise<{ identity: Identity; peerHints: Map<bigint, readonly string[]> }> {
  const mine = new Set(normalise(seed.peerUrls));
  const others = [...seed.initialCluster].filter(([name]) => name !== seed.name).flatMap(([, urls]) => urls);
  if (others.length === 0) throw new JoinError('initial-cluster-state is existing, but initial-cluster lists no other member to join');
  if (seed.fetchMembers === undefined) throw new JoinError('joining a cluster needs the peer transport');
  const cluster = await seed.fetchMembers(others);
  const me = cluster.members.find((m) => normalise(m.peerUrls).some((u) => mine.has(u)));
  if (me === undefined) {
    throw new JoinError(
      `no member of cluster ${cluster.clusterId.toString(16)} has the peer URLs ${seed.peerUrls.join(',')}; add this member first (cairnctl member add ${seed.name} --peer-urls=${seed.peerUrls.join(',')})`,
    );
  }
  const id = { clusterId: cluster.clusterId, memberId: me.id };
  const hints = cluster.members.map((m) => [m.id, [...m.peerUrls]] as [bigint, string[]]);
  await backend.write([...identityOps(id), { type: 'put', key: localKey(LocalKey.JoinHints), value: encodeValue(hints) }], { sync: true });
  return { identity: id, peerHints: new Map(hints) };
}

/** Marks the data dir as a removed member's (see RemovedMemberError). */
export function removedOps(): BatchOp[] {
  return [{ type: 'put', key: localKey(LocalKey.Removed), value: new Uint8Array([1]) }];
}
