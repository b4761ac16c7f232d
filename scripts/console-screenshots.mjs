#!/usr/bin/env node
// Takes the screenshots of docs/console.md: starts three real members (the built binaries,
// free ports, a temporary directory), fills them with example data through @cairn/client,
// opens each console page in Debian's Chromium and saves docs/console/<page>.png.
// Run after `pnpm build`: node scripts/console-screenshots.mjs
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(join(root, 'test/package.json'));
const { chromium } = require('playwright-core');
const { CairnClient } = await import(join(root, 'packages/client/dist/index.js'));

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function waitFor(what, probe, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const dir = mkdtempSync(join(tmpdir(), 'cairn-shots-'));
const specs = [];
for (let i = 1; i <= 3; i++) specs.push({ name: `node${i}`, client: await freePort(), peer: await freePort() });
const initial = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peer}`).join(',');
const procs = specs.map((s) =>
  spawn(process.execPath, [join(root, 'apps/cairn/bin/cairn.js'), `--name=${s.name}`, `--data-dir=${join(dir, s.name)}`,
    `--listen-client-urls=http://127.0.0.1:${s.client}`, `--advertise-client-urls=http://127.0.0.1:${s.client}`,
    `--listen-peer-urls=http://127.0.0.1:${s.peer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${s.peer}`,
    `--initial-cluster=${initial}`, '--log-level=error'], { stdio: 'ignore' }),
);
const endpoint = `127.0.0.1:${specs[0].client}`;
let browser;
try {
  for (const s of specs) await waitFor(`${s.name} healthy`, async () => (await fetch(`http://127.0.0.1:${s.client}/health`)).ok);
  const client = new CairnClient({ endpoints: specs.map((s) => `127.0.0.1:${s.client}`) });
  const json = (v) => JSON.stringify(v);
  await client.kv.put('app/greeting', 'hello, cairn');
  await client.kv.put('app/feature-flags', json({ search: true, beta: false, maxResults: 50 }));
  await client.kv.put('app/feature-flags', json({ search: true, beta: true, maxResults: 100 }));
  await client.kv.put('app/binary', new Uint8Array([0, 1, 2, 0xca, 0xfe, 0xba, 0xbe, 10]));
  for (const ns of ['prod', 'staging']) {
    await client.kv.put(`config/${ns}/greeting`, json(ns === 'prod' ? 'hello' : 'hi'));
    await client.kv.put(`config/${ns}/limits`, json({ rps: ns === 'prod' ? 100 : 10, burst: 20 }));
  }
  await client.kv.put('config/prod/limits', json({ rps: 150, burst: 30 }));
  const { id } = await client.lease.grant(60);
  const { id: shortLease } = await client.lease.grant(25);
  for (const [svc, n] of [['payments', 2], ['search', 3]]) {
    for (let i = 1; i <= n; i++) {
      const inst = { service: svc, id: `${svc}-${i}`, address: `10.0.0.${i + (svc === 'search' ? 10 : 0)}`, port: 8080, metadata: { zone: i % 2 ? 'eu-1' : 'eu-2' }, weight: i, registeredAt: new Date(Date.now() - i * 95_000).toISOString() };
      await client.kv.put(`services/${svc}/${inst.id}`, json(inst), { lease: id });
    }
  }
  await client.kv.put(`jobs/nightly/${shortLease.toString(16)}`, '', { lease: shortLease });
  await client.kv.put(`jobs/nightly/${id.toString(16)}`, '', { lease: id });
  client.close();

  const out = join(root, 'docs/console');
  mkdirSync(out, { recursive: true });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const shot = async (name) => {
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(out, `${name}.png`) });
    console.log(`docs/console/${name}.png`);
  };
  const base = `http://${endpoint}/ui/`;
  await page.goto(`${base}#/keys?key=app%2Ffeature-flags`);
  await page.getByRole('button', { name: /app\// }).click();
  await page.getByTestId('diff').waitFor();
  await page.getByRole('button', { name: 'JSON' }).click();
  await shot('keys');
  await page.goto(`${base}#/watch`);
  await page.getByTestId('watch-prefix').fill('app/');
  await page.getByTestId('watch-from').fill('1');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.getByTestId('events').waitFor();
  await shot('watch');
  await page.goto(`${base}#/cluster`);
  await waitFor('three members up', async () => (await page.locator('[data-health="up"]').count()) === 3);
  procs[2].kill('SIGKILL');
  await waitFor('node3 down', async () => (await page.locator('[data-health="down"]').count()) === 1);
  await shot('cluster');
  for (const [route, name, ready] of [['leases', 'leases', 'table'], ['services', 'services', 'table'], ['config', 'config', 'table']]) {
    await page.goto(`${base}#/${route}`);
    await page.locator(ready).first().waitFor();
    await shot(name);
  }
  await page.goto(`${base}#/locks`);
  await page.getByTestId('lock-name').fill('jobs/nightly');
  await page.getByTestId('holder').waitFor();
  await shot('locks');
  // Auth on: the login page, then root's users and roles.
  const admin = new CairnClient({ endpoints: [endpoint] });
  await admin.auth.roleAdd('root');
  await admin.auth.userAdd('root', 'rootpw');
  await admin.auth.userGrantRole('root', 'root');
  await admin.auth.roleAdd('reader');
  await admin.auth.roleGrantPermission('reader', 'read', 'app/', { prefix: true });
  await admin.auth.roleAdd('deployer');
  await admin.auth.roleGrantPermission('deployer', 'readwrite', 'services/', { prefix: true });
  await admin.auth.userAdd('alice', 'alicepw');
  await admin.auth.userGrantRole('alice', 'reader');
  await admin.auth.userAdd('ci-bot', 'botpw');
  await admin.auth.userGrantRole('ci-bot', 'deployer');
  await admin.auth.enable();
  admin.close();
  await page.goto(`${base}#/keys`);
  await page.reload();
  await page.getByTestId('login').waitFor();
  await page.getByLabel('User').fill('root');
  await shot('login');
  await page.getByLabel('Password').fill('rootpw');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByTestId('user').waitFor();
  await page.goto(`${base}#/users`);
  await page.locator('table').nth(1).waitFor();
  await shot('users');
} finally {
  await browser?.close();
  for (const p of procs) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
