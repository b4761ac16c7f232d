import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CAIRNCTL_VERSION } from './version.js';

describe('cairnctl version', () => {
  it('is the version of the @cairn/ctl package (bump both: pnpm changeset version, then this constant)', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(CAIRNCTL_VERSION).toBe(pkg.version);
  });
});
