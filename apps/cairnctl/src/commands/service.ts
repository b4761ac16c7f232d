import type { Command } from 'commander';
import type { CairnClient, KeyValue, ResponseHeader } from '@cairn/client';
import type { Instance } from '@cairn/registry';
import { loadClient, type CliIo, type Context } from '../context.js';
import { ExitCode, UsageError } from '../exitCodes.js';
import {
  serviceGetJson,
  serviceGetTable,
  serviceGetText,
  serviceListJson,
  serviceListTable,
  serviceListText,
  summarise,
  type InstanceRow,
} from '../output/services.js';
import { withContext } from './kv.js';

/*
 * `cairnctl service list` and `service get NAME`: what @cairn/registry keeps under its prefix
 * (services/<service>/<id>, see docs/registry.md), read once at one revision. etcdctl has no
 * such commands; docs/cli.md gives the shapes.
 */

/** Lease look-ups in flight at once for `service get` (one per instance). */
const MAX_PARALLEL_TTL_LOOKUPS = 16;

type RegistryModule = typeof import('@cairn/registry');
let registryModule: Promise<RegistryModule> | undefined;
/** @cairn/registry loads only for these commands. */
const loadRegistry = (): Promise<RegistryModule> => (registryModule ??= import('@cairn/registry'));

/** simple, json or table; `fields` is refused before anything is read (exit 4). */
function formatOf(ctx: Context): 'simple' | 'json' | 'table' {
  ctx.printer();
  if (ctx.format === 'fields') throw new UsageError('fields not supported as output format', ExitCode.BadFeature);
  return ctx.format as 'simple' | 'json' | 'table';
}

/** `--prefix` as the registry takes it: ending in `/`. */
function registryPrefix(flag: string): string {
  if (flag === '') throw new UsageError('--prefix must not be empty');
  return flag.endsWith('/') ? flag : `${flag}/`;
}

interface Read {
  readonly header: ResponseHeader;
  readonly records: { readonly kv: KeyValue; readonly key: string; readonly instance: Instance }[];
}

/** Every well-formed instance under `prefix`; each malformed value is a warning on stderr. */
async function readInstances(client: CairnClient, prefix: string, io: CliIo): Promise<Read> {
  const [{ bytesToString }, { parseInstance }] = await Promise.all([loadClient(), loadRegistry()]);
  const res = await client.kv.range({ key: prefix, prefix: true });
  const records: Read['records'][number][] = [];
  for (const kv of res.kvs) {
    const key = bytesToString(kv.key);
    try {
      records.push({ kv, key, instance: parseInstance(key, bytesToString(kv.value)) });
    } catch (err) {
      io.err(`warning: ${(err as Error).message}; skipped\n`);
    }
  }
  return { header: res.header, records };
}

/** Each instance with its lease's remaining TTL, a bounded number of look-ups at a time. */
async function withTtls(client: CairnClient, records: Read['records']): Promise<InstanceRow[]> {
  const rows: InstanceRow[] = new Array<InstanceRow>(records.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < records.length) {
      const i = next++;
      const { kv, key, instance } = records[i]!;
      let ttlSeconds: number | undefined;
      let grantedTtlSeconds: number | undefined;
      if (kv.lease !== 0n) {
        const t = await client.lease.timeToLive(kv.lease);
        // An expired lease answers ttl -1; the key is gone by now.
        ttlSeconds = t.ttlSeconds;
        grantedTtlSeconds = t.grantedTtlSeconds;
      }
      rows[i] = { instance, key, modRevision: kv.modRevision, lease: kv.lease, ttlSeconds, grantedTtlSeconds };
    }
  };
  await Promise.all(Array.from({ length: Math.min(MAX_PARALLEL_TTL_LOOKUPS, records.length) }, worker));
  return rows;
}

export function registerServiceCommands(program: Command, io: CliIo): void {
  const service = program.command('service').summary('Service registry commands (instances registered with @cairn/registry)');

  service
    .command('list')
    .summary('Lists the registered services with their instance counts by health status')
    .option('--prefix <prefix>', 'key prefix of the registry', 'services/')
    .action(
      withContext(io, async (ctx, flags: { prefix: string }) => {
        const format = formatOf(ctx);
        const prefix = registryPrefix(flags.prefix);
        const { header, records } = await readInstances(await ctx.client(), prefix, io);
        const byService = new Map<string, Instance[]>();
        for (const r of records) byService.set(r.instance.service, [...(byService.get(r.instance.service) ?? []), r.instance]);
        const list = [...byService.keys()].sort().map((name) => summarise(name, byService.get(name)!));
        io.out(format === 'json' ? serviceListJson(header, list) : format === 'table' ? serviceListTable(list) : serviceListText(list));
      }),
    );

  service
    .command('get')
    .summary("Shows a service's instances: status, address, weight, TTL left, metadata")
    .argument('[name]')
    .option('--prefix <prefix>', 'key prefix of the registry', 'services/')
    .action(
      withContext(io, async (ctx, name: string | undefined, flags: { prefix: string }) => {
        if (name === undefined || name === '') throw new UsageError('service get command needs a service name');
        if (name.includes('/')) throw new UsageError(`a service name has no '/', got ${JSON.stringify(name)}`);
        const format = formatOf(ctx);
        const prefix = `${registryPrefix(flags.prefix)}${name}/`;
        const client = await ctx.client();
        const { header, records } = await readInstances(client, prefix, io);
        if (records.length === 0) throw new UsageError(`service ${JSON.stringify(name)} has no instances under ${prefix}`, ExitCode.Error);
        records.sort((a, b) => (a.instance.id < b.instance.id ? -1 : a.instance.id > b.instance.id ? 1 : 0));
        const rows = await withTtls(client, records);
        io.out(format === 'json' ? serviceGetJson(header, name, rows) : format === 'table' ? serviceGetTable(rows) : serviceGetText(rows));
      }),
    );
}
