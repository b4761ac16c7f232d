import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toBytes } from '@cairn/protocol';
import { Member } from '../member.js';
import { RocksBackend } from '../storage/rocks.js';
import type { Backend } from '../storage/backend.js';

/** Test support (not exported from the package): members on real RocksDB in temp dirs. */
export function tempDir(prefix = 'cairn-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const IDENTITY = { clusterId: 0xc1n, memberId: 0xa1n };

export async function openMember(dir: string, backend?: Backend): Promise<Member> {
  const b = backend ?? (await RocksBackend.open(dir));
  return new Member({
    backend: b,
    identity: IDENTITY,
    name: 'test',
    peerUrls: ['http://127.0.0.1:2380'],
    clientUrls: ['http://127.0.0.1:2379'],
    onFatal: (err) => {
      throw err;
    },
  });
}

export const b = toBytes;
export const s = (u: Uint8Array): string => new TextDecoder().decode(u);
