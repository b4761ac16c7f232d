import { Command, CommanderError } from 'commander';
import type { Compare, RequestOp } from '@cairn/client';
import { ExitCode, UsageError } from './exitCodes.js';
import {
  addDelFlags,
  addGetFlags,
  addPutFlags,
  delRequest,
  getRequest,
  putRequest,
  type DelFlags,
  type GetFlags,
  type PutFlags,
} from './commands/kvFlags.js';

/*
 * etcdctl's txn script: three sections separated by a blank line, read line by line.
 *
 *   value("/users/12345/email") = "old.address@johndoe.com"      <- compares
 *                                                                <- end of compares
 *   put /users/12345/email "new.address@johndoe.com"            <- success requests
 *                                                                <- end of success
 *   get /users/12345/email                                      <- failure requests
 *                                                                <- end (or end of input)
 */

/** The bits of @cairn/client a script needs, passed in so that parsing loads no network code. */
export interface TxnBuilders {
  readonly compare: {
    value(key: string, op: '=' | '!=' | '<' | '>', value: string): Compare;
    version(key: string, op: '=' | '!=' | '<' | '>', value: bigint): Compare;
    create(key: string, op: '=' | '!=' | '<' | '>', value: bigint): Compare;
    mod(key: string, op: '=' | '!=' | '<' | '>', value: bigint): Compare;
    lease(key: string, op: '=' | '!=' | '<' | '>', value: bigint): Compare;
  };
  readonly op: {
    get(key: string, options: ReturnType<typeof getRequest>['read']): RequestOp;
    put(key: string, value: string, options: ReturnType<typeof putRequest>['write']): RequestOp;
    delete(key: string, options: ReturnType<typeof delRequest>['options']): RequestOp;
  };
}

const invalid = (message: string): UsageError => new UsageError(message, ExitCode.InvalidInput);

const escapes: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

/** Go's strconv.Unquote for a double-quoted or back-quoted string. */
export function unquote(quoted: string): string {
  if (quoted.length >= 2 && quoted.startsWith('`') && quoted.endsWith('`')) return quoted.slice(1, -1);
  if (quoted.length < 2 || !quoted.startsWith('"') || !quoted.endsWith('"')) throw new Error('invalid syntax');
  const body = quoted.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      if (c === '"') throw new Error('invalid syntax');
      out += c;
      continue;
    }
    const e = body[++i];
    if (e === undefined) throw new Error('invalid syntax');
    const simple = escapes[e];
    if (simple !== undefined) {
      out += simple;
      continue;
    }
    const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hexLen > 0) {
      const h = body.slice(i + 1, i + 1 + hexLen);
      if (!new RegExp(`^[0-9a-fA-F]{${hexLen}}$`).test(h)) throw new Error('invalid syntax');
      out += String.fromCodePoint(parseInt(h, 16));
      i += hexLen;
      continue;
    }
    const oct = body.slice(i, i + 3);
    if (/^[0-7]{3}$/.test(oct)) {
      out += String.fromCharCode(parseInt(oct, 8));
      i += 2;
      continue;
    }
    throw new Error('invalid syntax');
  }
  return out;
}

/** Splits a line into words; a double-quoted word may hold spaces and Go escapes (etcdctl's Argify). */
export function argify(line: string): string[] {
  const words = line.match(/"(?:[^"\\]|\\.)*"|[^\s"]+/g) ?? [];
  return words.map((w) => {
    if (!w.startsWith('"')) return w;
    try {
      return unquote(w);
    } catch {
      return '';
    }
  });
}

const compareLine = /^\s*("(?:[^"\\]|\\.)*"|`[^`]*`)\s*\)\s*(!=|==|=|<|>)\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\S+)\s*$/;

type Operator = '=' | '!=' | '<' | '>';

