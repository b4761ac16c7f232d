import { afterEach, describe, expect, it } from 'vitest';
import { CairnError, ErrorCode } from '@cairn/protocol';
import { NEVER, header, startFakeServer, type FakeServer, type Handler } from '../../../packages/client/test/fakeServer.js';
import { normaliseBooleanFlags } from './cli.js';
import { runForTest } from './testing/run.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: unknown) => new TextDecoder().decode(b as Uint8Array);

const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A member with a tiny in-memory map behind kv.range/kv.put/kv.deleteRange. */
async function member(extra: Record<string, Handler> = {}): Promise<FakeServer> {
  const data = new Map<string, string>();
  let rev = 1n;
  const kv = (k: string) => ({ key: enc(k), createRevision: 2n, modRevision: rev, version: 1n, value: enc(data.get(k)!), lease: 0n });
  const s = await startFakeServer({
    'kv.put': (req) => {
      const p = req.params as { key: Uint8Array; value: Uint8Array };
      data.set(dec(p.key), dec(p.value));
      return { header: header(++rev) };
    },
    'kv.range': (req) => {
      const p = req.params as { key: Uint8Array; rangeEnd?: Uint8Array };
      const lo = dec(p.key);
      const hi = p.rangeEnd ? dec(p.rangeEnd) : undefined;
      const keys = [...data.keys()].sort().filter((k) => (hi === undefined ? k === lo : k >= lo && (hi === '\0' || k < hi)));
      return { header: header(rev), kvs: keys.map(kv), more: false, count: keys.length };
    },
    'kv.deleteRange': (req) => {
      const p = req.params as { key: Uint8Array; rangeEnd?: Uint8Array };
      const lo = dec(p.key);
      const hi = p.rangeEnd ? dec(p.rangeEnd) : undefined;
      const keys = [...data.keys()].filter((k) => (hi === undefined ? k === lo : k >= lo && k < hi));
      for (const k of keys) data.delete(k);
      return { header: header(++rev), deleted: keys.length };
    },
    ...extra,
  });
  servers.push(s);
  return s;
}

const cli = runForTest;

describe('normaliseBooleanFlags', () => {
  it('rewrites --flag=true/false for booleans only, and not after --', () => {
    expect(normaliseBooleanFlags(['get', 'k', '--prefix=true', '--keys-only=false', '--limit=1', '--', '--hex=true'])).toEqual([
      'get',
      'k',
      '--prefix',
      '--limit=1',
      '--',
      '--hex=true',
    ]);
  });
});

