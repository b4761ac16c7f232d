/**
 * `cairnctl config ...` against a three-member cluster, checked as the user sees it: the exact
 * output of each command (simple, table, json), exit codes and error lines, with two real
 * config-client instances for the rollout steps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from './support/cluster.js';
import { ConfigInstance } from './support/configInstance.js';
import { ctl, waitFor, type CtlResult } from './support/process.js';

let cluster: TestCluster;
let eps: string;
const instances: ConfigInstance[] = [];
beforeAll(async () => {
  cluster = await TestCluster.create({ size: 3, token: 'config-cli' });
  await cluster.start();
  eps = `--endpoints=${cluster.endpoints.join(',')}`;
});
afterAll(async () => {
  await Promise.all(instances.map((i) => i.kill()));
  await cluster?.cleanup();
});

const ok = (stdout: string): CtlResult => ({ code: 0, stdout, stderr: '' });
const fails = (code: number, message: string): CtlResult => ({ code, stdout: '', stderr: `Error: ${message}\n` });
/** The store's revision now; nothing else writes, so each write below adds one. */
async function revisionNow(): Promise<bigint> {
  return (await cluster.client().kv.range({ key: 'none' })).header.revision;
}
const config = (...args: string[]): Promise<CtlResult> => ctl([eps, 'config', ...args]);

