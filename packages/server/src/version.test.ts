import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLUSTER_VERSION, SERVER_VERSION } from './version.js';

describe('the server version', () => {
  it('is the one written in @cairn/server package.json, and the cluster version is its major.minor.0', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
    expect(pkg.name).toBe('@cairn/server');
    expect(SERVER_VERSION).toBe(pkg.version);
    const [major, minor] = pkg.version.split('.');
    expect(CLUSTER_VERSION).toBe(`${major}.${minor}.0`);
  });
});