describe('cairnctl against a member', () => {
  it('puts and gets, with global flags before or after the command and its arguments', async () => {
    const s = await member();
    expect(await cli([`--endpoints=${s.endpoint}`, 'put', 'greeting', 'hello, cairn'])).toEqual({ code: 0, out: 'OK\n', err: '' });
    expect(await cli(['get', 'greeting', `--endpoints=${s.endpoint}`])).toEqual({ code: 0, out: 'greeting\nhello, cairn\n', err: '' });
    expect(await cli(['get', '--endpoints', s.endpoint, 'greeting', '-w', 'json'])).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^\{"header":\{"cluster_id":4743315843036146612,"member_id":10057029971166822686,.*"value":"aGVsbG8sIGNhaXJu"\}\],"count":1\}\n$/),
    });
    expect((await cli(['--write-out=fields', 'get', 'greeting', '--print-value-only', `--endpoints=${s.endpoint}`])).out).toContain(
      '"Value" : "hello, cairn"',
    );
    expect((await cli(['get', 'greeting', '--print-value-only', `--endpoints=${s.endpoint}`])).out).toBe('hello, cairn\n');
  });

  it('reads the value from stdin when it is omitted, bytes intact', async () => {
    const s = await member();
    expect((await cli(['put', 'k', `--endpoints=${s.endpoint}`], 'line one\nline two\n')).out).toBe('OK\n');
    expect((await cli(['get', 'k', '--print-value-only', `--endpoints=${s.endpoint}`])).out).toBe('line one\nline two\n\n');
    expect(await cli(['put', 'k', `--endpoints=${s.endpoint}`])).toEqual({
      code: 128,
      out: '',
      err: 'Error: put command needs 1 argument and input from stdin or 2 arguments\n',
    });
  });

  it('deletes a prefix and prints the count', async () => {
    const s = await member();
    await cli(['put', 'k1', 'v1', `--endpoints=${s.endpoint}`]);
    await cli(['put', 'k2', 'v2', `--endpoints=${s.endpoint}`]);
    expect((await cli(['get', 'k', '--prefix', `--endpoints=${s.endpoint}`])).out).toBe('k1\nv1\nk2\nv2\n');
    expect((await cli(['del', 'k', '--prefix', `--endpoints=${s.endpoint}`])).out).toBe('2\n');
  });

  it('runs a txn script from stdin', async () => {
    let seen: unknown;
    const s = await member({
      'kv.txn': (req) => {
        seen = req.params;
        return { header: header(4n), succeeded: true, responses: [{ put: { header: header(4n) } }] };
      },
    });
    const script = 'value("/users/12345/email") = "old"\n\nput /users/12345/email "new"\n\nget /users/12345/email\n\n';
    expect(await cli(['txn', `--endpoints=${s.endpoint}`], script)).toEqual({ code: 0, out: 'SUCCESS\n\nOK\n', err: '' });
    expect(seen).toMatchObject({ compare: [{ target: 'value', result: 'equal' }], success: [{ put: {} }], failure: [{ range: {} }] });
    const interactive = await cli(['txn', '-i', `--endpoints=${s.endpoint}`], script);
    expect(interactive.out).toBe('compares:\nsuccess requests (get, put, del):\nfailure requests (get, put, del):\nSUCCESS\n\nOK\n');
    expect(await cli(['txn', `--endpoints=${s.endpoint}`], 'nonsense\n\n')).toEqual({
      code: 3,
      out: '',
      err: 'Error: malformed comparison: nonsense\n',
    });
  });

  it('prints server errors as one line with the mapped exit code', async () => {
    const s = await member({
      'kv.range': () => {
        throw new CairnError(ErrorCode.Compacted, 'mvcc: required revision has been compacted');
      },
      'kv.put': () => {
        throw new CairnError(ErrorCode.AuthFailed, 'authentication failed, invalid user ID or password');
      },
    });
    expect(await cli(['get', 'foo', '--rev=1', `--endpoints=${s.endpoint}`])).toEqual({
      code: 1,
      out: '',
      err: 'Error: mvcc: required revision has been compacted\n',
    });
    expect((await cli(['put', 'a', 'b', `--endpoints=${s.endpoint}`])).code).toBe(2);
  });

  it('times out with context deadline exceeded', async () => {
    const s = await member({ 'kv.range': () => NEVER });
    expect(await cli(['get', 'foo', '--command-timeout=100ms', `--endpoints=${s.endpoint}`])).toEqual({
      code: 1,
      out: '',
      err: 'Error: context deadline exceeded\n',
    });
  });

  it('reports a refused connection clearly, exit 2', async () => {
    // Port 1: nothing listens there, and no other test can take it (a port just closed could be).
    expect(await cli(['get', 'foo', '--dial-timeout=3s', '--endpoints=127.0.0.1:1'])).toEqual({
      code: 2,
      out: '',
      err: 'Error: cannot connect to 127.0.0.1:1: connection refused\n',
    });
  });

  it('checks health with a read, and fails the command when one endpoint is unhealthy', async () => {
    const s = await member();
    const ok = await cli(['endpoint', 'health', `--endpoints=${s.endpoint}`]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(new RegExp(`^${s.endpoint} is healthy: successfully committed proposal: took = [0-9.]+(µs|ms)\\n$`));
    const bad = await cli(['endpoint', 'health', '--dial-timeout=3s', `--endpoints=${s.endpoint},127.0.0.1:1`]);
    expect(bad.code).toBe(1);
    expect(bad.err).toBe(
      '127.0.0.1:1 is unhealthy: failed to commit proposal: cannot connect to 127.0.0.1:1: connection refused\nError: unhealthy cluster\n',
    );
  });

  it('prints endpoint status and member list, also via --cluster', async () => {
    const s = await member({
      'maintenance.status': () => ({
        header: header(5n),
        version: '0.1.0',
        dbSize: 20480n,
        dbSizeInUse: 20480n,
        leader: 0x8b91bf796edb011en,
        raftIndex: 10n,
        raftTerm: 2n,
        raftAppliedIndex: 10n,
        errors: [],
        isLearner: false,
      }),
      'cluster.memberList': () => ({
        header: header(5n),
        members: [{ id: 0x8b91bf796edb011en, name: 'm1', peerUrls: ['http://127.0.0.1:2380'], clientUrls: [`http://${s.endpoint}`], isLearner: false }],
      }),
    });
    expect((await cli(['endpoint', 'status', `--endpoints=${s.endpoint}`])).out).toBe(
      `${s.endpoint}, 8b91bf796edb011e, 0.1.0, 20 kB, true, false, 2, 10, 10, \n`,
    );
    expect((await cli(['endpoint', 'status', '--cluster', '-w', 'table', `--endpoints=${s.endpoint}`])).out).toContain(
      `| http://${s.endpoint} | 8b91bf796edb011e |`,
    );
    expect((await cli(['member', 'list', `--endpoints=${s.endpoint}`])).out).toBe(
      `8b91bf796edb011e, started, m1, http://127.0.0.1:2380, http://${s.endpoint}, false\n`,
    );
  });
});

