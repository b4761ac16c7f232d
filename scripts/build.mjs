#!/usr/bin/env node
// `pnpm build`: first each library package's dist/ with tsup (ESM + CommonJS + type
// declarations, in dependency order, since a package's declarations are built against those
// of the packages it imports), then `tsc -b` over the whole tree: the type check, and the
// apps' and examples' dist/ that their bin/ scripts run.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const OUTPUTS = ['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts'];

/** The library packages (those with a tsup config), dependencies before their dependents. */
function librariesInOrder() {
  const dir = join(root, 'packages');
  const libs = new Map();
  for (const name of readdirSync(dir).sort()) {
    const pkgDir = join(dir, name);
    if (!existsSync(join(pkgDir, 'tsup.config.mjs'))) continue;
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    // A package with a `browser` export condition (the client) also builds dist/index.browser.js.
    const outputs = JSON.stringify(pkg.exports ?? {}).includes('index.browser.js') ? [...OUTPUTS, 'index.browser.js'] : OUTPUTS;
    libs.set(pkg.name, { name: pkg.name, dir: pkgDir, outputs, deps: Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }) });
  }
  const order = [];
  const state = new Map(); // name -> 'visiting' | 'done'
  const visit = (name, path) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new Error(`dependency cycle: ${[...path, name].join(' -> ')}`);
    state.set(name, 'visiting');
    for (const dep of libs.get(name).deps) if (libs.has(dep)) visit(dep, [...path, name]);
    state.set(name, 'done');
    order.push(libs.get(name));
  };
  for (const name of libs.keys()) visit(name, []);
  return order;
}

/** Newest modification time (ms) of a file or of any file under a folder. */
function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = 0;
  for (const entry of readdirSync(path)) max = Math.max(max, newest(join(path, entry)));
  return max;
}

/** True when every output of a library is newer than its sources, its config and its dependencies' declarations. */
function upToDate(lib, libsByName) {
  const outputs = lib.outputs.map((f) => join(lib.dir, 'dist', f));
  if (!outputs.every((f) => existsSync(f))) return false;
  const inputs = [join(lib.dir, 'src'), join(lib.dir, 'package.json'), join(lib.dir, 'tsup.config.mjs'), join(root, 'scripts/tsup-library.mjs')];
  for (const dep of lib.deps) if (libsByName.has(dep)) inputs.push(join(libsByName.get(dep).dir, 'dist/index.d.ts'));
  const oldestOutput = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  return inputs.every((f) => existsSync(f) && newest(f) < oldestOutput);
}

function run(label, command, args, cwd) {
  const started = Date.now();
  const res = spawnSync(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
  if (res.status !== 0) {
    process.stderr.write(`build: ${label} failed${res.error ? `: ${res.error.message}` : ''}\n`);
    process.exit(res.status ?? 1);
  }
  process.stdout.write(`build: ${label} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}

const tsup = join(root, 'node_modules/tsup/dist/cli-default.js');
const libs = librariesInOrder();
const libsByName = new Map(libs.map((lib) => [lib.name, lib]));
for (const lib of libs) {
  if (upToDate(lib, libsByName)) process.stdout.write(`build: ${lib.name} is up to date\n`);
  else run(`${lib.name} (tsup)`, process.execPath, [tsup, '--silent'], lib.dir);
}
// The web console (apps/console) into @cairn/server's dist/console/, after the client's
// browser build it bundles; every member serves it at /ui/.
run('@cairn/console (esbuild)', process.execPath, [join(root, 'apps/console/build.mjs')], root);
run('tsc -b', process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'tsconfig.build.json'], root);
