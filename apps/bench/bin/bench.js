#!/usr/bin/env node
import('../dist/main.js').catch((err) => {
  process.stderr.write(`bench: cannot start: ${err?.stack ?? err}\n`);
  process.exit(1);
});