describe('argument errors', () => {
  it.each<[string[], number, string]>([
    [['get'], 128, 'Error: get command needs one argument as key and an optional argument as range_end\n'],
    [['get', 'a', '--prefix', '--from-key'], 128, 'Error: `--prefix` and `--from-key` cannot be set at the same time, choose one\n'],
    [['get', 'a', 'b', '--prefix'], 128, 'Error: too many arguments, only accept one argument when `--prefix` or `--from-key` is set\n'],
    [['get', 'a', '--consistency=x'], 4, 'Error: unknown consistency flag "x"\n'],
    [['get', 'a', '--order=UP'], 4, 'Error: bad sort order UP\n'],
    [['get', 'a', '--limit=x'], 128, 'Error: invalid argument "x" for "--limit" flag: strconv.ParseInt: parsing "x": invalid syntax\n'],
    [['get', 'a', '-w', 'protobuf'], 4, 'Error: protobuf output is not supported by cairnctl (the wire format is MessagePack); use json\n'],
    [['get', 'a', '--dial-timeout=2'], 128, 'Error: invalid argument "2" for "--dial-timeout" flag: time: missing unit in duration "2"\n'],
    [['put', 'a', 'b', '--lease=xyz'], 128, 'Error: bad lease ID (strconv.ParseInt: parsing "xyz": invalid syntax), expecting ID in Hex\n'],
    [['put', 'a', 'b', 'c'], 128, "Error: too many arguments for 'put'. Expected 2 arguments but got 3.\n"],
    [['del'], 128, 'Error: del command needs one argument as key and an optional argument as range_end\n'],
    [['compaction'], 128, 'Error: compaction command needs 1 argument\n'],
    [['compaction', 'x'], 1, 'Error: strconv.ParseInt: parsing "x": invalid syntax\n'],
    [['get', 'a', '--bogus'], 128, "Error: unknown option '--bogus'\n"],
    [['gett', 'a'], 128, "Error: unknown command 'gett' (Did you mean get?)\n"],
    [['get', 'a', '--user=name'], 128, 'Error: a password is needed with --user: use --user=name:password or --password (stdin is not a terminal to ask on)\n'],
  ])('%j -> exit %d', async (argv, code, err) => {
    expect(await cli(argv)).toEqual({ code, out: '', err });
  });

  it('prints the version without connecting', async () => {
    expect(await cli(['version'])).toEqual({ code: 0, out: 'cairnctl version: 0.1.0\nAPI version: 1\n', err: '' });
  });
});
