#!/usr/bin/env node
// Builds the console into @cairn/server's dist/console/ (index.html, app.js, app.css), the
// folder every member serves at /ui/: one bundle with Preact and the browser build of
// @cairn/client, nothing fetched at run time, so it works offline.
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath, URL } from 'node:url';
import { build } from 'esbuild';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const out = here('../../packages/server/dist/console/');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [here('src/main.tsx')],
  outfile: `${out}app.js`,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  conditions: ['browser'],
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(here('src/index.html'), `${out}index.html`);
copyFileSync(here('src/app.css'), `${out}app.css`);
