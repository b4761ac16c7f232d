// dist/: ESM and CommonJS bundles with their type declarations (see scripts/tsup-library.mjs),
// and dist/index.browser.js, the `browser` export condition: the same sources with
// src/platform.ts replaced by src/platform.browser.ts (the global WebSocket, no node: module).
import { fileURLToPath, URL } from 'node:url';
import { defineConfig } from 'tsup';
import { libraryConfig } from '../../scripts/tsup-library.mjs';

const browserPlatform = fileURLToPath(new URL('./src/platform.browser.ts', import.meta.url));

/** esbuild plugin: every import of ./platform.js resolves to the browser's module. */
const browserPlatformPlugin = {
  name: 'cairn-browser-platform',
  setup(build) {
    build.onResolve({ filter: /^\.\/platform\.js$/ }, () => ({ path: browserPlatform }));
  },
};

export default [
  libraryConfig(),
  defineConfig({
    entry: { 'index.browser': 'src/index.ts' },
    format: ['esm'],
    outDir: 'dist',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    splitting: false,
    clean: false,
    dts: false,
    external: ['@cairn/protocol'],
    esbuildPlugins: [browserPlatformPlugin],
  }),
];
