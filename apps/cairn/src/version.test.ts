import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CAIRN_VERSION } from './version.js';

describe('cairn --version', () => {
  it('is the version of the @cairn/daemon package (bump both: pnpm changeset version, then this constant)', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(CAIRN_VERSION).toBe(pkg.version);
  });
});
