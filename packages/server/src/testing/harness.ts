import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CairnError, toBytes } from '@cairn/protocol';
import { Member, type MemberOptions } from '../member.js';
import { RocksBackend } from '../storage/rocks.js';
import type { Backend } from '../storage/backend.js';
import { openIdentity } from '../identity.js';
import { systemClock } from '../clock.js';

/** Test support (not exported from the package): members on real RocksDB in temp dirs. */
export function tempDir(prefix = 'cairn-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const PEER_URL = 'http://127.0.0.1:2380';

/**
 * A single-member cluster on `backend` (bootstrapped on first use), started and elected: the
 * only voter campaigns at once, and this waits until it leads.
 */
export async function openMember(dir: string, backend?: Backend, extra: Partial<MemberOptions> = {}): Promise<Member> {
  const b = backend ?? (await RocksBackend.open(dir));
  const { identity } = await openIdentity(
    b,
    {
      name: 'test',
      peerUrls: [PEER_URL],
      initialClusterToken: 'test',
      initialCluster: new Map([['test', [PEER_URL]]]),
      initialClusterState: 'new',
    },
    dir,
    systemClock,
  );
  const m = await Member.open({
    backend: b,
    identity,
    name: 'test',
    peerUrls: [PEER_URL],
    clientUrls: ['http://127.0.0.1:2379'],
    raft: { tickMs: 10 },
    onFatal: (err) => {
      throw err;
    },
    ...extra,
  });
  await waitLeader(m);
  return m;
}

export async function waitLeader(m: Member, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!m.isLeader()) {
    if (Date.now() > deadline) throw new Error('no leader elected in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const b = toBytes;
export const s = (u: Uint8Array): string => new TextDecoder().decode(u);

/** The error code a request failed with ('ok' if it succeeded); anything but a CairnError is rethrown. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof CairnError) return err.code;
    throw err;
  }
}
