import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/*
 * The local fallback: the last good config, kept in a file so a process can start on it when
 * no member answers at boot. The file is replaced whole (temp file, fsync, rename, fsync of the
 * directory), so after a crash it holds either the old or the new config, never a torn one.
 *
 *   {"prefix":"config/prod/","revision":"42","savedAt":"2026-12-07T14:00:00.000Z","value":{"greeting":"hello"}}
 */

export interface FallbackContent {
  readonly prefix: string;
  /** The store revision the value was read at, as decimal. */
  readonly revision: string;
  readonly savedAt: string;
  readonly value: unknown;
}

/** Writes the file atomically and durably. */
export async function writeFallback(path: string, content: FallbackContent): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(content)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  // The rename is durable only once the directory entry is on disk.
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** The file's content, or undefined if there is no file; throws if it is unreadable or not ours. */
export async function readFallback(path: string): Promise<FallbackContent | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const c = JSON.parse(text) as FallbackContent;
  if (typeof c !== 'object' || c === null || typeof c.prefix !== 'string' || typeof c.revision !== 'string' || !('value' in c)) {
    throw new Error(`${path} is not a config fallback file`);
  }
  return c;
}
