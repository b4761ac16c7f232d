import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { MemoryBackend } from './storage/memory.js';
import { b, openMember, tempDir } from './testing/harness.js';

// Type-only: puts the child script in the test project (for tsc and eslint) without running it.
export type { CrashChild } from './testing/crashChild.js';

const child = fileURLToPath(new URL('./testing/crashChild.ts', import.meta.url));
const testsTsconfig = fileURLToPath(new URL('../../../tsconfig.tests.json', import.meta.url));

describe('durability', () => {
  it('every acknowledged write survives kill -9', async () => {
    const dir = tempDir();
    try {
      const acked: string[] = [];
      const proc = spawn(process.execPath, ['--import', 'tsx', child, dir.dir], {
        env: { ...process.env, TSX_TSCONFIG_PATH: testsTsconfig },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let buf = '';
      await new Promise<void>((resolve, reject) => {
        proc.stdout.on('data', (chunk: Buffer) => {
          buf += chunk.toString();
          const lines = buf.split('\n');
          buf = lines.pop()!;
          acked.push(...lines);
          if (acked.length >= 2000) proc.kill('SIGKILL');
        });
        proc.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited: ${_code}`))));
      });
      const m = await openMember(dir.dir);
      try {
        const missing: string[] = [];
        for (const key of acked) if ((await m.range({ key: b(key) })).count !== 1) missing.push(key);
        expect(missing).toEqual([]);
        // One revision per applied put, counted from 1 (the empty store's revision); the log
        // also holds the bootstrap entry and the leaders' empty entries, which make none.
        expect(m.revision).toBeGreaterThanOrEqual(BigInt(acked.length) + 1n);
        expect(m.revision).toBeLessThan(m.appliedIndex);
      } finally {
        await m.close();
      }
    } finally {
      dir.cleanup();
    }
  });
});

describe('member', () => {
  it('answers a write, and shows it to reads, once its log entry is durable, before its state is written', async () => {
    const backend = new MemoryBackend();
    const m = await openMember('', backend);
    await m.propose({ put: { key: b('w'), value: b('0') } }); // elected, revision 2
    // Hold every write until released, as if the fsync were slow.
    const held: (() => void)[] = [];
    const write = backend.write.bind(backend);
    backend.write = (ops, o) => new Promise<void>((resolve, reject) => held.push(() => write(ops, o).then(resolve, reject)));
    const order: string[] = [];
    const w = m.propose({ put: { key: b('a'), value: b('1') } }).then(() => order.push('write'));
    await vi.waitFor(() => expect(held.length).toBeGreaterThan(0)); // the log write
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Not committed while the only voter's log write is on the way: not applied, not answered.
    expect(m.revision).toBe(2n);
    expect(order).toEqual([]);
    expect((await m.range({ key: b('a'), serializable: true })).count).toBe(0);
    // The log write lands: the entry commits, is applied and answered, and reads see it, while
    // the state tables' own write (held, or not yet due) has not landed.
    for (const release of held.splice(0)) release();
    await w;
    expect(order).toEqual(['write']);
    expect(m.revision).toBe(3n);
    expect((await m.range({ key: b('a'), serializable: true })).count).toBe(1);
    expect((await m.range({ key: b('a') })).count).toBe(1);
    backend.write = write;
    for (const release of held.splice(0)) release();
    await m.close();
    // Closing wrote the applied state; a restart has it.
    const applied = m.appliedIndex;
    const again = await openMember('', backend);
    expect(again.appliedIndex).toBeGreaterThanOrEqual(applied);
    expect(again.revision).toBe(3n);
    expect((await again.range({ key: b('a'), serializable: true })).count).toBe(1);
    await again.close();
  });

  it('stops, failing everything waiting, when a disk write fails', async () => {
    const backend = new MemoryBackend();
    let fatal: unknown;
    const m = await openMember('', backend, { onFatal: (err) => (fatal = err) });
    backend.write = () => Promise.reject(new Error('disk on fire'));
    const results = await Promise.allSettled([m.propose({ put: { key: b('a'), value: b('1') } }), m.range({ key: b('a') })]);
    expect(results[0].status).toBe('rejected');
    // The read ran concurrently with the failed write: it may be answered, but never with it.
    if (results[1].status === 'fulfilled') expect(results[1].value.count).toBe(0);
    expect((fatal as Error).message).toBe('disk on fire');
    await expect(m.propose({ put: { key: b('a'), value: b('1') } })).rejects.toMatchObject({ code: 'stopped' });
  });
});
