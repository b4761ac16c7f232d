import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Where a defragmented copy of a RocksDB directory is built, and which copy is live.
 *
 * A member's database lives in `dir` (the primary). A defrag builds a fresh copy in the other
 * slot and switches to it while the member runs; RocksDB cannot be renamed while it is open, so
 * until the next start the live copy may be the secondary, `dir.defrag`. One file says which:
 *
 *   `dir.defrag.live` exists  -> the secondary is live (the primary is garbage, or being rebuilt)
 *   otherwise                 -> the primary is live (a secondary is garbage, or being built)
 *
 * The file is created or removed (and the parent directory fsynced) only once the new copy is
 * complete and durable, so a crash at any point leaves exactly one authoritative copy.
 * `recoverDefrag`, run before every open, puts the live copy back at `dir` and removes the other.
 */
export interface DefragSlots {
  readonly primary: string;
  readonly secondary: string;
  readonly marker: string;
}

export function defragSlots(dir: string): DefragSlots {
  return { primary: dir, secondary: `${dir}.defrag`, marker: `${dir}.defrag.live` };
}

function fsyncDir(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Before opening `dir`: finishes or undoes a defrag a crash (or a swap not yet followed by a
 * restart) left behind, so that the live copy is at `dir` and no other copy remains.
 */
export function recoverDefrag(dir: string): void {
  const s = defragSlots(dir);
  const parent = dirname(dir);
  if (existsSync(s.marker)) {
    if (existsSync(s.secondary)) {
      rmSync(s.primary, { recursive: true, force: true });
      renameSync(s.secondary, s.primary);
      fsyncDir(parent);
    }
    unlinkSync(s.marker);
    fsyncDir(parent);
  } else if (existsSync(s.secondary)) {
    rmSync(s.secondary, { recursive: true, force: true });
  }
}

/** The slot a defrag of the copy in `live` builds into. */
export function otherSlot(s: DefragSlots, live: string): string {
  return live === s.primary ? s.secondary : s.primary;
}

/** Makes `target` (complete and durable) the live copy: creates or removes the marker. */
export function makeLive(s: DefragSlots, target: string): void {
  if (target === s.secondary) {
    const fd = openSync(s.marker, 'w');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } else if (existsSync(s.marker)) {
    unlinkSync(s.marker);
  }
  fsyncDir(dirname(s.primary));
}
