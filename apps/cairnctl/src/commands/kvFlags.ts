import type { Command } from 'commander';
import type { DeleteOptions, ReadOptions, SortOrder, SortTarget, WriteOptions } from '@cairn/client';
import { ExitCode, UsageError } from '../exitCodes.js';

/*
 * The flags of get, put and del, and their translation into client options. Shared by the
 * commands themselves and by the request lines of a txn script, which take the same flags.
 */

export interface GetFlags {
  prefix?: boolean;
  fromKey?: boolean;
  limit?: string;
  rev?: string;
  keysOnly?: boolean;
  countOnly?: boolean;
  printValueOnly?: boolean;
  order?: string;
  sortBy?: string;
  consistency?: string;
  minCreateRev?: string;
  maxCreateRev?: string;
  minModRev?: string;
  maxModRev?: string;
}

export interface PutFlags {
  lease?: string;
  prevKv?: boolean;
  ignoreValue?: boolean;
  ignoreLease?: boolean;
}

export interface DelFlags {
  prefix?: boolean;
  fromKey?: boolean;
  prevKv?: boolean;
}

export function addGetFlags(cmd: Command): Command {
  return cmd
    .option('--prefix', 'Get keys with matching prefix')
    .option('--from-key', 'Get keys that are greater than or equal to the given key using byte compare')
    .option('--limit <n>', 'Maximum number of results', '0')
    .option('--rev <revision>', 'Specify the kv revision', '0')
    .option('--keys-only', 'Get only the keys')
    .option('--count-only', 'Get only the count')
    .option('--print-value-only', 'Only write values when using the "simple" output format')
    .option('--order <order>', 'Order of results; ASCEND or DESCEND (ASCEND by default)')
    .option('--sort-by <target>', 'Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION')
    .option('--consistency <l|s>', 'Linearizable(l) or Serializable(s)', 'l')
    .option('--min-create-rev <revision>', 'Minimum create revision')
    .option('--max-create-rev <revision>', 'Maximum create revision')
    .option('--min-mod-rev <revision>', 'Minimum modification revision')
    .option('--max-mod-rev <revision>', 'Maximum modification revision');
}

export function addPutFlags(cmd: Command): Command {
  return cmd
    .option('--lease <id>', 'lease ID (in hexadecimal) to attach to the key', '0')
    .option('--prev-kv', 'return the previous key-value pair before modification')
    .option('--ignore-value', 'updates the key using its current value')
    .option('--ignore-lease', 'updates the key using its current lease');
}

export function addDelFlags(cmd: Command): Command {
  return cmd
    .option('--prefix', 'delete keys with matching prefix')
    .option('--from-key', 'delete keys that are greater than or equal to the given key using byte compare')
    .option('--prev-kv', 'return deleted key-value pairs');
}

/** Names of the boolean flags, which also accept `--flag=true|false` like Go's pflag. */
export const booleanFlags: ReadonlySet<string> = new Set([
  'prefix',
  'from-key',
  'keys-only',
  'count-only',
  'print-value-only',
  'prev-kv',
  'ignore-value',
  'ignore-lease',
  'hex',
  'debug',
  'cluster',
  'learner',
  'physical',
  'interactive',
  'insecure-skip-tls-verify',
  'insecure-transport',
]);

/** Boolean flags that default to true: `--flag=false` becomes `--no-flag`. */
export const negatableFlags: ReadonlySet<string> = new Set(['interactive', 'insecure-transport']);

export function parseInt64Flag(text: string, flag: string): bigint {
  if (!/^[+-]?\d+$/.test(text.trim())) {
    throw new UsageError(`invalid argument ${JSON.stringify(text)} for "--${flag}" flag: strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax`);
  }
  const v = BigInt(text.trim());
  if (v > (1n << 63n) - 1n || v < -(1n << 63n)) {
    throw new UsageError(`invalid argument ${JSON.stringify(text)} for "--${flag}" flag: value out of range`);
  }
  return v;
}

/** A lease id as etcdctl takes it: hexadecimal, no prefix. */
export function parseLeaseHex(text: string): bigint {
  const t = text.trim();
  if (!/^[0-9a-fA-F]{1,16}$/.test(t) || BigInt(`0x${t}`) > (1n << 63n) - 1n) {
    throw new UsageError(`bad lease ID (strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax), expecting ID in Hex`);
  }
  return BigInt(`0x${t}`);
}

const sortTargets: Readonly<Record<string, SortTarget>> = {
  CREATE: 'create',
  KEY: 'key',
  MODIFY: 'mod',
  VALUE: 'value',
  VERSION: 'version',
};

export interface GetRequest {
  readonly key: string;
  readonly read: ReadOptions;
}

