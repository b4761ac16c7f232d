import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { b, openMember, tempDir } from './testing/harness.js';

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
        expect(m.revision).toBeGreaterThanOrEqual(BigInt(acked.length));
        expect(m.appliedIndex).toBe(m.revision);
      } finally {
        await m.close();
      }
    } finally {
      dir.cleanup();
    }
  });
});
