import { runCli } from './cli.js';

const code = await runCli(process.argv.slice(2), {
  out: (s) => {
    if (s !== '') process.stdout.write(s);
  },
  err: (s) => {
    if (s !== '') process.stderr.write(s);
  },
});
// Let pending writes reach a pipe before leaving.
process.stdout.write('', () => process.exit(code));
