// The web console at /ui/, in real Chromium, against a real three-member cluster: what a user
// sees and does in the page agrees with what cairnctl reads and writes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { browserSkipReason, launchBrowser, staticSite } from './support/browser.js';
import { TestCluster } from './support/cluster.js';
import { openConsole, openKey } from './support/consolePage.js';
import { ctl } from './support/process.js';

const skip = browserSkipReason();

describe.skipIf(skip !== undefined)(`the web console${skip !== undefined ? ` (skipped: ${skip})` : ''}`, () => {
  let cluster: TestCluster;
  let browser: Browser;
  const put = async (key: string, value: string): Promise<void> => {
    const r = await ctl(['--endpoints', cluster.endpoints.join(','), 'put', key, value]);
    expect(r.stderr).toBe('');
  };
  const get = async (key: string): Promise<string> => (await ctl(['--endpoints', cluster.endpoints.join(','), 'get', '--print-value-only', key])).stdout.trim();

  beforeAll(async () => {
    cluster = await TestCluster.create({ size: 3 });
    await cluster.start();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await cluster?.cleanup();
  });

  it('serves the console at /ui/ with the right content types, and nothing outside it', async () => {
    const base = `http://${cluster.endpoints[0]}`;
    const html = await fetch(`${base}/ui/`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html.headers.get('content-security-policy')).toContain("script-src 'self'");
    const js = await fetch(`${base}/ui/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${base}/ui/app.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await fetch(`${base}/ui`, { redirect: 'manual' })).headers.get('location')).toBe('/ui/');
    for (const path of ['/ui/..%2f..%2fpackage.json', '/ui/%2e%2e/%2e%2e/package.json', '/ui/%2e%2e%2fpackage.json', '/ui/nope.js', '/ui//etc/passwd']) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(404);
    }
  });

  it('shows a key put by cairnctl; an edit in the page is what cairnctl reads next', async () => {
    await put('app/greeting', 'hello from cairnctl');
    const page = await openConsole(browser, cluster.endpoints[0]!);
    await page.getByRole('button', { name: /app\// }).click();
    await page.locator('[data-key="app/greeting"]').click();
    await expect.poll(() => page.getByTestId('value').textContent(), { timeout: 10_000 }).toBe('hello from cairnctl');
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByTestId('editor').fill('edited in the console');
    await page.getByRole('button', { name: /^Save/ }).click();
    await page.getByTestId('saved').waitFor({ timeout: 10_000 });
    expect(await get('app/greeting')).toBe('edited in the console');
    await page.close();
  });

  it('refuses an edit when the key changed meanwhile, and says so', async () => {
    await put('app/limit', '10');
    const page = await openConsole(browser, cluster.endpoints[1]!);
    await openKey(page, 'app/limit');
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByTestId('editor').fill('20');
    await put('app/limit', '15');
    await page.getByRole('button', { name: /^Save/ }).click();
    const conflict = page.getByTestId('conflict');
    await conflict.waitFor({ timeout: 10_000 });
    expect(await conflict.textContent()).toContain('15');
    expect(await get('app/limit')).toBe('15');
    await page.close();
  });

  it('the watch tail shows a cairnctl put within a second', async () => {
    const page = await openConsole(browser, cluster.endpoints[0]!, 'watch');
    await page.getByTestId('watch-prefix').fill('tail/');
    await page.getByRole('button', { name: 'Start' }).click();
    // The watch is live once a first put shows (a put before the watch exists is not an event).
    await expect
      .poll(async () => {
        await put('tail/probe', 'p');
        return page.getByText('tail/probe').count();
      }, { timeout: 15_000, interval: 300 })
      .toBeGreaterThan(0);
    const started = Date.now();
    await put('tail/live', 'shown live');
    const putDone = Date.now();
    await page.getByRole('link', { name: 'tail/live' }).waitFor({ timeout: 5000 });
    const shownMs = Date.now() - putDone;
    console.log(`watch tail: the event showed ${shownMs} ms after cairnctl's put returned (${putDone - started} ms for the put itself)`);
    expect(shownMs).toBeLessThan(1000);
    await page.close();
  });

  it('the cluster page shows a killed member down within seconds, and back after a restart', async () => {
    const page = await openConsole(browser, cluster.endpoints[0]!, 'cluster');
    const health = (name: string) => page.locator(`tr:has([data-member="${name}"]) [data-health]`).getAttribute('data-health', { timeout: 1000 });
    await expect.poll(() => page.locator('[data-health="up"]').count(), { timeout: 15_000 }).toBe(3);
    await cluster.members[2]!.kill();
    const killed = Date.now();
    await expect.poll(() => health('node3'), { timeout: 10_000, interval: 100 }).toBe('down');
    const downMs = Date.now() - killed;
    console.log(`cluster page: node3 shown down ${downMs} ms after it was killed`);
    expect(downMs).toBeLessThan(5000);
    expect(await page.getByTestId('cluster-summary').textContent()).toContain('2 of 3 members up');
    await cluster.members[2]!.start(60_000, 'listening');
    await expect.poll(() => health('node3'), { timeout: 30_000, interval: 200 }).toBe('up');
    await page.close();
  });

  it('a page served from another origin cannot open a socket to a member', async () => {
    const other = await staticSite({ '/': ['text/html', '<!doctype html><title>elsewhere</title>'] });
    try {
      const page = await browser.newPage();
      await page.goto(other.url);
      const outcome = await page.evaluate(`new Promise((resolve) => {
        const ws = new WebSocket('ws://${cluster.endpoints[0]}');
        ws.onopen = () => resolve('open');
        ws.onclose = (ev) => resolve('closed ' + ev.code);
      })`);
      expect(outcome).toBe('closed 1006');
      await page.close();
    } finally {
      await other.close();
    }
  });

  it('the page goes on through another member when the one that served it stops', async () => {
    const page = await openConsole(browser, cluster.endpoints[0]!, 'watch');
    await page.getByTestId('watch-form').waitFor({ timeout: 10_000 });
    await cluster.members[0]!.kill();
    await put('failover/key', 'read through another member');
    // Navigate inside the page (it cannot be reloaded from the stopped member).
    await page.evaluate(`location.hash = '#/keys?key=failover%2Fkey'`);
    await expect.poll(() => page.getByTestId('value').textContent({ timeout: 1000 }).catch(() => ''), { timeout: 20_000, interval: 250 }).toBe('read through another member');
    await page.close();
  });
});
