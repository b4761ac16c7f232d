// The console's other pages against one real member: watch history, pause and filter;
// prefix delete with its confirmation; leases counting down and revoked; services appearing
// and vanishing; a lock's holder and waiter; configuration and its rollback. cairnctl makes the changes and checks the result.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { browserSkipReason, launchBrowser } from './support/browser.js';
import { openConsole } from './support/consolePage.js';
import { Running, ctl, singleMember } from './support/process.js';

const skip = browserSkipReason();

describe.skipIf(skip !== undefined)(`the console's pages${skip !== undefined ? ` (skipped: ${skip})` : ''}`, () => {
  let m: Awaited<ReturnType<typeof singleMember>>;
  let browser: Browser;
  const running: Running[] = [];
  const c = async (...args: string[]): Promise<string> => {
    const r = await ctl(['--endpoints', m.member.endpoint, ...args]);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    m = await singleMember('pages');
    browser = await launchBrowser();
  });

  afterAll(async () => {
    for (const r of running) r.kill();
    await browser?.close();
    await m?.cleanup();
  });

  it('watch: replays from a past revision, filters, and holds events while paused', async () => {
    await c('put', 'hist/one', 'first');
    const rev = /"ModRevision" : (\d+)/.exec(await c('get', 'hist/one', '-w', 'fields'))![1]!;
    await c('put', 'hist/two', 'second');
    const page = await openConsole(browser, m.member.endpoint, 'watch');
    await page.getByTestId('watch-prefix').fill('hist/');
    await page.getByTestId('watch-from').fill(rev);
    await page.getByRole('button', { name: 'Start' }).click();
    await page.getByRole('link', { name: 'hist/two' }).waitFor({ timeout: 10_000 });
    expect(await page.getByRole('link', { name: 'hist/one' }).count()).toBe(1);
    await page.getByTestId('watch-filter').fill('second');
    await expect.poll(() => page.getByRole('link', { name: 'hist/one' }).count(), { timeout: 5000 }).toBe(0);
    await page.getByTestId('watch-filter').fill('');
    await page.getByTestId('pause').click();
    await c('put', 'hist/three', 'while paused');
    await expect.poll(() => page.getByTestId('resume').textContent(), { timeout: 10_000 }).toContain('1 held');
    expect(await page.getByRole('link', { name: 'hist/three' }).count()).toBe(0);
    await page.getByTestId('resume').click();
    await page.getByRole('link', { name: 'hist/three' }).waitFor({ timeout: 5000 });
    await page.close();
  });

  it('keys: a prefix delete says how many keys go, and deletes them after the confirmation', async () => {
    for (const k of ['gone/a', 'gone/b', 'gone/c/d']) await c('put', k, 'x');
    await c('put', 'kept', 'y');
    const page = await openConsole(browser, m.member.endpoint, 'keys');
    await page.getByTestId('prefix').fill('gone/');
    await page.getByRole('button', { name: 'Delete all 3 keys under gone/…' }).click();
    const dialog = page.getByTestId('confirm');
    expect(await dialog.textContent()).toContain('Delete 3 keys under gone/');
    await dialog.getByRole('button', { name: 'Delete 3 keys' }).click();
    await page.getByText('deleted 3 keys under gone/').waitFor({ timeout: 10_000 });
    expect(await c('get', 'gone/', '--prefix', '--keys-only')).toBe('');
    expect(await c('get', 'kept', '--print-value-only')).toBe('y\n');
    await page.close();
  });

  it('leases: the TTL counts down, the attached key is listed, revoke deletes it', async () => {
    const id = /lease ([0-9a-f]+) granted/.exec(await c('lease', 'grant', '120'))![1]!;
    await c('put', 'leased/key', 'v', `--lease=${id}`);
    const page = await openConsole(browser, m.member.endpoint, 'leases');
    const row = page.locator('[data-testid="leases"] tr', { hasText: id.replace(/^0+/, '') });
    await row.waitFor({ timeout: 10_000 });
    expect(await row.textContent()).toContain('leased/key');
    const remaining = async (): Promise<number> => {
      const t = (await row.locator('td').nth(1).textContent()) ?? '';
      const mm = /(?:(\d+) min )?(\d+) s/.exec(t)!;
      return Number(mm[1] ?? 0) * 60 + Number(mm[2]);
    };
    const first = await remaining();
    await expect.poll(remaining, { timeout: 5000, interval: 200 }).toBeLessThan(first);
    page.once('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => c('get', 'leased/key'), { timeout: 10_000 }).toBe('');
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(0);
    await page.close();
  });

  it('services: an instance registered under services/ appears, and vanishes with its lease', async () => {
    const id = /lease ([0-9a-f]+) granted/.exec(await c('lease', 'grant', '60'))![1]!;
    const page = await openConsole(browser, m.member.endpoint, 'services');
    await page.getByText('No service registered').waitFor({ timeout: 10_000 });
    const inst = { service: 'payments', id: 'pay-1', address: '10.0.0.7', port: 8080, metadata: { zone: 'eu-1' }, weight: 2, registeredAt: new Date().toISOString() };
    await c('put', 'services/payments/pay-1', JSON.stringify(inst), `--lease=${id}`);
    const service = page.locator('[data-service="payments"]');
    await service.waitFor({ timeout: 10_000 });
    expect(await service.textContent()).toMatch(/pay-1.*10\.0\.0\.7:8080.*2.*"zone":"eu-1"/);
    await c('lease', 'revoke', id);
    await expect.poll(() => service.count(), { timeout: 10_000 }).toBe(0);
    await page.close();
  });

  it('locks: shows the holder and the waiter of a cairnctl lock', async () => {
    const holder = new Running(['--endpoints', m.member.endpoint, 'lock', 'jobs/nightly']);
    running.push(holder);
    await holder.output('the lock held', (out) => out.includes('jobs/nightly/'));
    const waiter = new Running(['--endpoints', m.member.endpoint, 'lock', 'jobs/nightly']);
    running.push(waiter);
    const page = await openConsole(browser, m.member.endpoint, 'locks');
    await page.getByTestId('lock-name').fill('jobs/nightly');
    await expect.poll(() => page.getByTestId('holder').textContent(), { timeout: 10_000 }).toContain(holder.stdout.trim().split('\n')[0]!);
    await expect.poll(() => page.getByTestId('waiters').locator('li').count(), { timeout: 10_000 }).toBe(1);
    await holder.interrupt();
    await waiter.output('the waiter holds it', (out) => out.includes('jobs/nightly/'));
    await expect.poll(() => page.getByTestId('holder').textContent(), { timeout: 10_000 }).toContain(waiter.stdout.trim().split('\n')[0]!);
    await page.close();
  });

  it('configuration: shows namespaces and fields, and rolls a field back to a past value', async () => {
    await c('put', 'config/prod/limits', '{"rps":100}');
    await c('put', 'config/prod/limits', '{"rps":500}');
    await c('put', 'config/staging/greeting', '"hi"');
    const page = await openConsole(browser, m.member.endpoint, 'config');
    const prod = page.locator('[data-namespace="prod"]');
    await prod.waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-namespace="staging"]').textContent()).toContain('"hi"');
    expect(await prod.textContent()).toContain('"rps": 500');
    await prod.getByRole('button', { name: 'History' }).click();
    await prod.getByRole('button', { name: 'Roll back to this' }).click();
    await page.getByText(/rolled back to the value of revision/).waitFor({ timeout: 10_000 });
    expect(await c('get', 'config/prod/limits', '--print-value-only')).toBe('{"rps":100}\n');
    await page.close();
  });
});
