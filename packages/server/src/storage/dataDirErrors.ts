import { join } from 'node:path';

/**
 * RocksDB lets one process at a time open a database: it takes an flock on `<db>/LOCK`. Opening
 * a database another process holds fails with this error (instead of classic-level's bare
 * "Database is not open"), so that callers can name the data dir and say who to stop.
 */
export class DatabaseLockedError extends Error {
  override readonly name = 'DatabaseLockedError';
  /** The LOCK file held by the other process. */
  readonly lockFile: string;

  constructor(dbDir: string, options?: ErrorOptions) {
    const lockFile = join(dbDir, 'LOCK');
    super(`the database is locked by another process (RocksDB lock file ${lockFile} is held)`, options);
    this.lockFile = lockFile;
  }
}

/** True for classic-level's open failure whose cause is RocksDB's lock being held elsewhere. */
export function isLockedOpenError(err: unknown): boolean {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  return (err as { code?: unknown } | undefined)?.code === 'LEVEL_LOCKED' || cause?.code === 'LEVEL_LOCKED';
}

/** A data dir a process cannot use; the message says why and what to do. */
export class DataDirError extends Error {
  override readonly name: string = 'DataDirError';
}

/** A data dir whose database another process (a running member, a cairnutl) holds open. */
export class DataDirLockedError extends DataDirError {
  override readonly name = 'DataDirLockedError';
  readonly dataDir: string;
  readonly lockFile: string;

  /** `hint` ends the message: who might hold the lock, what to do. */
  constructor(dataDir: string, lockFile: string, hint: string, options?: ErrorOptions) {
    super(`cannot open the data directory ${dataDir}: it is locked by another process (RocksDB lock file ${lockFile} is held); ${hint}`, options);
    this.dataDir = dataDir;
    this.lockFile = lockFile;
  }
}
