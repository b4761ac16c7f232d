import { Option, type Command } from 'commander';
import type { CliIo, Context } from '../context.js';
import { ExitCode, UsageError } from '../exitCodes.js';
import { printDiff, printFields, printHistory, printRollback, printRolloutStatus, printRolloutStep, printSet, type ConfigFormat } from '../output/config.js';
import { withContext } from './kv.js';
import { parseInt64Flag } from './kvFlags.js';

/*
 * `cairnctl config ...`: @cairn/config's layout (one JSON value per field key under a prefix)
 * and its staged rollouts from the command line. etcdctl has no such commands; the shapes are
 * Cairn's own, documented in docs/config.md:
 *
 *   cairnctl config get PREFIX
 *   cairnctl config set PREFIX FIELD VALUE
 *   cairnctl config history PREFIX FIELD [--limit N]
 *   cairnctl config diff PREFIX FIELD REV1 REV2
 *   cairnctl config rollback PREFIX FIELD REV
 *   cairnctl config rollout start PREFIX FIELD VALUE [FIELD VALUE...] (--ids a,b | --labels k=v,... | --percent N)
 *   cairnctl config rollout status|promote|abort PREFIX
 */

type ConfigModule = typeof import('@cairn/config');
let configModule: Promise<ConfigModule> | undefined;
/** @cairn/config (and zod) load only when a config command runs. */
function loadConfig(): Promise<ConfigModule> {
  configModule ??= import('@cairn/config');
  return configModule;
}

function formatOf(ctx: Context): ConfigFormat {
  const f = ctx.format;
  if (f === 'simple' || f === 'json' || f === 'table') return f;
  throw new UsageError(`config commands print simple, json or table, not ${JSON.stringify(f)}`, ExitCode.BadFeature);
}

function prefixArg(prefix: string): string {
  if (prefix === '' || prefix === '/') throw new UsageError('PREFIX must not be empty (e.g. config/prod/)');
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

/** A field name as @cairn/config accepts it; a bad one is a usage error. */
async function fieldArg(field: string): Promise<string> {
  const { checkField } = await loadConfig();
  try {
    return checkField(field);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** VALUE must be JSON; it is stored in its compact form. */
function jsonArg(field: string, value: string): string {
  try {
    return JSON.stringify(JSON.parse(value));
  } catch (err) {
    throw new UsageError(`the value of ${field} is not JSON (${(err as Error).message}); quote strings, e.g. '"hello"'`);
  }
}

function revisionArg(text: string, name: string): bigint {
  const rev = parseInt64Flag(text, name);
  if (rev <= 0n) throw new UsageError(`${name} must be a positive revision, not ${text}`);
  return rev;
}

interface TargetFlags {
  ids?: string;
  labels?: string;
  percent?: string;
}

/** --ids a,b | --labels zone=a,tier=web | --percent 40, as a target for startRollout. */
export function targetOf(flags: TargetFlags): unknown {
  const given = (['ids', 'labels', 'percent'] as const).filter((k) => flags[k] !== undefined);
  if (given.length !== 1) throw new UsageError(`give exactly one of --ids, --labels or --percent${given.length > 1 ? ` (got --${given.join(', --')})` : ''}`);
  if (flags.ids !== undefined) return { ids: flags.ids.split(',').map((s) => s.trim()).filter((s) => s !== '') };
  if (flags.labels !== undefined) {
    const labels: Record<string, string> = {};
    for (const pair of flags.labels.split(',').filter((s) => s.trim() !== '')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UsageError(`bad label ${JSON.stringify(pair)} in --labels (want name=value)`);
      labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
    }
    return { labels };
  }
  const p = flags.percent!;
  return { percent: /^-?\d+(\.\d+)?$/.test(p.trim()) ? Number(p) : p };
}

/** A CairnError invalid_argument from the library's checks, as a usage error (exit 128). */
async function asUsage<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof Error && err.name === 'CairnError' && (err as { code?: string }).code === 'invalid_argument') throw new UsageError(err.message);
    throw err;
  }
}

