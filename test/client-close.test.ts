/**
 * Closing a client is enough to let a service's process exit: its watches end (the discovery
 * view's and the typed config's too), its keep-alives stop without `lost`, and the leases it
 * kept alive expire after their TTL, taking the registration with them.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnClient } from '@cairn/client';
import { ROOT, singleMember, waitFor, type Member } from './support/process.js';

const CLOSER = fileURLToPath(new URL('./support/closer.mjs', import.meta.url));
const TTL_SECONDS = 3;

let member: Member;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ member, cleanup } = await singleMember('closer'));
});
afterAll(async () => {
  await cleanup?.();
});

describe('client.close()', () => {
  it('lets the process exit with every recipe still open, and their leases run out by themselves', async () => {
    const proc = spawn(process.execPath, [CLOSER, member.endpoint, String(TTL_SECONDS)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let code: number | null | undefined;
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    proc.on('exit', (c, s) => (code = c ?? (s !== null ? 128 : -1)));
    try {
      await waitFor('the service to exit after closing its client', () => code !== undefined, 15_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}; its output: ${out}`);
    } finally {
      if (code === undefined) proc.kill('SIGKILL');
    }
    expect(code, out).toBe(0);
    expect(out.split('\n').filter(Boolean)).toEqual(['open 1 hello', 'watch ended', 'after close connection_closed', 'closed']);

    // Nothing revoked the registration's lease: it is there until its TTL runs out.
    const client = new CairnClient({ endpoints: [member.endpoint] });
    try {
      const key = 'services/closer/c-1';
      expect(await client.kv.getString(key)).toBeDefined();
      await waitFor('the registration to expire with its lease', async () => (await client.kv.get(key)) === undefined, (TTL_SECONDS + 5) * 1000, 200);
    } finally {
      client.close();
    }
  }, 40_000);
});
