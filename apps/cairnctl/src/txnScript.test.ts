import { describe, expect, it } from 'vitest';
import { compare, op } from '@cairn/client';
import { UsageError } from './exitCodes.js';
import { inputFrom } from './lines.js';
import { argify, parseCompare, parseRequest, readTxnScript, unquote, type TxnBuilders } from './txnScript.js';

const builders: TxnBuilders = { compare, op };
const enc = (s: string) => new TextEncoder().encode(s);

async function* chunks(...parts: string[]): AsyncIterable<string> {
  for (const p of parts) yield p;
}

describe('argify and unquote', () => {
  it('splits on spaces, keeps quoted words whole and unescapes them like Go', () => {
    expect(argify('put /users/12345/email "new.address@johndoe.com"')).toEqual(['put', '/users/12345/email', 'new.address@johndoe.com']);
    expect(argify('put k "a b\\tc \\"q\\""  --prev-kv')).toEqual(['put', 'k', 'a b\tc "q"', '--prev-kv']);
    expect(argify('  get   a  ')).toEqual(['get', 'a']);
  });

  it('unquotes Go escapes and back-quoted strings', () => {
    expect(unquote('"\\x41\\u00e9\\101\\n"')).toBe('Aé A\n'.replace(' ', ''));
    expect(unquote('`raw \\n`')).toBe('raw \\n');
    expect(() => unquote('"bad \\q"')).toThrow();
  });
});

describe('parseCompare', () => {
  it('parses each target with each operator', () => {
    expect(parseCompare('value("/users/12345/email") = "old.address@johndoe.com"', builders)).toEqual(
      compare.value('/users/12345/email', '=', 'old.address@johndoe.com'),
    );
    expect(parseCompare('version("k") > "3"', builders)).toEqual(compare.version('k', '>', 3n));
    expect(parseCompare('ver("k") != "0"', builders)).toEqual(compare.version('k', '!=', 0n));
    expect(parseCompare('create("k") < "10"', builders)).toEqual(compare.create('k', '<', 10n));
    expect(parseCompare('c("k") = "1"', builders)).toEqual(compare.create('k', '=', 1n));
    expect(parseCompare('mod("k") > "9223372036854775806"', builders)).toEqual(compare.mod('k', '>', 9223372036854775806n));
    expect(parseCompare('lease("k") = "0"', builders)).toEqual(compare.lease('k', '=', 0n));
    expect(parseCompare('val("k") = "with space"', builders).value).toEqual(enc('with space'));
  });

  it('accepts an unquoted number, like a forgiving etcdctl', () => {
    expect(parseCompare('version("k") = 2', builders)).toEqual(compare.version('k', '=', 2n));
  });

  it.each([
    ['value"k" = "v"', 'malformed comparison: value"k" = "v"'],
    ['value("k") ~ "v"', 'malformed comparison: value("k") ~ "v"'],
    ['bogus("k") = "v"', 'malformed comparison: bogus("k") = "v" (unknown target bogus)'],
    ['version("k") = "x"', 'malformed comparison: version("k") = "x" (strconv.ParseInt: parsing "x": invalid syntax)'],
  ])('rejects %s', (line, message) => {
    try {
      parseCompare(line, builders);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).message).toBe(message);
      expect((err as UsageError).exitCode).toBe(3);
    }
  });
});

describe('parseRequest', () => {
  it('parses get/put/del with the flags of the commands', () => {
    expect(parseRequest('put /users/12345/email "new.address@johndoe.com"', builders)).toEqual(
      op.put('/users/12345/email', 'new.address@johndoe.com'),
    );
    expect(parseRequest('put k v --lease=2be7547fbc6a5afa --prev-kv', builders)).toEqual(
      op.put('k', 'v', { lease: 0x2be7547fbc6a5afan, prevKv: true }),
    );
    expect(parseRequest('get k --prefix --limit 2 --order=DESCEND --sort-by=MODIFY', builders)).toEqual(
      op.get('k', { prefix: true, limit: 2, sortOrder: 'descend', sortTarget: 'mod' }),
    );
    expect(parseRequest('get a c', builders)).toEqual(op.get('a', { rangeEnd: 'c' }));
    expect(parseRequest('del k --prefix --prev-kv', builders)).toEqual(op.delete('k', { prefix: true, prevKv: true }));
  });

  it.each(['get', 'frob k', 'put k', 'get k --bogus', 'get k --prefix --from-key'])('rejects %j', (line) => {
    expect(() => parseRequest(line, builders)).toThrow(/invalid txn (compare )?request/);
  });
});

describe('readTxnScript', () => {
  const script =
    'value("/users/12345/email") = "old.address@johndoe.com"\n\n' +
    'put /users/12345/email "new.address@johndoe.com"\nput /users/12345/phone "098-765-4321"\n\n' +
    'get /users/12345/email\n\n';

  it('reads the three sections, however the input is chunked', async () => {
    for (const parts of [[script], script.split(''), [script.slice(0, 20), script.slice(20)]]) {
      const t = await readTxnScript(inputFrom(chunks(...parts)).lines(), builders);
      expect(t.compare).toHaveLength(1);
      expect(t.success).toEqual([
        op.put('/users/12345/email', 'new.address@johndoe.com'),
        op.put('/users/12345/phone', '098-765-4321'),
      ]);
      expect(t.failure).toEqual([op.get('/users/12345/email')]);
    }
  });

  it('prompts each section in interactive mode, exactly as etcdctl', async () => {
    let prompts = '';
    await readTxnScript(inputFrom(chunks(script)).lines(), builders, (t) => (prompts += t));
    expect(prompts).toBe('compares:\nsuccess requests (get, put, del):\nfailure requests (get, put, del):\n');
  });

  it('treats the end of input as the end of the remaining sections, and CRLF as LF', async () => {
    const t = await readTxnScript(inputFrom(chunks('\r\nput a b\r\n')).lines(), builders);
    expect(t).toEqual({ compare: [], success: [op.put('a', 'b')], failure: [] });
  });
});