export function registerConfigCommands(program: Command, io: CliIo): void {
  const config = program.command('config').summary('Typed configurations (@cairn/config): fields, history, rollback, staged rollouts');

  config
    .command('get')
    .summary('Prints the fields of the configuration under PREFIX')
    .argument('<prefix>')
    .action(
      withContext(io, async (ctx, prefix: string) => {
        const format = formatOf(ctx);
        const p = prefixArg(prefix);
        const client = await ctx.client();
        const res = await client.kv.range({ key: p, prefix: true });
        const dec = new TextDecoder();
        const rows = res.kvs
          .map((kv) => ({ field: dec.decode(kv.key).slice(p.length), value: dec.decode(kv.value), modRevision: kv.modRevision, version: kv.version }))
          .filter((r) => r.field !== '' && !r.field.includes('/'));
        io.out(printFields(format, p, res.header.revision, rows));
      }),
    );

  config
    .command('set')
    .summary('Writes one field; VALUE must be JSON')
    .argument('<prefix>')
    .argument('<field>')
    .argument('<value>')
    .action(
      withContext(io, async (ctx, prefix: string, field: string, value: string) => {
        const format = formatOf(ctx);
        const p = prefixArg(prefix);
        const f = await fieldArg(field);
        const json = jsonArg(f, value);
        const client = await ctx.client();
        const res = await client.kv.put(p + f, json);
        io.out(printSet(format, p, f, res.header.revision));
      }),
    );

  config
    .command('history')
    .summary("Lists a field's past values, newest first")
    .argument('<prefix>')
    .argument('<field>')
    .option('--limit <n>', 'at most this many values', '20')
    .action(
      withContext(io, async (ctx, prefix: string, field: string, flags: { limit: string }) => {
        const format = formatOf(ctx);
        const p = prefixArg(prefix);
        const f = await fieldArg(field);
        const limit = parseInt64Flag(flags.limit, 'limit');
        if (limit < 1n || limit > 10_000n) throw new UsageError(`invalid argument ${JSON.stringify(flags.limit)} for "--limit" flag: must be from 1 to 10000`);
        const { history } = await loadConfig();
        const client = await ctx.client();
        io.out(printHistory(format, f, await history(client, p + f, { limit: Number(limit) })));
      }),
    );

  config
    .command('diff')
    .summary('Shows how a field changed between two revisions')
    .argument('<prefix>')
    .argument('<field>')
    .argument('<rev1>')
    .argument('<rev2>')
    .action(
      withContext(io, async (ctx, prefix: string, field: string, rev1: string, rev2: string) => {
        const format = formatOf(ctx);
        const p = prefixArg(prefix);
        const f = await fieldArg(field);
        const [r1, r2] = [revisionArg(rev1, 'REV1'), revisionArg(rev2, 'REV2')];
        const { valueAt } = await loadConfig();
        const client = await ctx.client();
        const [a, b] = await Promise.all([valueAt(client, p + f, r1), valueAt(client, p + f, r2)]);
        io.out(printDiff(format, f, { revision: r1, value: a }, { revision: r2, value: b }));
      }),
    );

  config
    .command('rollback')
    .summary('Writes the value a field had at REV as its new value (the history keeps both)')
    .argument('<prefix>')
    .argument('<field>')
    .argument('<rev>')
    .action(
      withContext(io, async (ctx, prefix: string, field: string, rev: string) => {
        const format = formatOf(ctx);
        const p = prefixArg(prefix);
        const f = await fieldArg(field);
        const r = revisionArg(rev, 'REV');
        const { CairnError, ErrorCode } = await import('@cairn/client');
        const { valueAt } = await loadConfig();
        const client = await ctx.client();
        const old = await valueAt(client, p + f, r);
        if (old === undefined) throw new CairnError(ErrorCode.KeyNotFound, `${p}${f} did not exist at revision ${r}`);
        // A value only a hand could have written is not restored by a config command.
        jsonOrInvalid(old, () => new CairnError(ErrorCode.InvalidConfig, `${p}${f} at revision ${r} is not JSON; not restored`));
        const res = await client.kv.put(p + f, old);
        io.out(printRollback(format, f, r, res.header.revision));
      }),
    );

  registerRolloutCommands(config, io);
}

