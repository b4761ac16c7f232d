// The golden file format (docs/raft.md, "Golden interaction tests"):
//
//   # comment lines, outside blocks
//
//   > command arg key=value
//   expected output line
//   expected output line
//
// A block is a `> ` line and the output lines after it, up to a blank line, a comment or the
// next command. Output lines never start with `#` or `>` and are never blank.
import type { Command } from './env.js';

export type Part =
  | { readonly kind: 'text'; readonly line: string }
  | { readonly kind: 'block'; readonly line: number; readonly command: string; readonly expected: readonly string[] };

export function parseScript(text: string): Part[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const parts: Part[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsWith('>')) {
      parts.push({ kind: 'text', line });
      continue;
    }
    const expected: string[] = [];
    const start = i;
    while (i + 1 < lines.length && lines[i + 1] !== '' && !lines[i + 1]!.startsWith('#') && !lines[i + 1]!.startsWith('>')) expected.push(lines[++i]!);
    parts.push({ kind: 'block', line: start + 1, command: line.slice(1).trim(), expected });
  }
  return parts;
}

/** `name arg key=value` -> name, positional args (words without `=`), and options. */
export function parseCommand(line: string): Command {
  const words = line.split(/\s+/).filter((w) => w !== '');
  const name = words.shift();
  if (name === undefined) throw new Error('empty command');
  const args: string[] = [];
  const opts = new Map<string, string>();
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq > 0) opts.set(w.slice(0, eq), w.slice(eq + 1));
    else args.push(w);
  }
  return { name, args, opts };
}

/** The file with every block's output replaced by `actual` (same order as the blocks). */
export function renderScript(parts: readonly Part[], actual: readonly (readonly string[])[]): string {
  const out: string[] = [];
  let b = 0;
  for (const p of parts) {
    if (p.kind === 'text') {
      out.push(p.line);
      continue;
    }
    out.push(`> ${p.command}`, ...actual[b++]!);
  }
  return `${out.join('\n')}\n`;
}
