/** Helpers for tests that drive the web console (/ui/) in Chromium. */
import type { Browser, Page } from 'playwright-core';

/** Opens the console of the member at `endpoint` on `route` (e.g. 'keys'). */
export async function openConsole(browser: Browser, endpoint: string, route = 'keys'): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  (page as Page & { errors?: string[] }).errors = errors;
  await page.goto(`http://${endpoint}/ui/#/${route}`);
  return page;
}

/** Opens a key in the Keys page tree: expands each folder of its path and clicks the leaf. */
export async function openKey(page: Page, key: string): Promise<void> {
  await page.goto(page.url().replace(/#.*$/, `#/keys?key=${encodeURIComponent(key)}`));
  await page.reload();
  await page.getByTestId('value').waitFor({ timeout: 10_000 });
}
