import { hashView } from '../mvcc/hash.js';
import { MvccStore } from '../mvcc/store.js';
import { openExistingDataDir } from './dataDir.js';

/** What `cairnutl hashkv` reports: the fields of `cairnctl endpoint hashkv`. */
export interface OfflineHashKv {
  readonly hash: number;
  readonly compactRevision: bigint;
  readonly hashRevision: bigint;
  /** The store's newest revision on disk. */
  readonly revision: bigint;
}

/**
 * etcd's HashKV over a stopped member's data dir: the same CRC-32C `maintenance.hashKv`
 * computes (mvcc/hash.ts) over the state tables on disk, up to `revision` (0n: the newest on
 * disk). Fails with `compacted` below the compaction point, `future_revision` past the newest.
 */
export async function hashKvOfDataDir(dataDir: string, revision = 0n): Promise<OfflineHashKv> {
  const backend = await openExistingDataDir(dataDir);
  try {
    const store = MvccStore.load(backend);
    const at = revision === 0n ? store.currentRevision : Number(revision);
    const view = store.hashView(at);
    const hash = await hashView(view, () => Promise.resolve());
    return { hash, compactRevision: BigInt(view.compactRevision), hashRevision: BigInt(view.hashRevision), revision: BigInt(store.currentRevision) };
  } finally {
    await backend.close();
  }
}
