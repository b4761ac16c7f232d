#!/usr/bin/env node
// Finds import cycles among the repository's TypeScript sources.
//
// Every module-to-module dependency counts, type-only ones included: `import type`, `export
// ... from`, `import('x')` (as a call or in a type) and `import x = require('x')`. A cycle made
// only of types is still two modules that each need the other (STYLE.md, convention 4).
//
// Resolution follows the repo's conventions: relative specifiers name the emitted `.js` file
// of a `.ts` source (`./log.js` -> `./log.ts`); `@cairn/<pkg>` names a workspace package and
// resolves to its `src/index.ts`. Node built-ins and npm packages are outside the graph.
//
// Used two ways:
// - `node scripts/import-cycles.mjs [root]` lists every cycle and exits 1 if there is one;
// - eslint.config.js registers `rules['no-cycle']` from `plugin` below, so `eslint .`
//   reports each import that closes a cycle, at that import.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Directory names never searched for sources. */
const SKIP_DIRS = new Set(['node_modules', 'dist', 'dist-sim', 'coverage', '.git']);

function isSource(name) {
  return (name.endsWith('.ts') || name.endsWith('.mts') || name.endsWith('.tsx')) && !name.endsWith('.d.ts');
}

/** Every TypeScript source under `root` (absolute paths, sorted). */
export function listSources(root) {
  const out = [];
  const walk = (dir) => {
    for (const ent of readdirSync(dir, { withFileTypes: true })) {
      if (ent.name.startsWith('.') || SKIP_DIRS.has(ent.name)) continue;
      const p = path.join(dir, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.isFile() && isSource(ent.name)) out.push(p);
    }
  };
  walk(root);
  return out.sort();
}

/** Workspace package name -> its entry source, from every package.json below root. */
function workspacePackages(root) {
  const out = new Map();
  const walk = (dir, depth) => {
    for (const ent of readdirSync(dir, { withFileTypes: true })) {
      if (ent.name.startsWith('.') || SKIP_DIRS.has(ent.name)) continue;
      const p = path.join(dir, ent.name);
      if (ent.isDirectory() && depth < 3) walk(p, depth + 1);
      else if (ent.name === 'package.json') {
        let name;
        try {
          name = JSON.parse(readFileSync(p, 'utf8')).name;
        } catch {
          continue;
        }
        const entry = path.join(dir, 'src', 'index.ts');
        if (typeof name === 'string' && exists(entry)) out.set(name, entry);
      }
    }
  };
  walk(root, 0);
  return out;
}

