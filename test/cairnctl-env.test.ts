/**
 * cairnctl operated like etcdctl, against real daemons: ETCDCTL_* variables, the TLS and
 * keepalive flags, get --count-only on an empty range, the oversize message, and a data dir
 * another process holds (daemon and cairnutl).
 */
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pkiForTests } from './support/certs.js';
import { CAIRN_BIN, ctl, freePort, runBin, singleMember } from './support/process.js';
import { utl } from './support/utl.js';

let m: Awaited<ReturnType<typeof singleMember>>;
beforeAll(async () => {
  m = await singleMember('env');
});
afterAll(async () => {
  await m.cleanup();
});

/** Listens on 127.0.0.1:2379 when it is free, counting connections; undefined when another process has it. */
async function listenOnDefaultPort(): Promise<{ server: Server; connections: () => number } | undefined> {
  let n = 0;
  const server = createServer((s) => {
    n++;
    s.destroy();
  });
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(2379, '127.0.0.1', () => resolve(true));
  });
  return bound ? { server, connections: () => n } : undefined;
}

describe('ETCDCTL_* environment', () => {
  it('ETCDCTL_ENDPOINTS picks the member on a non-default port; 127.0.0.1:2379 is not contacted', async () => {
    const trap = await listenOnDefaultPort();
    try {
      const env = { ETCDCTL_ENDPOINTS: m.member.endpoint };
      expect(await ctl(['put', 'env-k', 'v1'], { env })).toEqual({ code: 0, stdout: 'OK\n', stderr: '' });
      expect(await ctl([`--endpoints=${m.member.endpoint}`, 'get', 'env-k'])).toEqual({ code: 0, stdout: 'env-k\nv1\n', stderr: '' });
      expect(await ctl(['get', 'env-k', '--print-value-only'], { env: { ...env, ETCDCTL_WRITE_OUT: 'simple', ETCDCTL_HEX: 'true' } })).toEqual({
        code: 0,
        stdout: '\\x76\\x31\n',
        stderr: '',
      });
      // Where 2379 was free to watch, nothing knocked on it.
      if (trap !== undefined) expect(trap.connections()).toBe(0);
    } finally {
      trap?.server.close();
    }
  });

  it('a flag and its ETCDCTL_ variable together: the error etcdctl gives, exit 1', async () => {
    const r = await ctl([`--endpoints=${m.member.endpoint}`, 'get', 'env-k'], { env: { ETCDCTL_ENDPOINTS: m.member.endpoint } });
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'Error: conflicting environment variable "ETCDCTL_ENDPOINTS" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)\n',
    });
  });

  it('ETCDCTL_API=3 is accepted, 2 is refused clearly', async () => {
    const env = { ETCDCTL_ENDPOINTS: m.member.endpoint };
    expect(await ctl(['get', 'env-k', '--print-value-only'], { env: { ...env, ETCDCTL_API: '3' } })).toMatchObject({ code: 0, stdout: 'v1\n' });
    const two = await ctl(['get', 'env-k'], { env: { ...env, ETCDCTL_API: '2' } });
    expect(two.code).toBe(1);
    expect(two.stderr).toBe('Error: ETCDCTL_API=2 is not supported: cairnctl speaks only the v3 API (unset ETCDCTL_API or set it to 3)\n');
  });

  it('get --count-only prints 0 for an empty range (simple), the count in fields', async () => {
    const E = `--endpoints=${m.member.endpoint}`;
    expect(await ctl([E, 'get', '--count-only', 'no-such-key'])).toEqual({ code: 0, stdout: '0\n', stderr: '' });
    expect(await ctl([E, 'get', '--count-only', '--prefix', 'env-'])).toEqual({ code: 0, stdout: '1\n', stderr: '' });
    const fields = await ctl([E, '-w', 'fields', 'get', '--count-only', 'no-such-key']);
    expect(fields.stdout).toContain('"Count" : 0\n');
  });

  it('a put over --max-request-bytes names its size and the limit', async () => {
    const r = await ctl([`--endpoints=${m.member.endpoint}`, 'put', 'big'], { stdin: 'x'.repeat(2 * 1024 * 1024) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: request is too large: \d+ bytes, limit 1572864\n$/);
  });

  it('--keepalive-time and --keepalive-timeout are accepted (a ping every 50ms does not break a command); a bad duration is refused', async () => {
    const r = await ctl([`--endpoints=${m.member.endpoint}`, '--keepalive-time=50ms', '--keepalive-timeout=2s', 'get', 'env-k', '--print-value-only']);
    expect(r).toEqual({ code: 0, stdout: 'v1\n', stderr: '' });
    const bad = await ctl([`--endpoints=${m.member.endpoint}`, '--keepalive-time=soon', 'get', 'env-k']);
    expect(bad.code).toBe(128);
    expect(bad.stderr).toMatch(/^Error: invalid argument "soon" for "--keepalive-time" flag/);
  });
});

