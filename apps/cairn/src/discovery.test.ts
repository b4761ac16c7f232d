import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rejectionOf } from '../../../packages/client/test/helpers.js';
import { DiscoveryError, DiscoveryFailure, dataDirInitialized, initialClusterText, resolveDiscovery } from './discovery.js';

const dir = mkdtempSync(join(tmpdir(), 'cairn-discovery-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A port nobody listens on. */
async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 1));
    });
  });
}

const failure = (p: Promise<unknown>): Promise<DiscoveryError> => rejectionOf(p, DiscoveryError);

const base = { name: 'm1', peerUrls: ['http://127.0.0.1:12380'], timeoutMs: 2000 };

describe('resolveDiscovery (without a discovery cluster)', () => {
  it('refuses a malformed URL', async () => {
    const err = await failure(resolveDiscovery({ ...base, url: 'cairn://127.0.0.1:2379/discovery/nothex' }));
    expect(err.failure).toBe(DiscoveryFailure.InvalidUrl);
    expect(err.message).toBe(
      'discovery: invalid discovery URL "cairn://127.0.0.1:2379/discovery/nothex": the token must be 16 hex digits (expected cairn://HOST:PORT/discovery/TOKEN)',
    );
  });

  it('says the discovery cluster cannot be reached, within the request deadline', async () => {
    const port = await closedPort();
    const started = Date.now();
    const err = await failure(resolveDiscovery({ ...base, url: `cairn://127.0.0.1:${port}/discovery/a81b5818e67a6ea8`, requestTimeoutMs: 300 }));
    expect(err.failure).toBe(DiscoveryFailure.Unreachable);
    expect(err.message).toBe(`discovery: cannot reach the discovery cluster at 127.0.0.1:${port}: cannot connect to 127.0.0.1:${port}: connection refused`);
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe('helpers', () => {
  it('writes a cluster in --initial-cluster form', () => {
    const c = new Map([
      ['a', ['http://10.0.0.1:2380']],
      ['b', ['http://10.0.0.2:2380', 'http://10.0.1.2:2380']],
    ]);
    expect(initialClusterText(c)).toBe('a=http://10.0.0.1:2380,b=http://10.0.0.2:2380,b=http://10.0.1.2:2380');
  });

  it('tells a used data dir from a missing or empty one', () => {
    expect(dataDirInitialized(join(dir, 'missing'))).toBe(false);
    mkdirSync(join(dir, 'empty'));
    expect(dataDirInitialized(join(dir, 'empty'))).toBe(false);
    mkdirSync(join(dir, 'used'));
    writeFileSync(join(dir, 'used', 'CURRENT'), '');
    expect(dataDirInitialized(join(dir, 'used'))).toBe(true);
  });
});