/** `get KEY [RANGE_END]` with its flags, checked like etcdctl's getGetOp. */
export function getRequest(args: readonly string[], f: GetFlags): GetRequest {
  if (args.length === 0 || args.length > 2) {
    throw new UsageError('get command needs one argument as key and an optional argument as range_end');
  }
  if (f.prefix === true && f.fromKey === true) {
    throw new UsageError('`--prefix` and `--from-key` cannot be set at the same time, choose one');
  }
  const read: { -readonly [K in keyof ReadOptions]: ReadOptions[K] } = {};
  switch (f.consistency ?? 'l') {
    case 's':
      read.serializable = true;
      break;
    case 'l':
      break;
    default:
      throw new UsageError(`unknown consistency flag ${JSON.stringify(f.consistency)}`, ExitCode.BadFeature);
  }
  if (args.length === 2) {
    if (f.prefix === true || f.fromKey === true) {
      throw new UsageError('too many arguments, only accept one argument when `--prefix` or `--from-key` is set');
    }
    read.rangeEnd = args[1]!;
  }
  const limit = parseInt64Flag(f.limit ?? '0', 'limit');
  if (limit < 0n) throw new UsageError(`invalid argument ${JSON.stringify(f.limit)} for "--limit" flag: must not be negative`);
  if (limit > 0n) read.limit = Number(limit);
  const rev = parseInt64Flag(f.rev ?? '0', 'rev');
  if (rev > 0n) read.revision = rev;
  const order = (f.order ?? '').toUpperCase();
  let sortOrder: SortOrder | undefined;
  if (order === 'ASCEND') sortOrder = 'ascend';
  else if (order === 'DESCEND') sortOrder = 'descend';
  else if (order !== '') throw new UsageError(`bad sort order ${f.order}`, ExitCode.BadFeature);
  const targetName = (f.sortBy ?? '').toUpperCase();
  let sortTarget: SortTarget | undefined;
  if (targetName !== '') {
    sortTarget = sortTargets[targetName];
    if (sortTarget === undefined) throw new UsageError(`bad sort target ${f.sortBy}`, ExitCode.BadFeature);
  }
  // Keys come in ascending key order anyway; only ask the server to sort when it changes something.
  if (sortTarget !== undefined && !(sortTarget === 'key' && sortOrder !== 'descend')) {
    read.sortTarget = sortTarget;
    read.sortOrder = sortOrder ?? 'ascend';
  } else if (sortOrder === 'descend') {
    read.sortTarget = 'key';
    read.sortOrder = 'descend';
  }
  if (f.prefix === true) read.prefix = true;
  if (f.fromKey === true) read.fromKey = true;
  if (f.keysOnly === true) read.keysOnly = true;
  if (f.countOnly === true) read.countOnly = true;
  if (f.minCreateRev !== undefined) read.minCreateRevision = parseInt64Flag(f.minCreateRev, 'min-create-rev');
  if (f.maxCreateRev !== undefined) read.maxCreateRevision = parseInt64Flag(f.maxCreateRev, 'max-create-rev');
  if (f.minModRev !== undefined) read.minModRevision = parseInt64Flag(f.minModRev, 'min-mod-rev');
  if (f.maxModRev !== undefined) read.maxModRevision = parseInt64Flag(f.maxModRev, 'max-mod-rev');
  return { key: args[0]!, read };
}

export interface PutRequestArgs {
  readonly key: string;
  /** Absent when the value is to be read from stdin. */
  readonly value: string | Uint8Array | undefined;
  readonly write: WriteOptions;
}

/** `put KEY [VALUE]` with its flags, checked like etcdctl's getPutOp. */
export function putRequest(args: readonly string[], f: PutFlags): PutRequestArgs {
  if (args.length === 0 || args.length > 2) {
    throw new UsageError('put command needs 1 argument and input from stdin or 2 arguments');
  }
  if (f.ignoreValue === true && args.length > 1) {
    throw new UsageError("put command needs only 1 argument when 'ignore-value' is set");
  }
  const write: { -readonly [K in keyof WriteOptions]: WriteOptions[K] } = {};
  const lease = parseLeaseHex(f.lease ?? '0');
  if (lease !== 0n) write.lease = lease;
  if (f.prevKv === true) write.prevKv = true;
  if (f.ignoreValue === true) write.ignoreValue = true;
  if (f.ignoreLease === true) write.ignoreLease = true;
  const value = f.ignoreValue === true ? '' : args[1];
  return { key: args[0]!, value, write };
}

export interface DelRequestArgs {
  readonly key: string;
  readonly options: DeleteOptions;
}

/** `del KEY [RANGE_END]` with its flags, checked like etcdctl's getDelOp. */
export function delRequest(args: readonly string[], f: DelFlags): DelRequestArgs {
  if (args.length === 0 || args.length > 2) {
    throw new UsageError('del command needs one argument as key and an optional argument as range_end');
  }
  if (f.prefix === true && f.fromKey === true) {
    throw new UsageError('`--prefix` and `--from-key` cannot be set at the same time, choose one');
  }
  const options: { -readonly [K in keyof DeleteOptions]: DeleteOptions[K] } = {};
  if (args.length === 2) {
    if (f.prefix === true || f.fromKey === true) {
      throw new UsageError('too many arguments, only accept one argument when `--prefix` or `--from-key` is set');
    }
    options.rangeEnd = args[1]!;
  }
  if (f.prefix === true) options.prefix = true;
  if (f.fromKey === true) options.fromKey = true;
  if (f.prevKv === true) options.prevKv = true;
  return { key: args[0]!, options };
}
