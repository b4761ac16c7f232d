// Golden interaction tests: each testdata/*.txt file is a script of commands, each followed by
// the output the Raft core must produce (see docs/raft.md, "Golden interaction tests"). A
// mismatch fails with a diff of the whole file. `REWRITE=1` rewrites the files with the actual
// output instead: for deliberate behaviour changes, and then review the diff before committing.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InteractionEnv } from './interaction/env.js';
import { parseCommand, parseScript, renderScript } from './interaction/script.js';

const DIR = fileURLToPath(new URL('./testdata/', import.meta.url));
const REWRITE = process.env.REWRITE === '1';
const files = readdirSync(DIR).filter((f) => f.endsWith('.txt')).sort();

/** Runs every block of a script against a fresh environment; returns each block's output. */
function runScript(file: string, text: string): string[][] {
  const env = new InteractionEnv();
  const outputs: string[][] = [];
  for (const p of parseScript(text)) {
    if (p.kind !== 'block') continue;
    try {
      outputs.push(env.run(parseCommand(p.command)));
    } catch (e) {
      throw new Error(`${file}:${p.line}: > ${p.command}: ${(e as Error).message}`, { cause: e });
    }
  }
  return outputs;
}

describe('golden interactions', () => {
  it('has golden files, each opening with a comment saying what it demonstrates', () => {
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(readFileSync(join(DIR, f), 'utf8').startsWith('# '), f).toBe(true);
  });

  it('a golden file whose expected output is wrong fails', () => {
    const text = readFileSync(join(DIR, 'election.txt'), 'utf8');
    const tampered = text.replace('commit=2 applied=2 last=2', 'commit=1 applied=1 last=2');
    expect(tampered).not.toBe(text);
    expect(renderScript(parseScript(tampered), runScript('election.txt', tampered))).toBe(text);
  });

  for (const f of files) {
    it(f, () => {
      const path = join(DIR, f);
      const text = readFileSync(path, 'utf8');
      const actual = renderScript(parseScript(text), runScript(f, text));
      if (REWRITE) {
        if (actual !== text) writeFileSync(path, actual);
        return;
      }
      expect(actual, `${f} differs from what raft produced (REWRITE=1 to accept, then review the diff)`).toBe(text);
    });
  }
});
