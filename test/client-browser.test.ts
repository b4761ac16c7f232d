// @cairn/client in real Chromium: the bundle a web app gets through the `browser` export
// condition talks to a real member over the browser's own WebSocket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { CairnClient } from '@cairn/client';
import { browserSkipReason, bundleBrowserClient, launchBrowser, staticSite } from './support/browser.js';
import { Member, freePort, tempDir } from './support/process.js';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

const skip = browserSkipReason();

describe.skipIf(skip !== undefined)(`@cairn/client in Chromium${skip !== undefined ? ` (skipped: ${skip})` : ''}`, () => {
  let browser: Browser;
  let member: Member;
  let dir: string;
  let allowed: Awaited<ReturnType<typeof staticSite>>;
  let foreign: Awaited<ReturnType<typeof staticSite>>;
  let bundle: string;

  beforeAll(async () => {
    bundle = await bundleBrowserClient();
    const site = { '/': ['text/html', '<!doctype html><title>t</title>'], '/client.js': ['text/javascript', bundle] } as const;
    allowed = await staticSite(site);
    foreign = await staticSite(site);
    dir = tempDir();
    member = new Member({ name: 'b1', dataDir: join(dir, 'b1.cairn'), clientPort: await freePort(), peerPort: await freePort(), extraArgs: [`--cors=${allowed.url}`] });
    await member.start();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await member?.kill();
    await allowed?.close();
    await foreign?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function open(url: string): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(url);
    await page.evaluate(`import('/client.js').then((m) => { window.cairn = m; })`);
    return page;
  }

  it('the browser bundle has no Node module in it', () => {
    expect(bundle).not.toMatch(/from ["']node:|require\(["'](ws|node:)/);
  });

  it('puts, gets, watches and keeps a lease alive from a page', async () => {
    const page = await open(allowed.url);
    const result = (await page.evaluate(`(async () => {
      const { CairnClient } = window.cairn;
      const client = new CairnClient({ endpoints: ['${member.endpoint}'] });
      const w = client.watch('browser/', { prefix: true });
      const it = w[Symbol.asyncIterator]();
      await client.kv.put('browser/a', 'from chromium');
      const value = await client.kv.getString('browser/a');
      const batch = await it.next();
      const { id } = await client.lease.grant(5);
      const keeper = client.lease.keepAlive(id);
      const ttl = await new Promise((resolve) => keeper.once('keepalive', (ttlSeconds) => resolve(ttlSeconds)));
      keeper.close();
      w.cancel();
      client.close();
      return { value, event: batch.value.events[0].type, key: new TextDecoder().decode(batch.value.events[0].kv.key), ttl, ws: typeof WebSocket };
    })()`)) as Record<string, unknown>;
    expect(result).toEqual({ value: 'from chromium', event: 'put', key: 'browser/a', ttl: 5, ws: 'function' });
    const node = new CairnClient({ endpoints: [member.endpoint] });
    try {
      expect(await node.kv.getString('browser/a')).toBe('from chromium');
    } finally {
      node.close();
    }
    await page.close();
  });

  it('a page of an origin the member does not allow cannot open a socket to it', async () => {
    const page = await open(foreign.url);
    const result = (await page.evaluate(`(async () => {
      const client = new window.cairn.CairnClient({ endpoints: ['${member.endpoint}'], dialTimeoutMs: 2000 });
      try { await client.kv.put('browser/foreign', 'x'); return 'written'; }
      catch (err) { return err.code; }
      finally { client.close(); }
    })()`)) as string;
    expect(result).toBe('unavailable');
    const node = new CairnClient({ endpoints: [member.endpoint] });
    try {
      expect(await node.kv.getString('browser/foreign')).toBeUndefined();
    } finally {
      node.close();
    }
    expect(member.log).toContain('refused a request from a browser page of another origin');
    await page.close();
  });
});