describe('auth and TLS from the environment', () => {
  it('ETCDCTL_USER and ETCDCTL_PASSWORD authenticate', async () => {
    const a = await singleMember('envauth');
    try {
      const E = `--endpoints=${a.member.endpoint}`;
      expect((await ctl([E, 'user', 'add', 'root', '--new-user-password=rootpw'])).code).toBe(0);
      expect((await ctl([E, 'role', 'add', 'root'])).code).toBe(0);
      expect((await ctl([E, 'user', 'grant-role', 'root', 'root'])).code).toBe(0);
      expect((await ctl([E, 'auth', 'enable'])).code).toBe(0);
      const anonymous = await ctl([E, 'put', 'k', 'v']);
      expect(anonymous.code).not.toBe(0);
      const env = { ETCDCTL_ENDPOINTS: a.member.endpoint, ETCDCTL_USER: 'root', ETCDCTL_PASSWORD: 'rootpw' };
      expect(await ctl(['put', 'k', 'v'], { env })).toEqual({ code: 0, stdout: 'OK\n', stderr: '' });
      expect(await ctl(['get', 'k'], { env: { ETCDCTL_ENDPOINTS: a.member.endpoint, ETCDCTL_USER: 'root:rootpw' } })).toMatchObject({ code: 0, stdout: 'k\nv\n' });
      const wrong = await ctl(['get', 'k'], { env: { ...env, ETCDCTL_PASSWORD: 'nope' } });
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toMatch(/authentication failed/);
    } finally {
      await a.cleanup();
    }
  });

const certs = pkiForTests('cairn-pki-');

  it('--insecure-skip-tls-verify (or ETCDCTL_INSECURE_SKIP_TLS_VERIFY) talks TLS to a member whose certificate it does not trust', async () => {
    const t = await singleMember('envtls', {
      extraArgs: [`--cert-file=${certs.pki.serverCert}`, `--key-file=${certs.pki.serverKey}`],
      tls: { ca: certs.pki.read(certs.pki.caCert) },
    });
    try {
      const E = `--endpoints=${t.member.endpoint}`;
      const untrusted = await ctl([E, '--insecure-transport=false', '--dial-timeout=2s', 'put', 'k', 'v']);
      expect(untrusted.code).toBe(2);
      expect(untrusted.stderr).toMatch(/certificate signed by unknown authority/);
      expect(await ctl([E, '--insecure-skip-tls-verify', 'put', 'k', 'v'])).toEqual({ code: 0, stdout: 'OK\n', stderr: '' });
      const env = { ETCDCTL_ENDPOINTS: t.member.endpoint, ETCDCTL_INSECURE_SKIP_TLS_VERIFY: 'true' };
      expect(await ctl(['get', 'k', '--print-value-only'], { env })).toEqual({ code: 0, stdout: 'v\n', stderr: '' });
    } finally {
      await t.cleanup();
    }
  });
});

describe('a data dir another process holds', () => {
  it('a second daemon and cairnutl say the data dir is locked, name it, and exit non-zero', async () => {
    const held = join(m.dir, 'env.cairn');
    const second = await runBin(
      'cairn',
      CAIRN_BIN,
      [`--name=other`, `--data-dir=${held}`, `--listen-client-urls=http://127.0.0.1:${await freePort()}`, `--listen-peer-urls=http://127.0.0.1:${await freePort()}`],
      { timeoutMs: 30_000 },
    );
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain(`cannot open the data directory ${held}: it is locked by another process (RocksDB lock file ${join(held, 'member', 'db', 'LOCK')} is held)`);
    for (const args of [['hashkv', `--data-dir=${held}`], ['defrag', `--data-dir=${held}`]]) {
      const r = await utl(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toContain(`cannot open the data directory ${held}: it is locked by another process`);
    }
    // The member that holds it goes on serving.
    expect(await ctl([`--endpoints=${m.member.endpoint}`, 'get', 'env-k', '--print-value-only'])).toMatchObject({ code: 0, stdout: 'v1\n' });
  });
});
