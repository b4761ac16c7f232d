/**
 * The packages as a user gets them. Every publishable package is packed with `pnpm pack`; the
 * tarballs are installed with npm into a fresh project outside the workspace (third-party
 * dependencies, @nxtedition/rocksdb's prebuilt binary among them, come from the npm
 * registry); a member is started with that project's `cairn` bin; `npx cairnctl` writes its
 * configuration; an ES-module script and a CommonJS script register and discover a service,
 * read the typed configuration, take a lock and win an election; and TypeScript files in both
 * module formats are type-checked against the installed declarations. Last, the documented
 * way to put the checkout's `cairn` and `cairnctl` on PATH (npm install --global of the two
 * app folders) is run into a private prefix.
 *
 * Needs `pnpm build` first and network to the npm registry; fails (never skips) without it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, ROOT, tempDir, waitFor } from './support/process.js';

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment for npm and the installed bins: this process's, without the variables a
 * package manager sets for its scripts (npm_config_local_prefix would point npm back at the
 * workspace), but with PATH leading to this Node.
 */
function userEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_globalconfig', 'npm_config_registry', 'npm_config_cafile']);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_)/i.test(k) && !keep.has(k.toLowerCase())) continue;
    env[k] = v;
  }
  env['PATH'] = `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`;
  return env;
}

/** Runs a command to completion (killed after `timeoutMs`). */
function run(command: string, args: string[], opts: { cwd: string; timeoutMs: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(command, args, { cwd: opts.cwd, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish in ${opts.timeoutMs} ms\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-2000)}`));
    }, opts.timeoutMs);
    proc.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

function expectOk(what: string, r: RunResult): RunResult {
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}\nstdout: ${r.stdout.slice(-3000)}\nstderr: ${r.stderr.slice(-3000)}`);
  return r;
}

/** The workspace packages meant for publishing (not private), by folder. */
function publishable(): { name: string; dir: string }[] {
  const found: { name: string; dir: string }[] = [];
  for (const parent of ['packages', 'apps']) {
    for (const entry of readdirSync(join(ROOT, parent)).sort()) {
      const file = join(ROOT, parent, entry, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name: string; private?: boolean };
      if (pkg.private !== true) found.push({ name: pkg.name, dir: join(ROOT, parent, entry) });
    }
  }
  return found;
}

interface PackedManifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  bin?: Record<string, string>;
  exports?: unknown;
}

const FIXTURES = join(ROOT, 'test/fixtures/consumer');
const packages = publishable();
let work: string;
let app: string;
let tarballs: Map<string, string>;
let member: ChildProcess | undefined;
let memberLog = '';
let memberExit: number | undefined;
let endpoint: string;

beforeAll(async () => {
  work = tempDir('cairn-packaging-');
  expect(work.startsWith(ROOT)).toBe(false);
  const packs = join(work, 'tarballs');
  app = join(work, 'app');
  mkdirSync(app);

  // 1. pnpm pack every publishable package (it rewrites workspace: ranges to versions).
  const filters = packages.flatMap((p) => ['--filter', p.name]);
  expectOk('pnpm pack', await run('npx', ['--yes', 'pnpm@10', '-r', ...filters, 'pack', '--pack-destination', packs], { cwd: ROOT, timeoutMs: 60_000 }));
  tarballs = new Map();
  for (const p of packages) {
    const file = join(packs, `${p.name.replace('@', '').replace('/', '-')}-${JSON.parse(readFileSync(join(p.dir, 'package.json'), 'utf8')).version}.tgz`);
    expect(existsSync(file), `${file} packed`).toBe(true);
    tarballs.set(p.name, file);
  }

  // 2. A fresh project that depends on every tarball, installed by npm from the registry.
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'cairn-packaging-check', version: '1.0.0', private: true }, null, 2)}\n`);
  const npmInstall = [
    'install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', '--fetch-timeout=30000', '--fetch-retries=1',
    ...tarballs.values(), 'zod@^4.1.12', '@types/node@^20.19.0',
  ];
  const install = await run('npm', npmInstall, { cwd: app, timeoutMs: 120_000 }).catch((err: unknown) => ({ code: -1, stdout: '', stderr: String(err) }));
  if (install.code !== 0) {
    throw new Error(
      `npm install of the packed tarballs failed (exit ${install.code}). This test installs their third-party dependencies ` +
        `(@nxtedition/rocksdb, ws, zod, ...) from the npm registry and needs network to it.\n${install.stderr.slice(-3000)}`,
    );
  }
  for (const f of readdirSync(FIXTURES)) copyFileSync(join(FIXTURES, f), join(app, f));

  // 3. A member started with the installed bin, on free ports.
  const clientPort = await freePort();
  const peerPort = await freePort();
  endpoint = `127.0.0.1:${clientPort}`;
  const proc = spawn(
    join(app, 'node_modules/.bin/cairn'),
    ['--name=packaged', `--data-dir=${join(work, 'packaged.cairn')}`, `--listen-client-urls=http://${endpoint}`, `--listen-peer-urls=http://127.0.0.1:${peerPort}`],
    { cwd: app, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  member = proc;
  proc.stdout.on('data', (d: Buffer) => (memberLog += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (memberLog += d.toString()));
  proc.on('exit', (code, signal) => (memberExit = code ?? (signal ? 128 : -1)));
  await waitFor('the installed cairn to become healthy', async () => {
    if (memberExit !== undefined) throw new Error(`cairn exited with ${memberExit}: ${memberLog.slice(-2000)}`);
    return (await fetch(`http://${endpoint}/health`)).ok;
  }, 30_000);
}, 240_000);

