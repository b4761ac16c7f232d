import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVER_VERSION } from './member.js';

describe('the server version a member reports (hello, /version, endpoint status)', () => {
  it('is the version of the @cairn/server package (bump both: pnpm changeset version, then SERVER_VERSION)', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(SERVER_VERSION).toBe(pkg.version);
  });
});