/** Parses `target("key") op "value"`; target is value, version, create, mod or lease (or their short forms). */
export function parseCompare(line: string, b: TxnBuilders): Compare {
  const paren = line.indexOf('(');
  if (paren < 0) throw invalid(`malformed comparison: ${line}`);
  const target = line.slice(0, paren).trim();
  const m = compareLine.exec(line.slice(paren + 1));
  if (m === null) throw invalid(`malformed comparison: ${line}`);
  let key: string;
  let value: string;
  try {
    key = unquote(m[1]!);
    value = m[3]!.startsWith('"') || m[3]!.startsWith('`') ? unquote(m[3]!) : m[3]!;
  } catch {
    throw invalid(`malformed comparison: ${line}`);
  }
  const op = (m[2] === '==' ? '=' : m[2]) as Operator;
  const int = (): bigint => {
    if (!/^[+-]?\d+$/.test(value)) {
      throw invalid(`malformed comparison: ${line} (strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax)`);
    }
    return BigInt(value);
  };
  switch (target) {
    case 'ver':
    case 'version':
      return b.compare.version(key, op, int());
    case 'c':
    case 'create':
      return b.compare.create(key, op, int());
    case 'm':
    case 'mod':
      return b.compare.mod(key, op, int());
    case 'val':
    case 'value':
      return b.compare.value(key, op, value);
    case 'LEASE':
    case 'lease':
      return b.compare.lease(key, op, int());
    default:
      throw invalid(`malformed comparison: ${line} (unknown target ${target})`);
  }
}

/** Parses `get|put|del ARGS... [FLAGS]` with the flags of the commands of the same names. */
export function parseRequest(line: string, b: TxnBuilders): RequestOp {
  const args = argify(line);
  if (args.length < 2) throw invalid(`invalid txn compare request: ${line}`);
  let result: RequestOp | undefined;
  const program = new Command()
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
    .allowExcessArguments(false);
  addGetFlags(program.command('get').argument('[args...]')).action((a: string[], f: GetFlags) => {
    const { key, read } = getRequest(a, f);
    result = b.op.get(key, read);
  });
  addPutFlags(program.command('put').argument('[args...]')).action((a: string[], f: PutFlags) => {
    const { key, value, write } = putRequest(a, f);
    if (value === undefined) throw invalid(`invalid txn request: ${line} (put needs a value)`);
    result = b.op.put(key, typeof value === 'string' ? value : new TextDecoder().decode(value), write);
  });
  addDelFlags(program.command('del').argument('[args...]')).action((a: string[], f: DelFlags) => {
    const { key, options } = delRequest(a, f);
    result = b.op.delete(key, options);
  });
  try {
    program.parse(args, { from: 'user' });
  } catch (err) {
    if (err instanceof UsageError || err instanceof CommanderError) {
      throw invalid(`invalid txn request: ${line}${err instanceof UsageError ? ` (${err.message})` : ''}`);
    }
    throw err;
  }
  if (result === undefined) throw invalid(`invalid txn request: ${line}`);
  return result;
}

/** Something that yields one line at a time (without its newline), undefined at end of input. */
export interface LineReader {
  readLine(): Promise<string | undefined>;
}

export interface TxnScript {
  readonly compare: Compare[];
  readonly success: RequestOp[];
  readonly failure: RequestOp[];
}

/**
 * Reads the three sections. With `prompt`, each section is announced the way etcdctl's
 * --interactive does. A section ends at a blank line or the end of input.
 */
export async function readTxnScript(
  reader: LineReader,
  builders: TxnBuilders,
  prompt?: (text: string) => void,
): Promise<TxnScript> {
  const section = async <T>(title: string, parse: (line: string) => T): Promise<T[]> => {
    prompt?.(`${title}\n`);
    const out: T[] = [];
    for (;;) {
      const raw = await reader.readLine();
      if (raw === undefined) return out;
      const line = raw.trim();
      if (line === '') return out;
      out.push(parse(line));
    }
  };
  const compare = await section('compares:', (l) => parseCompare(l, builders));
  const success = await section('success requests (get, put, del):', (l) => parseRequest(l, builders));
  const failure = await section('failure requests (get, put, del):', (l) => parseRequest(l, builders));
  return { compare, success, failure };
}
