/**
 * The code blocks of the docs and READMEs: a block marked `js` is plain JavaScript and must
 * parse as an ES module on this Node (`node --check`), and no block may use `using`
 * declarations, which Node 20 does not have (a page shows try/finally and mentions
 * `await using` in prose, as TypeScript).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './support/process.js';

const run = promisify(execFile);

interface Block {
  readonly where: string;
  readonly lang: string;
  readonly code: string;
}

function markdownFiles(): string[] {
  const files = ['README.md'];
  for (const f of readdirSync(join(ROOT, 'docs'))) if (f.endsWith('.md')) files.push(`docs/${f}`);
  for (const dir of ['packages', 'apps', 'examples']) {
    for (const p of readdirSync(join(ROOT, dir))) if (existsSync(join(ROOT, dir, p, 'README.md'))) files.push(`${dir}/${p}/README.md`);
  }
  return files;
}

function blocks(): Block[] {
  const out: Block[] = [];
  for (const file of markdownFiles()) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/^```([\w-]*)\n([\s\S]*?)^```/gm)) {
      const line = text.slice(0, m.index).split('\n').length;
      out.push({ where: `${file}:${line}`, lang: m[1]!, code: m[2]! });
    }
  }
  return out;
}

const all = blocks();
const js = all.filter((b) => ['js', 'javascript', 'mjs'].includes(b.lang));
const scripts = all.filter((b) => ['js', 'javascript', 'mjs', 'ts', 'typescript'].includes(b.lang));
const dir = mkdtempSync(join(tmpdir(), 'cairn-snippets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('docs code blocks', () => {
  it('finds the blocks (the docs have plenty of plain JavaScript)', () => {
    expect(js.length).toBeGreaterThanOrEqual(20);
  });

  it('uses no `using` declarations, which plain JavaScript on Node 20 cannot run', () => {
    const offenders = scripts.filter((b) => /^\s*(?:await\s+)?using\s+[A-Za-z_$][\w$]*\s*=/m.test(b.code)).map((b) => b.where);
    expect(offenders).toEqual([]);
  });

  it('has every `js` block parse as an ES module on this Node', async () => {
    const failures: string[] = [];
    for (const [i, b] of js.entries()) {
      const file = join(dir, `block${i}.mjs`);
      writeFileSync(file, b.code);
      try {
        await run(process.execPath, ['--check', file], { timeout: 10_000 });
      } catch (err) {
        const stderr = String((err as { stderr?: unknown }).stderr ?? err);
        failures.push(`${b.where}: ${stderr.split('\n').find((l) => /Error/.test(l)) ?? stderr}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
