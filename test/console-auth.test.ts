// The web console with authentication on, and turned off with --disable-console.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { browserSkipReason, launchBrowser } from './support/browser.js';
import { openConsole } from './support/consolePage.js';
import { Member, ctl, freePort, singleMember, tempDir } from './support/process.js';

const skip = browserSkipReason();

describe.skipIf(skip !== undefined)(`the web console with auth on${skip !== undefined ? ` (skipped: ${skip})` : ''}`, () => {
  let m: Awaited<ReturnType<typeof singleMember>>;
  let browser: Browser;

  beforeAll(async () => {
    m = await singleMember('auth1');
    const ep = ['--endpoints', m.member.endpoint];
    for (const args of [
      ['role', 'add', 'root'],
      ['user', 'add', 'root', '--new-user-password=rootpw'],
      ['user', 'grant-role', 'root', 'root'],
      ['role', 'add', 'reader'],
      ['role', 'grant-permission', 'reader', 'read', 'other/', '--prefix'],
      ['user', 'add', 'alice', '--new-user-password=alicepw'],
      ['user', 'grant-role', 'alice', 'reader'],
      ['put', 'secret/plan', 'hidden'],
      ['auth', 'enable'],
    ]) {
      const r = await ctl([...ep, ...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await m?.cleanup();
  });

  async function logIn(page: Page, user: string, password: string): Promise<void> {
    await page.getByTestId('login').waitFor({ timeout: 10_000 });
    await page.getByLabel('User').fill(user);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
  }

  it('asks to log in, refuses a wrong password, and keeps no credentials in storage', async () => {
    const page = await openConsole(browser, m.member.endpoint);
    await logIn(page, 'alice', 'wrong');
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 10_000 }).toContain('Login failed');
    await logIn(page, 'alice', 'alicepw');
    await page.getByTestId('user').waitFor({ timeout: 10_000 });
    const stored = await page.evaluate('JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie })');
    expect(stored).toBe('{"local":{},"session":{},"cookie":""}');
    await page.close();
  });

  it('a user without permission sees the refusal, and no users page', async () => {
    const page = await openConsole(browser, m.member.endpoint);
    await logIn(page, 'alice', 'alicepw');
    await expect.poll(() => page.getByRole('alert').first().textContent(), { timeout: 10_000 }).toMatch(/Cannot list keys.*permission_denied/);
    expect(await page.getByRole('link', { name: 'Users & roles' }).count()).toBe(0);
    expect(await page.content()).not.toContain('hidden');
    await page.close();
  });

  it('root sees the keys and the users and roles', async () => {
    const page = await openConsole(browser, m.member.endpoint);
    await logIn(page, 'root', 'rootpw');
    await expect.poll(() => page.getByTestId('key-count').textContent(), { timeout: 10_000 }).toContain('1 keys');
    await page.getByRole('link', { name: 'Users & roles' }).click();
    await expect.poll(() => page.locator('table').first().textContent(), { timeout: 10_000 }).toContain('alice');
    expect(await page.textContent('main')).toContain('Authentication is on');
    await page.close();
  });
});

describe('--disable-console', () => {
  it('turns /ui/ off, as a flag and as CAIRN_DISABLE_CONSOLE', async () => {
    for (const how of ['flag', 'env'] as const) {
      const dir = tempDir();
      const member = new Member({
        name: 'off',
        dataDir: join(dir, 'off.cairn'),
        clientPort: await freePort(),
        peerPort: await freePort(),
        ...(how === 'flag' ? { extraArgs: ['--disable-console'] } : { env: { CAIRN_DISABLE_CONSOLE: 'true' } }),
      });
      try {
        await member.start();
        const res = await fetch(`http://${member.endpoint}/ui/`);
        expect(res.status, how).toBe(404);
        expect(((await res.json()) as { message: string }).message).toContain('--disable-console');
        expect((await fetch(`http://${member.endpoint}/health`)).status).toBe(200);
      } finally {
        await member.kill();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
