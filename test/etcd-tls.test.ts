/**
 * etcd's gRPC and Cairn's WebSocket on one TLS client port (ALPN h2 vs http/1.1), with
 * --client-cert-auth: real etcdctl presents a client certificate whose CN is the user.
 */
import { describe, expect, it } from 'vitest';
import { ctl, singleMember } from './support/process.js';
import { pkiForTests } from './support/certs.js';
import { etcdctl, etcdToolsMissing } from './support/etcd.js';

const missing = etcdToolsMissing(['etcdctl']);
if (missing !== undefined) console.warn(`etcd-tls.test.ts skipped: ${missing}`);
const certs = pkiForTests('etcd-tls-');

describe.skipIf(missing !== undefined)('etcdctl over TLS with client certificates', () => {
  it('serves gRPC and the WebSocket on the same TLS port; the certificate CN is the user', async () => {
    const root = certs.pki.client('root');
    const user0 = certs.pki.client('user0');
    const stranger = certs.pki.client('root', true);
    const m = await singleMember('tls', {
      extraArgs: [`--cert-file=${certs.pki.serverCert}`, `--key-file=${certs.pki.serverKey}`, `--trusted-ca-file=${certs.pki.caCert}`, '--client-cert-auth'],
      tls: { ca: certs.pki.read(certs.pki.caCert), cert: certs.pki.read(root.cert), key: certs.pki.read(root.key) },
    });
    try {
      const ep = m.member.endpoint;
      const as = (c: { cert: string; key: string }): string[] => [`--cacert=${certs.pki.caCert}`, `--cert=${c.cert}`, `--key=${c.key}`, '--dial-timeout=3s'];
      // etcdctl (gRPC, ALPN h2) and cairnctl (WebSocket, HTTP/1.1) side by side on one port.
      expect(await etcdctl(ep, [...as(root), 'put', 'k', 'v'])).toMatchObject({ code: 0, stdout: 'OK\n' });
      expect(await ctl([`--endpoints=${ep}`, `--cacert=${certs.pki.caCert}`, `--cert=${root.cert}`, `--key=${root.key}`, 'get', 'k'])).toMatchObject({ code: 0, stdout: 'k\nv\n' });
      // No certificate, or one from another CA: refused at the handshake.
      expect((await etcdctl(ep, [`--cacert=${certs.pki.caCert}`, '--dial-timeout=2s', '--command-timeout=3s', 'get', 'k'])).code).not.toBe(0);
      expect((await etcdctl(ep, [...as(stranger), '--command-timeout=3s', 'get', 'k'])).code).not.toBe(0);
      for (const args of [
        ['user', 'add', 'root:rootpw'],
        ['role', 'add', 'r0'],
        ['role', 'grant-permission', 'r0', 'readwrite', 'foo'],
        ['user', 'add', 'user0:pw0'],
        ['user', 'grant-role', 'user0', 'r0'],
        ['auth', 'enable'],
      ]) {
        // (etcdctl's `auth enable` makes the root role and grants it to root, as against etcd)
        const r = await etcdctl(ep, [...as(root), ...args]);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      }
      // No password given: the certificate's common name is the user.
      expect(await etcdctl(ep, [...as(user0), 'put', 'foo', 'bar'])).toMatchObject({ code: 0, stdout: 'OK\n' });
      const denied = await etcdctl(ep, [...as(user0), 'put', 'other', 'x']);
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toContain('etcdserver: permission denied');
      expect((await etcdctl(ep, [...as(root), 'user', 'list'])).stdout).toBe('root\nuser0\n');
    } finally {
      await m.cleanup();
    }
  }, 60_000);
});