describe('cairnctl config on three members', () => {
  it('set, get (simple, table, json), history, diff, rollback', async () => {
    const r = await revisionNow();
    expect(await config('set', 'cli/prod', 'greeting', '"hello"')).toEqual(ok(`set greeting at revision ${r + 1n}\n`));
    expect(await config('set', 'cli/prod/', 'limits', '{ "rps": 100, "burst": 20 }')).toEqual(ok(`set limits at revision ${r + 2n}\n`));
    expect(await config('set', 'cli/prod', 'greeting', '"hi"', '-w', 'json')).toEqual(ok(`{"prefix":"cli/prod/","field":"greeting","revision":${r + 3n}}\n`));
    expect(await config('set', 'cli/prod', 'limits', '{"rps":200,"burst":20}')).toEqual(ok(`set limits at revision ${r + 4n}\n`));

    expect(await config('get', 'cli/prod')).toEqual(ok('greeting = "hi"\nlimits = {"rps":200,"burst":20}\n'));
    expect(await config('get', 'cli/prod', '-w', 'table')).toEqual(
      ok(
        [
          '+----------+------------------------+--------------+---------+',
          '|  FIELD   |         VALUE          | MOD REVISION | VERSION |',
          '+----------+------------------------+--------------+---------+',
          `| greeting |                   "hi" | ${String(r + 3n).padStart(12)} |       2 |`,
          `|   limits | {"rps":200,"burst":20} | ${String(r + 4n).padStart(12)} |       2 |`,
          '+----------+------------------------+--------------+---------+',
          '',
        ].join('\n'),
      ),
    );
    expect(await config('get', 'cli/prod', '-w', 'json')).toEqual(
      ok(
        `{"prefix":"cli/prod/","revision":${r + 4n},"fields":[{"field":"greeting","value":"hi","mod_revision":${r + 3n},"version":2},` +
          `{"field":"limits","value":{"rps":200,"burst":20},"mod_revision":${r + 4n},"version":2}]}\n`,
      ),
    );

    expect(await config('history', 'cli/prod', 'greeting')).toEqual(ok(`${r + 3n} "hi"\n${r + 1n} "hello"\n`));
    expect(await config('history', 'cli/prod', 'limits', '--limit', '1', '-w', 'json')).toEqual(
      ok(`{"field":"limits","versions":[{"revision":${r + 4n},"version":2,"value":{"rps":200,"burst":20}}]}\n`),
    );

    expect(await config('diff', 'cli/prod', 'limits', String(r + 2n), String(r + 4n))).toEqual(
      ok(`--- limits@${r + 2n}\n+++ limits@${r + 4n}\n {\n-  "rps": 100,\n+  "rps": 200,\n   "burst": 20\n }\n`),
    );
    expect(await config('diff', 'cli/prod', 'greeting', String(r), String(r + 1n))).toEqual(ok(`--- greeting@${r} (absent)\n+++ greeting@${r + 1n}\n+"hello"\n`));

    expect(await config('rollback', 'cli/prod', 'greeting', String(r + 1n))).toEqual(ok(`rolled greeting back to its value at revision ${r + 1n}, as revision ${r + 5n}\n`));
    expect(await config('get', 'cli/prod')).toEqual(ok('greeting = "hello"\nlimits = {"rps":200,"burst":20}\n'));
    expect((await config('history', 'cli/prod', 'greeting')).stdout).toBe(`${r + 5n} "hello"\n${r + 3n} "hi"\n${r + 1n} "hello"\n`);
  });

  it('refuses bad input with a clear error and the exit code etcdctl uses for it', async () => {
    const r = await revisionNow();
    expect(await config('set', 'cli/bad', 'greeting', 'hello')).toEqual(
      fails(128, `the value of greeting is not JSON (Unexpected token 'h', "hello" is not valid JSON); quote strings, e.g. '"hello"'`),
    );
    expect(await config('set', 'cli/bad', '.rollout', '1')).toEqual(fails(128, 'bad config field name ".rollout" (not empty, no "/", not starting with ".")'));
    expect(await config('rollback', 'cli/bad', 'greeting', '0')).toEqual(fails(128, 'REV must be a positive revision, not 0'));
    expect(await config('rollback', 'cli/prod', 'greeting', '1')).toEqual(fails(1, 'cli/prod/greeting did not exist at revision 1'));
    expect(await config('get', 'cli/prod', '-w', 'fields')).toEqual(fails(4, 'config commands print simple, json or table, not "fields"'));
    expect(await config('rollout', 'start', 'cli/bad', 'greeting', '"x"', '--percent', '150')).toEqual(fails(128, 'rollout target: percent must be a whole number from 0 to 100, not 150'));
    expect(await config('rollout', 'start', 'cli/bad', 'greeting', '"x"', '--ids', 'a', '--percent', '5')).toEqual(fails(128, 'give exactly one of --ids, --labels or --percent (got --ids, --percent)'));
    expect(await config('rollout', 'start', 'cli/bad', 'greeting', '"x"', '--labels', 'zone')).toEqual(fails(128, 'bad label "zone" in --labels (want name=value)'));
    expect(await config('rollout', 'promote', 'cli/bad')).toEqual(fails(1, 'config cli/bad/: no rollout in progress (there never was one)'));
    // Nothing was written by any of them.
    expect(await revisionNow()).toBe(r);
  });

  it('rollout start, status (simple, table, json), abort, start again, promote', async () => {
    const prefix = 'cli/roll/';
    const set = await config('set', prefix, 'greeting', '"v1"');
    const v1 = /^set greeting at revision (\d+)\n$/.exec(set.stdout)![1]!;
    const x1 = new ConfigInstance('x1', cluster.endpoints, prefix, { zone: 'a' });
    const x2 = new ConfigInstance('x2', cluster.endpoints, prefix, { zone: 'b' });
    instances.push(x1, x2);
    await Promise.all([x1, x2].map((i) => i.until('v1', (s) => s.current.greeting === 'v1')));
    // Each instance's first report is a write: wait for both before counting revisions.
    await waitFor('two reports', async () => (await config('rollout', 'status', prefix)).stdout === `no rollout\n0 of 2 instances run the candidate\nx1: base, revision ${v1}\nx2: base, revision ${v1}\n`);
    const r = await revisionNow();
    const start = r + 1n;
    expect(await config('rollout', 'start', prefix, 'greeting', '"v2"', '--labels', 'zone=a')).toEqual(ok(`rollout ${start} started: greeting = "v2" on labels zone=a\n`));
    await x1.until('the candidate', (s) => s.running === 'candidate' && s.current.greeting === 'v2');
    const status = (): Promise<CtlResult> => config('rollout', 'status', prefix);
    // Reports are written by the instances after they apply: wait for both, then read them.
    await waitFor('both reports at the start revision', async () => (await status()).stdout.split(`revision ${start}\n`).length === 3);
    expect(x2.state).toMatchObject({ running: 'base', current: { greeting: 'v1' } });
    expect(await status()).toEqual(
      ok(`rollout ${start} started: greeting = "v2" on labels zone=a\n1 of 2 instances run the candidate\nx1: candidate of rollout ${start}, revision ${start}\nx2: base, revision ${start}\n`),
    );
    expect(await config('rollout', 'status', prefix, '-w', 'table')).toEqual(
      ok(
        [
          `rollout ${start} started: greeting = "v2" on labels zone=a`,
          '1 of 2 instances run the candidate',
          '+----------+--------+-----------+---------+----------+-------+',
          '| INSTANCE | LABELS |  RUNNING  | ROLLOUT | REVISION | ERROR |',
          '+----------+--------+-----------+---------+----------+-------+',
          `|       x1 | zone=a | candidate | ${String(start).padStart(7)} | ${String(start).padStart(8)} |       |`,
          `|       x2 | zone=b |      base |         | ${String(start).padStart(8)} |       |`,
          '+----------+--------+-----------+---------+----------+-------+',
          '',
        ].join('\n'),
      ),
    );
    expect(await config('rollout', 'status', prefix, '-w', 'json')).toEqual(
      ok(
        `{"rollout":{"id":${start},"step":"started","revision":${start},"target":"labels zone=a","values":{"greeting":"v2"}},"instances":[` +
          `{"id":"x1","labels":{"zone":"a"},"running":"candidate","rollout":"${start}","revision":"${start}"},` +
          `{"id":"x2","labels":{"zone":"b"},"running":"base","rollout":null,"revision":"${start}"}]}\n`,
      ),
    );
    expect(await config('rollout', 'start', prefix, 'greeting', '"v3"', '--percent', '100')).toEqual(fails(1, `config ${prefix}: rollout ${start} is in progress (promote or abort it first)`));

    // The instances' reports are writes too: the revisions from here on are read from the output.
    const abort = await config('rollout', 'abort', prefix);
    const aborted = new RegExp(`^rollout ${start} aborted at revision (\\d+)\\n$`).exec(abort.stdout)?.[1];
    expect(abort, 'abort').toMatchObject({ code: 0, stderr: '' });
    expect(BigInt(aborted!)).toBeGreaterThan(start);
    await x1.until('back on v1', (s) => s.running === 'base' && s.current.greeting === 'v1');

    const again = await config('rollout', 'start', prefix, 'greeting', '"v3"', '--ids', 'x2', '-w', 'json');
    const second = /^\{"rollout":(\d+),/.exec(again.stdout)![1]!;
    expect(again).toEqual(ok(`{"rollout":${second},"step":"started","revision":${second}}\n`));
    await x2.until('the candidate', (s) => s.running === 'candidate' && s.current.greeting === 'v3');
    const promote = await config('rollout', 'promote', prefix);
    const promoted = new RegExp(`^rollout ${second} promoted at revision (\\d+)\\n$`).exec(promote.stdout)![1]!;
    await Promise.all([x1, x2].map((i) => i.until('v3 for everyone', (s) => s.running === 'base' && s.current.greeting === 'v3')));
    await waitFor('both reports at the promote revision', async () => (await status()).stdout.split(`revision ${promoted}\n`).length === 3);
    expect(await status()).toEqual(
      ok(`rollout ${second} promoted at revision ${promoted}: greeting = "v3" on ids x2\n0 of 2 instances run the candidate\nx1: base, revision ${promoted}\nx2: base, revision ${promoted}\n`),
    );
    // The promote is a version of the field; the rollout's steps are versions of its state key.
    expect(await config('history', prefix, 'greeting')).toEqual(ok(`${promoted} "v3"\n${v1} "v1"\n`));
    expect((await ctl([eps, 'get', `${prefix}.rollout/state`, '--print-value-only'])).stdout).toBe(
      `{"step":"promoted","values":{"greeting":"v3"},"target":{"ids":["x2"]},"rollout":"${second}"}\n`,
    );
    expect(await config('rollout', 'abort', prefix)).toEqual(fails(1, `config ${prefix}: no rollout in progress (the last one, ${second}, was promoted)`));
  });
});