function jsonOrInvalid(text: string, error: () => Error): void {
  try {
    JSON.parse(text);
  } catch {
    throw error();
  }
}

function registerRolloutCommands(config: Command, io: CliIo): void {
  const rollout = config.command('rollout').summary('Staged rollouts: a candidate value on some instances, then promote or abort');

  rollout
    .command('start')
    .summary('Starts a rollout of FIELD VALUE [FIELD VALUE...] to the instances selected by --ids, --labels or --percent')
    .argument('<prefix>')
    .argument('<pairs...>', 'FIELD VALUE pairs; each VALUE is JSON')
    .addOption(new Option('--ids <list>', 'comma-separated instance ids'))
    .addOption(new Option('--labels <list>', 'comma-separated name=value labels an instance must all have'))
    .addOption(new Option('--percent <n>', 'this percentage (0-100) of instances, by a stable hash of their ids'))
    .action(
      withContext(io, async (ctx, prefix: string, pairs: string[], flags: TargetFlags) => {
        const format = formatOf(ctx);
        const p = prefixArg(prefix);
        if (pairs.length % 2 !== 0) throw new UsageError('rollout start needs FIELD VALUE pairs (an odd number of arguments was given)');
        const values: Record<string, unknown> = {};
        for (let i = 0; i < pairs.length; i += 2) {
          const f = await fieldArg(pairs[i]!);
          values[f] = JSON.parse(jsonArg(f, pairs[i + 1]!)) as unknown;
        }
        const { checkTarget, describeTarget, startRollout } = await loadConfig();
        const target = await asUsage(async () => checkTarget(targetOf(flags)));
        const client = await ctx.client();
        const id = await startRollout(client, p, { values, target });
        io.out(printRolloutStep(format, 'started', id, id, { target: describeTarget(target), values }));
      }),
    );

  rollout
    .command('status')
    .summary("Shows the rollout's last step and what each live instance runs")
    .argument('<prefix>')
    .action(
      withContext(io, async (ctx, prefix: string) => {
        const format = formatOf(ctx);
        const p = prefixArg(prefix);
        const { describeTarget, rolloutStatus } = await loadConfig();
        const client = await ctx.client();
        const { rollout: r, instances } = await rolloutStatus(client, p);
        const view = r === undefined ? undefined : { id: r.id, step: r.step, revision: r.revision, target: describeTarget(r.target), values: r.values };
        io.out(printRolloutStatus(format, view, instances));
      }),
    );

  for (const step of ['promote', 'abort'] as const) {
    rollout
      .command(step)
      .summary(step === 'promote' ? "Makes the candidate every instance's value (one revision)" : 'Ends the rollout: its instances go back to the current value')
      .argument('<prefix>')
      .action(
        withContext(io, async (ctx, prefix: string) => {
          const format = formatOf(ctx);
          const p = prefixArg(prefix);
          const { abortRollout, promoteRollout } = await loadConfig();
          const client = await ctx.client();
          const end = step === 'promote' ? await promoteRollout(client, p) : await abortRollout(client, p);
          io.out(printRolloutStep(format, step === 'promote' ? 'promoted' : 'aborted', end.id, end.revision));
        }),
      );
  }

  // cli.ts sets these two levels deep; the rollout steps are a third.
  for (const c of rollout.commands) {
    c.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s), outputError: () => undefined });
  }
}