function exists(p) {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The module specifiers a source file depends on, each with its 1-based line. */
export function specifiersOf(file, text) {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const out = [];
  const add = (lit) => {
    if (lit !== undefined && ts.isStringLiteralLike(lit)) out.push({ spec: lit.text, line: sf.getLineAndCharacterOfPosition(lit.getStart(sf)).line + 1 });
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The source file `spec` (imported from `from`) names, or undefined when it is outside the graph. */
function resolve(spec, from, packages) {
  if (spec.startsWith('.') || spec.startsWith('/')) {
    const base = path.resolve(path.dirname(from), spec);
    const candidates = [];
    if (/\.(c|m)?js$/.test(base)) {
      const stem = base.replace(/\.(c|m)?js$/, '');
      const ext = base.endsWith('.mjs') ? '.mts' : base.endsWith('.cjs') ? '.cts' : '.ts';
      candidates.push(stem + ext, stem + '.tsx');
    }
    candidates.push(base, base + '.ts', base + '.tsx', path.join(base, 'index.ts'));
    return candidates.find((c) => isSource(c) && exists(c));
  }
  const m = /^(@[^/]+\/[^/]+|[^@/][^/]*)(\/.*)?$/.exec(spec);
  if (m === null) return undefined;
  const entry = packages.get(m[1]);
  if (entry === undefined) return undefined;
  if (m[2] === undefined) return entry;
  // A deep import into a workspace package: map it onto that package's sources.
  return resolve(`.${m[2].replace(/^\/dist\//, '/src/')}`, path.join(path.dirname(entry), '..', 'x.ts'), packages);
}

/** The resolved dependencies of one file, given its text. */
function edgesOf(file, text, packages) {
  const edges = [];
  for (const { spec, line } of specifiersOf(file, text)) {
    const to = resolve(spec, file, packages);
    if (to !== undefined) edges.push({ to, line });
  }
  return edges;
}

/**
 * The import graph under `root`: file -> [{ to, line }] (absolute paths), with only edges
 * between files of the graph.
 */
export function importGraph(root) {
  const packages = workspacePackages(root);
  const graph = new Map();
  for (const f of listSources(root)) graph.set(f, edgesOf(f, readFileSync(f, 'utf8'), packages));
  return graph;
}

/**
 * Strongly connected components that contain a cycle (more than one file, or a file that
 * imports itself), each sorted, in a stable order. Tarjan's algorithm, iterative.
 */
export function cyclicComponents(graph) {
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const out = [];
  for (const start of [...graph.keys()].sort()) {
    if (index.has(start)) continue;
    const work = [{ v: start, i: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const top = work[work.length - 1];
      const edges = graph.get(top.v) ?? [];
      if (top.i < edges.length) {
        const w = edges[top.i++].to;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) {
          low.set(top.v, Math.min(low.get(top.v), index.get(w)));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].v;
        low.set(parent, Math.min(low.get(parent), low.get(top.v)));
      }
      if (low.get(top.v) !== index.get(top.v)) continue;
      const comp = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        comp.push(w);
      } while (w !== top.v);
      const selfLoop = (graph.get(top.v) ?? []).some((e) => e.to === top.v);
      if (comp.length > 1 || selfLoop) out.push(comp.sort());
    }
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/**
 * A shortest import path [src, ..., dst] that stays inside `members` (breadth-first), or
 * undefined when there is none. [src] when src is dst.
 */
export function shortestPath(graph, members, src, dst) {
  if (src === dst) return [src];
  const inside = new Set(members);
  const prev = new Map([[src, src]]);
  const queue = [src];
  for (let q = 0; q < queue.length; q++) {
    const v = queue[q];
    for (const { to } of graph.get(v) ?? []) {
      if (!inside.has(to) || prev.has(to)) continue;
      prev.set(to, v);
      if (to === dst) {
        const chain = [dst];
        for (let x = v; x !== src; x = prev.get(x)) chain.push(x);
        chain.push(src);
        return chain.reverse();
      }
      queue.push(to);
    }
  }
  return undefined;
}

/** A shortest cycle [from, ..., from] through `from` inside its component `members`. */
export function shortestCycle(graph, members, from) {
  let best;
  for (const { to } of graph.get(from) ?? []) {
    const back = shortestPath(graph, members, to, from);
    if (back !== undefined && (best === undefined || back.length + 1 < best.length)) best = [from, ...back];
  }
  return best ?? [from];
}

/** The cycles under `root`, one entry per cyclic component: its files and a shortest cycle. */
export function findCycles(root) {
  const graph = importGraph(root);
  return cyclicComponents(graph).map((files) => ({ files, cycle: shortestCycle(graph, files, files[0]) }));
}

const rel = (root, f) => path.relative(root, f).split(path.sep).join('/');

/**
 * The lint rule's graph, built from disk once per process and then kept current file by file:
 * each file linted replaces its own edges with those of the text being linted (so an editor
 * sees its unsaved change), and the components are recomputed when that changed anything.
 * A file created or deleted on disk joins or leaves the graph when ESLint restarts.
 */
let lintState;
function lintCycles(root, file, text) {
  if (lintState === undefined || lintState.root !== root) {
    const packages = workspacePackages(root);
    const graph = importGraph(root);
    lintState = { root, packages, graph, compOf: componentsByFile(graph) };
  }
  const { graph, packages } = lintState;
  const edges = edgesOf(file, text, packages);
  const old = graph.get(file);
  const key = (es) => es.map((e) => `${e.to}:${e.line}`).join('\n');
  if (old === undefined || key(old) !== key(edges)) {
    graph.set(file, edges);
    lintState.compOf = componentsByFile(graph);
  }
  return lintState;
}

function componentsByFile(graph) {
  const compOf = new Map();
  for (const comp of cyclicComponents(graph)) for (const f of comp) compOf.set(f, comp);
  return compOf;
}

/**
 * ESLint plugin with one rule, `no-cycle`: reports every import of a file that leads back to
 * that file, with the shortest such cycle. Option `{ root }`: the directory whose sources form
 * the graph (default: ESLint's cwd).
 */
export const plugin = {
  meta: { name: 'cairn-import-cycles' },
  rules: {
    'no-cycle': {
      meta: {
        type: 'problem',
        docs: { description: 'Forbid import cycles (type-only imports included) between the repository\'s sources.' },
        schema: [{ type: 'object', properties: { root: { type: 'string' } }, additionalProperties: false }],
        messages: { cycle: 'Import cycle: {{cycle}}. Break it with an interface or a callback owned by the lower module (STYLE.md, 4).' },
      },
      create(context) {
        const root = path.resolve(context.options[0]?.root ?? context.cwd);
        const file = path.resolve(context.filename);
        return {
          Program(program) {
            if (!isSource(file)) return;
            const { graph, compOf } = lintCycles(root, file, context.sourceCode.text);
            const comp = compOf.get(file);
            if (comp === undefined) return;
            const reported = new Set();
            for (const { to, line } of graph.get(file) ?? []) {
              if (!comp.includes(to) || reported.has(`${to}:${line}`)) continue;
              reported.add(`${to}:${line}`);
              const back = shortestPath(graph, comp, to, file) ?? [to, file];
              const cycle = [file, ...back].map((f) => rel(root, f)).join(' -> ');
              const loc = line <= program.loc.end.line ? { start: { line, column: 0 }, end: { line, column: 0 } } : program.loc;
              context.report({ loc, messageId: 'cycle', data: { cycle } });
            }
          },
        };
      },
    },
  },
};

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
  const cycles = findCycles(root);
  for (const { files, cycle } of cycles) {
    console.log(`import cycle among ${files.length === 1 ? '1 file' : `${files.length} files`}: ${cycle.map((f) => rel(root, f)).join(' -> ')}`);
    if (files.length > cycle.length - 1) for (const f of files) console.log(`  ${rel(root, f)}`);
  }
  console.log(cycles.length === 0 ? 'no import cycles' : `${cycles.length} import cycle(s)`);
  process.exit(cycles.length === 0 ? 0 : 1);
}