afterAll(async () => {
  if (member !== undefined && memberExit === undefined) {
    member.kill('SIGTERM');
    await waitFor('the installed cairn to exit', () => memberExit !== undefined, 15_000).catch(() => member?.kill('SIGKILL'));
  }
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('packaging: the packed packages in a fresh project', () => {
  it('packs every publishable package with real version ranges, both module formats and its bins', () => {
    expect(packages.map((p) => p.name).sort()).toEqual(
      ['@cairn/client', '@cairn/concurrency', '@cairn/config', '@cairn/ctl', '@cairn/daemon', '@cairn/linearizability', '@cairn/protocol', '@cairn/raft', '@cairn/registry', '@cairn/server', '@cairn/util'].sort(),
    );
    for (const p of packages) {
      // What npm installed is what pnpm packed.
      const installed = JSON.parse(readFileSync(join(app, 'node_modules', p.name, 'package.json'), 'utf8')) as PackedManifest;
      for (const [dep, range] of Object.entries(installed.dependencies ?? {})) {
        expect(range, `${p.name} -> ${dep}`).not.toMatch(/^workspace:/);
        if (dep.startsWith('@cairn/')) expect(range, `${p.name} -> ${dep}`).toBe(`^${installed.version}`);
      }
      if (installed.bin === undefined) {
        for (const f of ['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts']) expect(existsSync(join(app, 'node_modules', p.name, 'dist', f)), `${p.name} dist/${f}`).toBe(true);
      }
      expect(existsSync(join(app, 'node_modules', p.name, 'LICENSE')), `${p.name} LICENSE`).toBe(true);
      // Its own README, the page a registry shows for it.
      expect(readFileSync(join(app, 'node_modules', p.name, 'README.md'), 'utf8').split('\n')[0], `${p.name} README.md`).toBe(`# ${p.name}`);
      expect(existsSync(join(app, 'node_modules', p.name, 'dist/tsc')), `${p.name} ships no tsc check output`).toBe(false);
    }
    const lock = readFileSync(join(app, 'package-lock.json'), 'utf8');
    // Every @cairn package came from a tarball, none from the registry.
    expect(lock).not.toMatch(/"resolved": "https?:[^"]*\/@cairn\//);
  });

  it('runs the installed cairnctl through npx, and the member reports itself', async () => {
    const npxCtl = (...args: string[]) => run('npx', ['--no', '--', 'cairnctl', `--endpoints=${endpoint}`, ...args], { cwd: app, timeoutMs: 30_000 });
    expect((await npxCtl('put', 'config/pack-check/greeting', '"hello from the tarballs"')).stdout).toBe('OK\n');
    expect((await npxCtl('put', 'config/pack-check/workers', '3')).stdout).toBe('OK\n');
    const health = expectOk('cairnctl endpoint health', await npxCtl('endpoint', 'health'));
    expect(health.stdout).toContain('is healthy');
    const version = expectOk('npx cairn --version', await run('npx', ['--no', '--', 'cairn', '--version'], { cwd: app, timeoutMs: 30_000 }));
    expect(version.stdout).toMatch(/^cairn Version: \d+\.\d+\.\d+/);
  });

  for (const [script, id, port] of [['consumer.mjs', 'esm-1', 7000], ['consumer.cjs', 'cjs-1', 7001]] as const) {
    it(`${script}: registers and discovers, reads typed config, locks, elects`, async () => {
      const r = expectOk(script, await run(process.execPath, [script, endpoint, id], { cwd: app, timeoutMs: 60_000 }));
      const seen = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
      expect(seen).toEqual({
        instance: { id, port },
        greeting: 'hello from the tarballs',
        workers: 3,
        rivalGotIt: false,
        fencingToken: expect.stringMatching(/^[1-9]\d*$/),
        leader: id,
        error: { isCairnError: true, code: 'lease_not_found' },
      });
    });
  }

  it('type-checks TypeScript users of both module formats against the installed declarations', async () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      `${JSON.stringify({ compilerOptions: { module: 'nodenext', target: 'es2022', strict: true, noEmit: true, types: ['node'] }, files: ['typed.mts', 'typed.cts'] }, null, 2)}\n`,
    );
    // The workspace's compiler; everything it reads comes from the fresh project.
    const tsc = await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--listFiles'], { cwd: app, timeoutMs: 60_000 });
    expectOk('tsc', tsc);
    const files = tsc.stdout.split('\n');
    expect(files.some((f) => f.endsWith('node_modules/@cairn/client/dist/index.d.ts'))).toBe(true);
    expect(files.some((f) => f.endsWith('node_modules/@cairn/client/dist/index.d.cts'))).toBe(true);
    expect(files.filter((f) => f.startsWith(ROOT) && !f.includes('/node_modules/typescript/'))).toEqual([]);
  });

  it('puts the checkout\u2019s cairn and cairnctl on PATH with npm install --global of the app folders', async () => {
    const prefix = join(work, 'global');
    expectOk('npm install --global', await run('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', './apps/cairn', './apps/cairnctl'], { cwd: ROOT, timeoutMs: 60_000 }));
    const ctlVersion = expectOk('cairnctl version', await run(join(prefix, 'bin/cairnctl'), ['version'], { cwd: work, timeoutMs: 30_000 }));
    expect(ctlVersion.stdout).toMatch(/^cairnctl version: \d+\.\d+\.\d+/);
    const daemonVersion = expectOk('cairn --version', await run(join(prefix, 'bin/cairn'), ['--version'], { cwd: work, timeoutMs: 30_000 }));
    expect(daemonVersion.stdout).toMatch(/^cairn Version: /);
  });
});
