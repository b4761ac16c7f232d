// Golden output of the `cairnctl config ...` printers for fixed data.
import { describe, expect, it } from 'vitest';
import { diffLines, printDiff, printFields, printHistory, printRolloutStatus, printRolloutStep } from './config.js';

const rows = [
  { field: 'greeting', value: '"hello"', modRevision: 12n, version: 3n },
  { field: 'limits', value: 'not json', modRevision: 5n, version: 1n },
];

describe('config printers', () => {
  it('get: simple, table, json (text that is not JSON kept under raw)', () => {
    expect(printFields('simple', 'p/', 14n, rows)).toBe('greeting = "hello"\nlimits = not json\n');
    expect(printFields('table', 'p/', 14n, rows)).toBe(
      '+----------+----------+--------------+---------+\n' +
        '|  FIELD   |  VALUE   | MOD REVISION | VERSION |\n' +
        '+----------+----------+--------------+---------+\n' +
        '| greeting |  "hello" |           12 |       3 |\n' +
        '|   limits | not json |            5 |       1 |\n' +
        '+----------+----------+--------------+---------+\n',
    );
    expect(printFields('json', 'p/', 14n, rows)).toBe(
      '{"prefix":"p/","revision":14,"fields":[{"field":"greeting","value":"hello","mod_revision":12,"version":3},{"field":"limits","raw":"not json","mod_revision":5,"version":1}]}\n',
    );
    expect(printFields('simple', 'p/', 14n, [])).toBe('');
  });

  it('history', () => {
    expect(printHistory('simple', 'greeting', [{ revision: 12n, version: 2n, value: '"hi"' }, { revision: 3n, version: 1n, value: '"hello"' }])).toBe('12 "hi"\n3 "hello"\n');
  });

  it('diff: a line diff of the pretty-printed JSON; absent sides marked', () => {
    expect(diffLines(['a', 'b', 'c'], ['a', 'x', 'c', 'd'])).toEqual([' a', '-b', '+x', ' c', '+d']);
    expect(printDiff('simple', 'limits', { revision: 3n, value: '{"rps":1,"burst":2}' }, { revision: 9n, value: '{"rps":1,"burst":3,"x":true}' })).toBe(
      '--- limits@3\n+++ limits@9\n {\n   "rps": 1,\n-  "burst": 2\n+  "burst": 3,\n+  "x": true\n }\n',
    );
    expect(printDiff('simple', 'g', { revision: 3n, value: '"a"' }, { revision: 4n, value: undefined })).toBe('--- g@3\n+++ g@4 (absent)\n-"a"\n');
    expect(printDiff('simple', 'g', { revision: 3n, value: '"a"' }, { revision: 4n, value: '"a"' })).toBe('--- g@3\n+++ g@4\n "a"\n');
    expect(printDiff('json', 'g', { revision: 3n, value: '"a"' }, { revision: 4n, value: '"a"' })).toBe(
      '{"field":"g","from":{"revision":3,"exists":true,"value":"a"},"to":{"revision":4,"exists":true,"value":"a"},"changed":false}\n',
    );
  });

  it('rollout steps and status; a multi-line error is kept on one line', () => {
    expect(printRolloutStep('simple', 'started', 7n, 7n, { target: 'percent 20', values: { greeting: 'v2', rps: 5 } })).toBe('rollout 7 started: greeting = "v2", rps = 5 on percent 20\n');
    expect(printRolloutStep('simple', 'aborted', 7n, 9n)).toBe('rollout 7 aborted at revision 9\n');
    const view = { id: 7n, step: 'started', revision: 7n, target: 'percent 20', values: { rps: -1 } };
    const reports = [
      { id: 'a', labels: {}, running: 'base', rollout: null, revision: '7', error: 'config p/ fails its schema: ✖ Too small\n  → at rps' },
      { id: 'b', labels: { zone: 'x' }, running: 'candidate', rollout: '7', revision: '7' },
    ];
    expect(printRolloutStatus('simple', view, reports)).toBe(
      'rollout 7 started: rps = -1 on percent 20\n1 of 2 instances run the candidate\na: base, revision 7 (config p/ fails its schema: ✖ Too small → at rps)\nb: candidate of rollout 7, revision 7\n',
    );
    expect(printRolloutStatus('simple', undefined, [])).toBe('no rollout\n0 of 0 instances run the candidate\n');
  });
});
