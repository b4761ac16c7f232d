import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readFallback, writeFallback } from './fallback.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'cairn-fallback-'));
  dirs.push(d);
  return d;
}

describe('fallback file', () => {
  it('is replaced whole, leaves no temporary file behind, and reads back', async () => {
    const d = dir();
    const file = join(d, 'config.json');
    expect(await readFallback(file)).toBeUndefined();
    await writeFallback(file, { prefix: 'p/', revision: '4', savedAt: 't1', value: { greeting: 'one' } });
    await writeFallback(file, { prefix: 'p/', revision: '9', savedAt: 't2', value: { greeting: 'two' } });
    expect(await readFallback(file)).toEqual({ prefix: 'p/', revision: '9', savedAt: 't2', value: { greeting: 'two' } });
    expect(readdirSync(d)).toEqual(['config.json']);
    expect(readFileSync(file, 'utf8').endsWith('}\n')).toBe(true);
  });

  it('a file that is not a fallback file is an error, not a config', async () => {
    const file = join(dir(), 'config.json');
    writeFileSync(file, '{"something":"else"}');
    await expect(readFallback(file)).rejects.toThrow(/is not a config fallback file/);
    writeFileSync(file, '{"prefix":');
    await expect(readFallback(file)).rejects.toThrow(SyntaxError);
  });

  it('a write into a missing directory fails and leaves nothing', async () => {
    await expect(writeFallback(join(dir(), 'no', 'such', 'config.json'), { prefix: 'p/', revision: '1', savedAt: 't', value: {} })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
