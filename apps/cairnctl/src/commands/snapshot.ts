import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync, fstatSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import type { CliIo } from '../context.js';
import { UsageError } from '../exitCodes.js';
import { withContext } from './kv.js';

const SHA256_BYTES = 32;
const READ_CHUNK_BYTES = 1 << 20;

/**
 * Checks a written snapshot file as it is on disk: its last 32 bytes are the SHA-256 of the
 * rest (the format's trailer, see docs/operations.md). Returns the file's size.
 */
export function verifySnapshotTrailer(fd: number, path: string): number {
  const size = fstatSync(fd).size;
  if (size < SHA256_BYTES) throw new Error(`${path}: ${size} bytes is too short for a snapshot`);
  const body = size - SHA256_BYTES;
  const sha = createHash('sha256');
  const buf = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  for (let at = 0; at < body; ) {
    const n = readSync(fd, buf, 0, Math.min(READ_CHUNK_BYTES, body - at), at);
    if (n === 0) throw new Error(`${path}: short read at offset ${at}`);
    sha.update(buf.subarray(0, n));
    at += n;
  }
  const trailer = Buffer.alloc(SHA256_BYTES);
  readSync(fd, trailer, 0, SHA256_BYTES, body);
  const got = sha.digest('hex');
  if (got !== trailer.toString('hex')) throw new Error(`${path}: SHA-256 mismatch after writing (the file says ${trailer.toString('hex')}, it hashes to ${got})`);
  return size;
}

export function registerSnapshotCommands(program: Command, io: CliIo): void {
  const snapshot = program
    .command('snapshot')
    .summary('Manages Cairn node snapshots')
    .description('Manages Cairn node snapshots. Offline inspection and restore are `cairnutl snapshot status|restore`.');

  snapshot
    .command('save')
    .summary('Stores a Cairn node backend snapshot to a given file')
    .argument('[filename]')
    .action(
      withContext(io, async (ctx, filename: string | undefined) => {
        if (filename === undefined || filename === '') throw new UsageError('snapshot save expects one argument');
        // Like etcdctl: one member's state, so one endpoint.
        if (ctx.endpoints.length !== 1) throw new UsageError('snapshot must be requested to one selected node, not multiple');
        const part = `${filename}.part`;
        const client = await ctx.client();
        const download = await client.maintenance.snapshot();
        const fd = openSync(part, 'w', 0o600);
        let saved = false;
        try {
          for await (const bytes of download) {
            for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
          }
          // On disk before it gets its final name: a power loss leaves the old file or the new one.
          fsyncSync(fd);
          closeSync(fd);
          const check = openSync(part, 'r');
          try {
            verifySnapshotTrailer(check, part);
          } finally {
            closeSync(check);
          }
          renameSync(part, filename);
          syncDir(dirname(filename));
          saved = true;
        } finally {
          if (!saved) {
            try {
              closeSync(fd);
            } catch {
              // already closed
            }
            rmSync(part, { force: true });
          }
        }
        io.out(`Snapshot saved at ${filename}\n`);
      }),
    );
}

/** Makes a rename in `dir` durable (a no-op where directories cannot be opened). */
function syncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename stands.
  } finally {
    closeSync(fd);
  }
}
