import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DefragProgress, DefragResult } from './defrag.js';
import { recoverDefrag } from './defragDirs.js';
import { RocksBackend } from './rocks.js';
import { defaultRocksMemory, type RocksMemoryOptions } from './rocksNative.js';
import { DataDirError, OFFLINE_LOCK_HINT } from '../backup/dataDir.js';
import { DatabaseLockedError, DataDirLockedError } from './dataDirErrors.js';


/**
 * Defragments a stopped member's data directory (what `cairnutl defrag --data-dir` runs): the
 * same copy as the online defrag, after which the new copy is put in place at
 * `<dataDir>/member/db`. Fails with DataDirError if there is no database there or a running
 * member holds it (RocksDB's lock).
 */
export async function defragDataDir(dataDir: string, onProgress?: (p: DefragProgress) => void, memory: RocksMemoryOptions = defaultRocksMemory): Promise<DefragResult> {
  const dir = join(dataDir, 'member', 'db');
  if (!existsSync(join(dir, 'CURRENT')) && !existsSync(`${dir}.defrag.live`)) {
    throw new DataDirError(`no member database in ${dataDir} (expected ${dir})`);
  }
  let backend: RocksBackend;
  try {
    backend = await RocksBackend.open(dir, memory);
  } catch (err) {
    if (err instanceof DatabaseLockedError) throw new DataDirLockedError(dataDir, err.lockFile, OFFLINE_LOCK_HINT, { cause: err });
    throw err;
  }
  let result: DefragResult;
  try {
    result = await backend.defrag(onProgress);
  } finally {
    await backend.close();
  }
  // Nothing has it open now: move the new copy to `member/db`.
  recoverDefrag(dir);
  return result;
}
