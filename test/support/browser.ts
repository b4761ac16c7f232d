/**
 * Real Chromium for end-to-end tests: Debian's `chromium` package (never a downloaded browser),
 * driven by playwright-core through its executable path. Without it a test file skips with
 * the reason, except under CI=true, where .ci/run installs it and its absence is a failure.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { freePort } from './process.js';

const CANDIDATES = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The Chromium executable, or undefined when none is installed. */
export const chromiumPath: string | undefined = CANDIDATES.find((p): p is string => p !== undefined && p !== '' && existsSync(p));

/** Why the browser tests cannot run here, or undefined when they can. Throws under CI. */
export function browserSkipReason(): string | undefined {
  if (chromiumPath !== undefined) return undefined;
  const why = 'no Chromium at /usr/bin/chromium (install it: apt-get install -y chromium, or set CHROMIUM_PATH)';
  if (process.env['CI'] === 'true') throw new Error(`browser tests cannot run under CI: ${why}`);
  return why;
}

export async function launchBrowser(): Promise<Browser> {
  if (chromiumPath === undefined) throw new Error('no Chromium');
  // --no-sandbox: tests run as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/**
 * @cairn/client bundled the way a web app's bundler would take it: through the package's
 * `browser` export condition, for the browser platform (a `node:` import would fail the build).
 */
export async function bundleBrowserClient(): Promise<string> {
  const out = await build({
    stdin: { contents: "export * from '@cairn/client';", resolveDir: new URL('.', import.meta.url).pathname, loader: 'ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['browser'],
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}

/** A static site on 127.0.0.1 (its own origin): path -> [content type, body]. */
export async function staticSite(files: Record<string, readonly [string, string]>): Promise<{ url: string; close: () => Promise<void> }> {
  const port = await freePort();
  const server: Server = createServer((req, res) => {
    const file = files[(req.url ?? '/').split('?')[0]!];
    if (file === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file[0] }).end(file[1]);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
