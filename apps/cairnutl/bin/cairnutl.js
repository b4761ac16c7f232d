#!/usr/bin/env node
// The offline tool's entry point; the code lives in dist/ (run `pnpm build` first).
import('../dist/main.js').catch((err) => {
  process.stderr.write(`cairnutl: cannot start: ${err?.message ?? err}\n(has the project been built? run: pnpm build)\n`);
  process.exit(1);
});
