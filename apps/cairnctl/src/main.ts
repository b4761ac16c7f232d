import { runCli } from './cli.js';
import { inputFrom } from './lines.js';
import { readHiddenLine } from './password.js';

const code = await runCli(process.argv.slice(2), {
  out: (s) => {
    if (s !== '') process.stdout.write(s);
  },
  err: (s) => {
    if (s !== '') process.stderr.write(s);
  },
  stdin: inputFrom(process.stdin),
  env: process.env,
  ...(process.stdin.isTTY ? { readPassword: readHiddenLine } : {}),
  onInterrupt: (handler) => {
    // SIGTERM too, so that a supervisor stopping `lock` or `elect` releases what they hold.
    let once = false;
    const first = (): void => {
      if (once) return;
      once = true;
      // A second Ctrl-C leaves at once.
      process.once('SIGINT', () => process.exit(130));
      handler();
    };
    process.once('SIGINT', first);
    process.once('SIGTERM', first);
  },
});
// Let pending writes reach a pipe before leaving; nothing else should keep the process alive.
process.stdout.write('', () => process.exit(code));
