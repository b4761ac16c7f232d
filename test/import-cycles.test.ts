/**
 * The import-cycle check (scripts/import-cycles.mjs), run as `pnpm lint` runs it: as a script
 * and as the ESLint rule `cairn/no-cycle`, on small trees planted in a temporary directory.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from './support/process.js';

const SCRIPT = join(ROOT, 'scripts/import-cycles.mjs');
const dirs: string[] = [];

/** A temporary tree holding `files` (path -> text). */
function plant(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-cycles-'));
  dirs.push(dir);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return dir;
}

function check(dir: string): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [SCRIPT, dir], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('import cycle check', () => {
  it('passes a tree without cycles, and ignores node_modules, dist and imports of npm packages', () => {
    const dir = plant({
      'src/a.ts': "import { b } from './b.js';\nimport { x } from 'some-npm-package';\nexport const a = b + x;\n",
      'src/b.ts': "import { readFileSync } from 'node:fs';\nexport const b = readFileSync.length;\n",
      // Compiled output and dependencies may import anything: they are not sources.
      'dist/b.ts': "import { a } from '../src/a.js';\nexport const b = a;\n",
      'node_modules/pkg/index.ts': "import './index.js';\n",
    });
    const r = check(dir);
    expect(r.out).toContain('no import cycles');
    expect(r.code).toBe(0);
  });

  it('finds a cycle made only of type imports, and names its files in import order', () => {
    const dir = plant({
      'src/roles.ts': "import type { Core } from './core.js';\nexport const step = (c: Core): number => c.n;\n",
      'src/core.ts': "import { step } from './roles.js';\nexport interface Core { n: number }\nexport const run = step;\n",
      'src/ok.ts': "import { run } from './core.js';\nexport const ok = run;\n",
    });
    const r = check(dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain('import cycle among 2 files: src/core.ts -> src/roles.ts -> src/core.ts');
    expect(r.out).not.toContain('src/ok.ts ->');
    expect(r.out).toContain('1 import cycle(s)');
  });

  it('follows re-exports, dynamic imports, import types and workspace packages (through their src/index.ts)', () => {
    const dir = plant({
      'packages/low/package.json': JSON.stringify({ name: '@t/low' }),
      'packages/low/src/index.ts': "export * from './impl.js';\n",
      // The lower package reaching back up closes a cycle across two packages.
      'packages/low/src/impl.ts': "export const impl = async (): Promise<unknown> => import('@t/high');\n",
      'packages/high/package.json': JSON.stringify({ name: '@t/high' }),
      'packages/high/src/index.ts': "import { impl } from '@t/low';\nexport const high = impl;\n",
      // A separate cycle through `import('...')` in a type position.
      'apps/x/src/one.ts': "export type Two = import('./two.js').T;\nexport interface T { n: number }\n",
      'apps/x/src/two.ts': "import type { T as One } from './one.js';\nexport type T = One;\n",
    });
    const r = check(dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain('apps/x/src/one.ts -> apps/x/src/two.ts -> apps/x/src/one.ts');
    expect(r.out).toContain('import cycle among 3 files: packages/high/src/index.ts -> packages/low/src/index.ts -> packages/low/src/impl.ts -> packages/high/src/index.ts');
    expect(r.out).toContain('2 import cycle(s)');
  });

  it('the ESLint rule reports each import that closes a cycle, at that import', () => {
    const dir = plant({
      'src/a.ts': "// a\nimport { b } from './b.js';\nexport const a = (): number => b;\n",
      'src/b.ts': "import { c } from './c.js';\nexport const b = c;\n",
      'src/c.ts': "import type {} from './d.js';\nimport { a } from './a.js';\nexport const c = a.length;\n",
      'src/d.ts': 'export {};\n',
    });
    const req = createRequire(join(ROOT, 'package.json'));
    const parser = pathToFileURL(req.resolve('@typescript-eslint/parser', { paths: [req.resolve('typescript-eslint')] })).href;
    writeFileSync(
      join(dir, 'eslint.config.mjs'),
      [
        `import * as parser from ${JSON.stringify(parser)};`,
        `import { plugin } from ${JSON.stringify(pathToFileURL(SCRIPT).href)};`,
        `export default [{ files: ['**/*.ts'], languageOptions: { parser }, plugins: { cairn: plugin }, rules: { 'cairn/no-cycle': ['error', { root: ${JSON.stringify(dir)} }] } }];`,
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/eslint/bin/eslint.js'), '--format', 'json', '.'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    const results = JSON.parse(r.stdout) as { filePath: string; messages: { ruleId: string; line: number; message: string }[] }[];
    const found = results.flatMap((f) => f.messages.map((m) => ({ file: f.filePath.slice(dir.length + 1), line: m.line, rule: m.ruleId, message: m.message })));
    expect(found.map((m) => [m.file, m.line, m.rule])).toEqual([
      ['src/a.ts', 2, 'cairn/no-cycle'],
      ['src/b.ts', 1, 'cairn/no-cycle'],
      ['src/c.ts', 2, 'cairn/no-cycle'],
    ]);
    expect(found[0]!.message).toContain('Import cycle: src/a.ts -> src/b.ts -> src/c.ts -> src/a.ts');
    expect(found[2]!.message).toContain('Import cycle: src/c.ts -> src/a.ts -> src/b.ts -> src/c.ts');
  });
});
