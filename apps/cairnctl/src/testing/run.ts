import { runCli } from '../cli.js';
import { inputFrom } from '../lines.js';

/** Test support (not part of the CLI): one cairnctl run in-process, with its output as strings. */
export async function runForTest(
  argv: readonly string[],
  stdin = '',
  env: Readonly<Record<string, string>> = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  async function* input(): AsyncIterable<string> {
    if (stdin !== '') yield stdin;
  }
  const code = await runCli(argv, {
    out: (s) => (out += s),
    err: (s) => (err += s),
    stdin: inputFrom(input()),
    env,
  });
  return { code, out, err };
}
