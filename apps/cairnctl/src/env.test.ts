import { afterEach, describe, expect, it } from 'vitest';
import { header, startFakeServer, type FakeServer } from '../../../packages/client/test/fakeServer.js';
import { loadTls } from './context.js';
import { checkEnvironment } from './env.js';
import { runForTest } from './testing/run.js';

const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A member that answers every range with one key named after itself, so a test sees who answered. */
async function named(name: string): Promise<FakeServer> {
  const enc = (s: string) => new TextEncoder().encode(s);
  const s = await startFakeServer({
    'kv.range': (req) => {
      const countOnly = (req.params as { countOnly?: boolean }).countOnly === true;
      const kv = { key: enc('who'), createRevision: 2n, modRevision: 2n, version: 1n, value: enc(name), lease: 0n };
      return { header: header(2n), kvs: countOnly ? [] : [kv], more: false, count: name === 'empty' ? 0 : 1 };
    },
  });
  servers.push(s);
  return s;
}

describe('ETCDCTL_* and CAIRNCTL_* variables', () => {
  it('ETCDCTL_ENDPOINTS is used; CAIRNCTL_ENDPOINTS still works; ETCDCTL_ beats CAIRNCTL_', async () => {
    const a = await named('a');
    const b = await named('b');
    expect(await runForTest(['get', 'who', '--print-value-only'], '', { ETCDCTL_ENDPOINTS: a.endpoint })).toEqual({ code: 0, out: 'a\n', err: '' });
    expect(await runForTest(['get', 'who', '--print-value-only'], '', { CAIRNCTL_ENDPOINTS: b.endpoint })).toEqual({ code: 0, out: 'b\n', err: '' });
    expect(await runForTest(['get', 'who', '--print-value-only'], '', { CAIRNCTL_ENDPOINTS: b.endpoint, ETCDCTL_ENDPOINTS: a.endpoint })).toMatchObject({ out: 'a\n' });
    // The flag beats CAIRNCTL_ quietly, as before.
    expect(await runForTest([`--endpoints=${a.endpoint}`, 'get', 'who', '--print-value-only'], '', { CAIRNCTL_ENDPOINTS: b.endpoint })).toEqual({ code: 0, out: 'a\n', err: '' });
  });

  it('a flag together with its ETCDCTL_ variable is an error (exit 1), as in etcdctl 3.4', async () => {
    const a = await named('a');
    for (const [flag, name, value] of [
      [`--endpoints=${a.endpoint}`, 'ETCDCTL_ENDPOINTS', a.endpoint],
      ['--hex', 'ETCDCTL_HEX', 'true'],
      ['--user=root:x', 'ETCDCTL_USER', 'root:x'],
      ['--keepalive-time=1s', 'ETCDCTL_KEEPALIVE_TIME', '1s'],
    ] as const) {
      const r = await runForTest([`--endpoints=${a.endpoint}`, flag, 'get', 'who'].filter((x, i, all) => all.indexOf(x) === i), '', { [name]: value });
      expect(r, name).toEqual({
        code: 1,
        out: '',
        err: `Error: conflicting environment variable "${name}" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)\n`,
      });
    }
  });

  it('boolean and duration variables take effect; a bad boolean is refused', async () => {
    const a = await named('a');
    const env = { ETCDCTL_ENDPOINTS: a.endpoint };
    expect(await runForTest(['get', 'who', '--print-value-only'], '', { ...env, ETCDCTL_HEX: '1' })).toMatchObject({ code: 0, out: '\\x61\n' });
    expect(await runForTest(['get', 'who'], '', { ...env, ETCDCTL_WRITE_OUT: 'json' })).toMatchObject({ code: 0, out: expect.stringMatching(/^\{"header"/) as unknown });
    expect(await runForTest(['get', 'who'], '', { ...env, ETCDCTL_HEX: 'yes' })).toEqual({ code: 128, out: '', err: 'Error: invalid value "yes" for ETCDCTL_HEX: want true or false\n' });
    const bad = await runForTest(['get', 'who'], '', { ...env, ETCDCTL_DIAL_TIMEOUT: 'soon' });
    expect(bad.code).toBe(128);
    expect(bad.err).toMatch(/^Error: invalid argument "soon" for "--dial-timeout" flag/);
  });

  it('checks ETCDCTL_API, refuses SRV discovery it cannot do, warns about unknown names', () => {
    const warnings: string[] = [];
    const warn = (l: string) => warnings.push(l);
    expect(() => checkEnvironment({ ETCDCTL_API: '3', ETCDCTL_ENDPOINTS: 'x' }, warn)).not.toThrow();
    expect(() => checkEnvironment({ ETCDCTL_API: '2' }, warn)).toThrow('ETCDCTL_API=2 is not supported: cairnctl speaks only the v3 API');
    expect(() => checkEnvironment({ ETCDCTL_API: '4' }, warn)).toThrow('unsupported API version 4');
    expect(() => checkEnvironment({ ETCDCTL_DISCOVERY_SRV: 'example.com' }, warn)).toThrow(/not supported by cairnctl; set ETCDCTL_ENDPOINTS/);
    expect(warnings).toEqual([]);
    checkEnvironment({ ETCDCTL_FOO: '1', ETCDCTL_INSECURE_DISCOVERY: 'true' }, warn);
    expect(warnings).toEqual(['unrecognized environment variable ETCDCTL_FOO=1\n']);
  });
});

describe('TLS flags', () => {
  const base = { endpoints: 'x', writeOut: 'simple', dialTimeout: '2s', commandTimeout: '5s', keepaliveTime: '2s', keepaliveTimeout: '6s' };
  it('plaintext by default; --insecure-transport=false or --insecure-skip-tls-verify alone turn TLS on', () => {
    expect(loadTls({ ...base, insecureTransport: true })).toBeUndefined();
    expect(loadTls({ ...base, insecureTransport: false })).toEqual({});
    expect(loadTls({ ...base, insecureTransport: true, insecureSkipTlsVerify: true })).toEqual({ insecureSkipVerify: true });
  });
});

describe('get --count-only', () => {
  it('prints the count in the simple format, 0 included', async () => {
    const e = await named('empty');
    const one = await named('a');
    expect(await runForTest([`--endpoints=${e.endpoint}`, 'get', '--count-only', 'k'])).toEqual({ code: 0, out: '0\n', err: '' });
    expect(await runForTest([`--endpoints=${one.endpoint}`, 'get', '--count-only', 'k'])).toEqual({ code: 0, out: '1\n', err: '' });
  });
});
