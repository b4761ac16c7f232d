import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { plugin as importCycles } from './scripts/import-cycles.mjs';

const banned = {
  'no-restricted-globals': ['error',
    { name: 'setTimeout', message: 'Inject a Clock; this code must be deterministic.' },
    { name: 'setInterval', message: 'Inject a Clock; this code must be deterministic.' },
    { name: 'process', message: 'No process access in deterministic code.' }],
  'no-restricted-properties': ['error',
    { object: 'Date', property: 'now', message: 'Inject a Clock.' },
    { object: 'Math', property: 'random', message: 'Inject an Rng.' }],
  'no-restricted-imports': ['error', { patterns: [{ group: ['node:*'], message: 'No Node APIs in deterministic code.' }] }],
};

/** Time only through the injected Clock and Scheduler (clock.ts binds them to Node's). */
const injectedTime = {
  'no-restricted-globals': ['error',
    ...['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate'].map((name) => ({
      name,
      message: 'Use the injected Scheduler (clock.ts) so the member can run on simulated time.',
    })),
    { name: 'performance', message: 'Use the injected Clock (clock.monotonic()).' }],
  'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'Use the injected Clock (clock.now()).' }],
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/dist-sim/**', '**/node_modules/**', '**/bin/**', 'eslint.config.js', 'vitest.config.ts', 'scripts/**', '.ci/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: {
        project: ['./packages/*/tsconfig.json', './apps/*/tsconfig.json', './examples/*/tsconfig.json', './tsconfig.tests.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // No import cycles anywhere, type-only imports included (STYLE.md, convention 4).
    files: ['**/*.ts', '**/*.tsx'],
    plugins: { cairn: importCycles },
    rules: { 'cairn/no-cycle': ['error', { root: import.meta.dirname }] },
  },
  {
    // The Raft core, the applier, MVCC and leases must give the same result for the same input.
    // The auth apply part too: store.ts, ops.ts and ranges.ts (password.ts, token.ts and
    // authorizer.ts are the API layer's: salts, secrets and the clock live there).
    files: [
      'packages/raft/src/**/*.ts',
      'packages/server/src/apply/**/*.ts',
      'packages/server/src/mvcc/**/*.ts',
      'packages/server/src/lease/**/*.ts',
      'packages/server/src/auth/store.ts',
      'packages/server/src/auth/ops.ts',
      'packages/server/src/auth/ranges.ts',
    ],
    ignores: ['**/*.test.ts'],
    rules: banned,
  },
  {
    // A whole member runs on simulated time in the simulator: the member, its raft driver and
    // reads, watches and the integrity checks take time only from the injected Clock and
    // Scheduler. The process edges (api/, http/, transport/, server.ts: sockets and their
    // timeouts) are real I/O the simulator replaces, and may use Node's timers.
    files: [
      'packages/server/src/member.ts',
      'packages/server/src/member/**/*.ts',
      'packages/server/src/raftNode/**/*.ts',
      'packages/server/src/watch/**/*.ts',
      'packages/server/src/integrity/**/*.ts',
    ],
    ignores: ['**/*.test.ts'],
    rules: injectedTime,
  },
);
