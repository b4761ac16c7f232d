import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RocksBackend } from '../storage/rocks.js';
import { DatabaseLockedError, DataDirError, DataDirLockedError } from '../storage/dataDirErrors.js';

export { DataDirError, DataDirLockedError };

/** What an offline tool says about a data dir a process holds. */
export const OFFLINE_LOCK_HINT = 'stop the member (or the other cairnutl) using it first';

/** Where a member's RocksDB lives inside its data dir (see server.ts). */
export const dbDirOf = (dataDir: string): string => join(dataDir, 'member', 'db');

/**
 * Opens an existing member's database for an offline tool. Refuses a directory that holds no
 * Cairn database (RocksDB would create an empty one) and one a running member holds.
 */
export async function openExistingDataDir(dataDir: string): Promise<RocksBackend> {
  const db = dbDirOf(dataDir);
  // A defrag may have left the live copy in its second slot (storage/defragDirs.ts); opening moves it back.
  if (!existsSync(join(db, 'CURRENT')) && !existsSync(`${db}.defrag.live`)) throw new DataDirError(`${dataDir} is not a Cairn data dir (no database at ${db})`);
  try {
    return await RocksBackend.open(db);
  } catch (err) {
    if (err instanceof DatabaseLockedError) throw new DataDirLockedError(dataDir, err.lockFile, OFFLINE_LOCK_HINT, { cause: err });
    const e = err as Error & { cause?: Error };
    const m = `${e.message}${e.cause?.message !== undefined ? ` (${e.cause.message})` : ''}`;
    // RocksDB allows one process per database: the usual reason is a member still running on it.
    throw new DataDirError(`cannot open ${dataDir}: ${m}; if a member runs on it, stop the member first`);
  }
}
