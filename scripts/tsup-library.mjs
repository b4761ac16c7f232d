// The one tsup configuration every library package uses (packages/*/tsup.config.mjs):
// src/index.ts bundled to dist/index.js (ESM) and dist/index.cjs (CommonJS), each with its
// type declarations (index.d.ts, index.d.cts) and a source map. Dependencies stay external.
// Type checking of the whole tree is tsc -b's job (it writes only into dist/tsc/, which
// tsup leaves alone: `clean` is off because it would delete tsc's declarations too).
import { defineConfig } from 'tsup';

export function libraryConfig() {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    outDir: 'dist',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    // `import.meta.url` (used with createRequire) gets a CommonJS equivalent in index.cjs.
    shims: true,
    splitting: false,
    clean: false,
    dts: {
      // The package tsconfigs are composite projects for tsc -b; the declaration bundler
      // compiles one package on its own.
      compilerOptions: { composite: false, incremental: false, declarationMap: false },
    },
  });
}
