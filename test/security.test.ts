/**
 * TLS on the client port (good certificate, wrong CA, missing client certificate, the
 * certificate's common name as the user) and the backend quota with its NOSPACE alarm,
 * against the real daemon and cairnctl.
 */
import { describe, expect, it } from 'vitest';
import { CairnClient, ErrorCode, type CairnError } from '@cairn/client';
import { pkiForTests } from './support/certs.js';
import { ctl, singleMember, waitFor } from './support/process.js';

const certs = pkiForTests('cairn-pki-');

describe('TLS', () => {
  it('serves wss with a good certificate and refuses a client that does not trust it', async () => {
    const m = await singleMember('tls', {
      extraArgs: [`--cert-file=${certs.pki.serverCert}`, `--key-file=${certs.pki.serverKey}`],
      tls: { ca: certs.pki.read(certs.pki.caCert) },
    });
    try {
      const ep = m.member.endpoint;
      expect(await ctl([`--endpoints=${ep}`, `--cacert=${certs.pki.caCert}`, 'put', 'k', 'v'])).toEqual({ code: 0, stdout: 'OK\n', stderr: '' });
      expect(await ctl([`--endpoints=https://${ep}`, `--cacert=${certs.pki.caCert}`, 'get', 'k'])).toEqual({ code: 0, stdout: 'k\nv\n', stderr: '' });
      // Wrong CA: the member's certificate does not verify.
      const wrong = await ctl([`--endpoints=https://${ep}`, `--cacert=${certs.pki.wrongCaCert}`, '--dial-timeout=2s', 'get', 'k']);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toMatch(/^Error: .*certificate signed by unknown authority/);
      // Plain ws to a TLS port gets nowhere.
      const plain = await ctl([`--endpoints=${ep}`, '--dial-timeout=1s', 'get', 'k']);
      expect(plain.code).toBe(2);
    } finally {
      await m.cleanup();
    }
  });

  it('with --client-cert-auth: requires a client certificate from the trusted CA; its CN is the user', async () => {
    const root = certs.pki.client('root');
    const user0 = certs.pki.client('user0');
    const stranger = certs.pki.client('root', true);
    const m = await singleMember('mtls', {
      extraArgs: [`--cert-file=${certs.pki.serverCert}`, `--key-file=${certs.pki.serverKey}`, `--trusted-ca-file=${certs.pki.caCert}`, '--client-cert-auth'],
      tls: { ca: certs.pki.read(certs.pki.caCert), cert: certs.pki.read(root.cert), key: certs.pki.read(root.key) },
    });
    try {
      const e = [`--endpoints=${m.member.endpoint}`, `--cacert=${certs.pki.caCert}`, '--dial-timeout=2s'];
      const as = (c: { cert: string; key: string }) => [...e, `--cert=${c.cert}`, `--key=${c.key}`];
      // Missing client certificate, or one from another CA: the handshake fails.
      const missing = await ctl([...e, 'get', 'k']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/^Error: /);
      const wrongCa = await ctl([...as(stranger), 'get', 'k']);
      expect(wrongCa.code).toBe(2);
      // A good certificate works.
      expect(await ctl([...as(root), 'role', 'add', 'root'])).toMatchObject({ code: 0, stdout: 'Role root created\n' });
      expect(await ctl([...as(root), 'user', 'add', 'root', '--new-user-password=pw'])).toMatchObject({ code: 0 });
      expect(await ctl([...as(root), 'user', 'grant-role', 'root', 'root'])).toMatchObject({ code: 0 });
      expect(await ctl([...as(root), 'role', 'add', 'role0'])).toMatchObject({ code: 0 });
      expect(await ctl([...as(root), 'role', 'grant-permission', 'role0', 'readwrite', 'foo'])).toMatchObject({ code: 0 });
      expect(await ctl([...as(root), 'user', 'add', 'user0', '--new-user-password=123'])).toMatchObject({ code: 0 });
      expect(await ctl([...as(root), 'user', 'grant-role', 'user0', 'role0'])).toMatchObject({ code: 0 });
      expect(await ctl([...as(root), 'auth', 'enable'])).toEqual({ code: 0, stdout: 'Authentication Enabled\n', stderr: '' });
      // No token: the certificate's common name is the user.
      expect(await ctl([...as(user0), 'put', 'foo', 'bar'])).toEqual({ code: 0, stdout: 'OK\n', stderr: '' });
      expect(await ctl([...as(user0), 'get', 'foo1'])).toEqual({ code: 1, stdout: '', stderr: 'Error: permission denied\n' });
      expect(await ctl([...as(root), 'user', 'list'])).toEqual({ code: 0, stdout: 'root\nuser0\n', stderr: '' });
      // A token, when given, wins over the certificate.
      expect(await ctl([...as(root), '--user=user0:123', 'user', 'list'])).toEqual({ code: 1, stdout: '', stderr: 'Error: permission denied\n' });
    } finally {
      await m.cleanup();
    }
  });
});

describe('quota', () => {
  it('past --quota-backend-bytes writes fail, NOSPACE is raised; deletes work; disarm clears it', async () => {
    // One byte: any database is over it, so the very first write trips the quota.
    const m = await singleMember('quota', { extraArgs: ['--quota-backend-bytes=1'] });
    try {
      const e = `--endpoints=${m.member.endpoint}`;
      expect(await ctl([e, 'put', 'k', 'v'])).toEqual({ code: 1, stdout: '', stderr: 'Error: database space exceeded\n' });
      const c = new CairnClient({ endpoints: [m.member.endpoint] });
      try {
        const id = (await c.maintenance.status()).header.memberId;
        // The alarm is raised through the log; wait for it to be applied.
        await waitFor('the NOSPACE alarm', async () => (await c.maintenance.alarmList()).alarms.length > 0, 10_000);
        expect(await ctl([e, 'alarm', 'list'])).toEqual({ code: 0, stdout: `memberID:${id} alarm:NOSPACE\n`, stderr: '' });
        // Reads, deletes and compaction still work, so an operator can make room.
        expect(await ctl([e, 'get', 'k'])).toEqual({ code: 0, stdout: '', stderr: '' });
        expect(await ctl([e, 'del', 'k'])).toEqual({ code: 0, stdout: '0\n', stderr: '' });
        const txn = await c.txn().then({ put: { key: new TextEncoder().encode('t'), value: new Uint8Array([1]) } }).commit().catch((err: CairnError) => err.code);
        expect(txn).toBe(ErrorCode.NoSpace);
        expect(await ctl([e, 'alarm', 'disarm'])).toEqual({ code: 0, stdout: `memberID:${id} alarm:NOSPACE\n`, stderr: '' });
        expect(await ctl([e, 'alarm', 'list'])).toEqual({ code: 0, stdout: '', stderr: '' });
      } finally {
        c.close();
      }
    } finally {
      await m.cleanup();
    }
  });
});
