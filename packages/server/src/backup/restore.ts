import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { encodeValue } from '@cairn/protocol';
import type { BatchOp } from '../storage/backend.js';
import { RocksBackend } from '../storage/rocks.js';
import { MetaKey, TABLE_ALARM, TABLE_CLUSTER, metaKey } from '../storage/keyspace.js';
import { bootstrapState } from '../identity.js';
import { parseInitialCluster } from '../config/config.js';
import { MvccStore } from '../mvcc/store.js';
import { SnapshotFile } from './fileReader.js';
import { dbDirOf } from './dataDir.js';

/** `cairnutl snapshot restore` settings: the new member's, as its daemon will be started. */
export interface RestoreOptions {
  readonly name: string;
  /** Must not exist, or be empty. */
  readonly dataDir: string;
  /** `name=url,name=url,...`: every member of the new cluster (each restores the same file). */
  readonly initialCluster: string;
  readonly initialClusterToken: string;
  readonly initialAdvertisePeerUrls: readonly string[];
  /** Raise the revision by this much (etcdutl's --bump-revision); needs `markCompacted`. */
  readonly bumpRevision?: number;
  /** Compact at the (bumped) revision: older revisions read as `compacted` (etcdutl's --mark-compacted). */
  readonly markCompacted?: boolean;
}

export interface RestoreResult {
  readonly clusterId: bigint;
  readonly memberId: bigint;
  readonly members: readonly { id: bigint; name: string; peerUrls: string[] }[];
  /** The restored store's revision (after any bump) and compaction point. */
  readonly revision: bigint;
  readonly compactRevision: bigint;
  /** State rows copied from the file. */
  readonly rows: number;
}

/** Settings a restore cannot run with. */
export class RestoreError extends Error {
  override readonly name = 'RestoreError';
}

/** Rows copied per write. */
const ROWS_PER_WRITE = 4096;
const BYTES_PER_WRITE = 4 * 1024 * 1024;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** Meta a restore replaces: the position in the old cluster's log. */
const REPLACED_META = new Set([MetaKey.AppliedIndex, MetaKey.AppliedTerm, MetaKey.ConfState, MetaKey.ScheduledCompactRevision].map((k) => hex(metaKey(k))));

const sameUrls = (a: readonly string[], b: readonly string[]): boolean => {
  const n = (l: readonly string[]): string => l.map((u) => new URL(u).href.replace(/\/$/, '')).sort().join(',');
  return n(a) === n(b);
};

function check(o: RestoreOptions): Map<string, string[]> {
  if (o.name === '') throw new RestoreError('--name must not be empty');
  if (o.dataDir === '') throw new RestoreError('--data-dir must not be empty');
  if (o.initialClusterToken === '') throw new RestoreError('--initial-cluster-token must not be empty');
  const bump = o.bumpRevision ?? 0;
  if (!Number.isSafeInteger(bump) || bump < 0) throw new RestoreError(`--bump-revision must be a non-negative integer, got ${bump}`);
  if (bump > 0 && o.markCompacted !== true) throw new RestoreError('--mark-compacted is required with --bump-revision > 0');
  if (bump === 0 && o.markCompacted === true) throw new RestoreError('--mark-compacted needs --bump-revision > 0');
  let cluster: Map<string, string[]>;
  try {
    cluster = parseInitialCluster(o.initialCluster);
  } catch (err) {
    throw new RestoreError((err as Error).message);
  }
  const mine = cluster.get(o.name);
  if (mine === undefined) throw new RestoreError(`couldn't find local name ${JSON.stringify(o.name)} in the initial cluster configuration`);
  if (!sameUrls(mine, o.initialAdvertisePeerUrls)) {
    throw new RestoreError(`--initial-advertise-peer-urls (${o.initialAdvertisePeerUrls.join(',')}) differ from ${o.name}'s URLs in --initial-cluster (${mine.join(',')})`);
  }
  if (existsSync(o.dataDir) && readdirSync(o.dataDir).length > 0) throw new RestoreError(`data-dir ${JSON.stringify(o.dataDir)} exists and is not empty`);
  return cluster;
}

/**
 * Makes a new cluster's data dir from a snapshot file, as etcdutl's `snapshot restore` does:
 * the file's state (keys and their history, revision, leases, users and roles) under a new
 * membership and cluster id computed from the initial-cluster settings, with a fresh raft log
 * at index 1. Every member of the new cluster restores the same file with its own --name and
 * URLs; then each starts with its usual flags. The old cluster's members table and alarms are
 * not copied. The file is verified (SHA-256, structure) before anything is written; on a
 * failure the data dir is removed again.
 */
export async function restoreSnapshot(path: string, o: RestoreOptions): Promise<RestoreResult> {
  const cluster = check(o);
  const file = SnapshotFile.open(path);
  let backend: RocksBackend | undefined;
  const created = !existsSync(o.dataDir);
  try {
    mkdirSync(dbDirOf(o.dataDir), { recursive: true });
    backend = await RocksBackend.open(dbDirOf(o.dataDir));
    let ops: BatchOp[] = [];
    let bytes = 0;
    let rows = 0;
    for (const [k, v] of file.rows()) {
      rows++;
      if (k[0] === TABLE_CLUSTER || k[0] === TABLE_ALARM || REPLACED_META.has(hex(k))) continue;
      // Views of the block just read (a fresh buffer per block): no copy needed.
      ops.push({ type: 'put', key: k, value: v });
      bytes += k.length + v.length;
      if (ops.length >= ROWS_PER_WRITE || bytes >= BYTES_PER_WRITE) {
        await backend.write(ops, { sync: false });
        ops = [];
        bytes = 0;
      }
    }
    const summary = file.summary;
    const state = bootstrapState(backend, { peerUrls: o.initialAdvertisePeerUrls, initialClusterToken: o.initialClusterToken, initialCluster: cluster });
    const bump = BigInt(o.bumpRevision ?? 0);
    const revision = summary.revision + bump;
    if (bump > 0n) ops.push({ type: 'put', key: metaKey(MetaKey.Revision), value: encodeValue(Number(revision)) });
    // Synced: it makes the rows written before it durable too (one ordered RocksDB log).
    await backend.write([...ops, ...state.ops], { sync: true });
    let compactRevision = summary.compactRevision;
    if (o.markCompacted === true) {
      const store = MvccStore.load(backend);
      store.compact(Number(revision));
      await backend.write(store.drain().ops, { sync: true });
      compactRevision = revision;
    }
    return { clusterId: state.identity.clusterId, memberId: state.identity.memberId, members: state.members, revision, compactRevision, rows };
  } catch (err) {
    await backend?.close();
    backend = undefined;
    rmSync(created ? o.dataDir : dbDirOf(o.dataDir), { recursive: true, force: true });
    throw err;
  } finally {
    await backend?.close();
    file.close();
  }
}
