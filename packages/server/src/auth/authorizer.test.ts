import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@cairn/protocol';
import { Applier } from '../apply/applier.js';
import { encodeWriteRequest } from '../apply/requests.js';
import { MemoryBackend } from '../storage/memory.js';
import { b } from '../testing/harness.js';
import { Authorizer } from './authorizer.js';
import type { AuthOp } from './ops.js';
import { hashPassword, verifyPassword } from './password.js';
import { issueToken, readToken } from './token.js';

const header = (revision: number) => ({ clusterId: 1n, memberId: 2n, revision: BigInt(revision), raftTerm: 1n });

async function enabledStore(): Promise<Applier> {
  const applier = Applier.load(new MemoryBackend(), header);
  const ops: AuthOp[] = [
    { op: 'roleAdd', name: 'root' },
    { op: 'userAdd', name: 'root', passwordHash: await hashPassword('rootpw') },
    { op: 'userGrantRole', user: 'root', role: 'root' },
    { op: 'roleAdd', name: 'r' },
    { op: 'roleGrantPermission', name: 'r', perm: { permType: 'read', key: b('k') } },
    { op: 'userAdd', name: 'u', passwordHash: await hashPassword('pw') },
    { op: 'userGrantRole', user: 'u', role: 'r' },
    { op: 'enable', secret: new Uint8Array(32).fill(1) },
  ];
  ops.forEach((op, i) => {
    const o = applier.apply(BigInt(i + 1), encodeWriteRequest({ auth: op }));
    if (!o.ok) throw o.error;
  });
  return applier;
}

const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

describe('passwords and tokens', () => {
  it('hashes with a random salt and verifies', async () => {
    const h1 = await hashPassword('secret');
    const h2 = await hashPassword('secret');
    expect(h1).not.toBe(h2);
    expect(h1).not.toContain('secret');
    expect(await verifyPassword('secret', h1)).toBe(true);
    expect(await verifyPassword('Secret', h1)).toBe(false);
    expect(await verifyPassword('secret', undefined)).toBe(false);
    expect(await verifyPassword('secret', 'garbage')).toBe(false);
  });

  it('tokens verify only with the secret that signed them', () => {
    const s1 = new Uint8Array(32).fill(1);
    const t = issueToken(s1, { user: 'u', authRevision: 3n, expiresAtMs: 10 });
    expect(readToken(s1, t)).toEqual({ user: 'u', authRevision: 3n, expiresAtMs: 10 });
    expect(readToken(new Uint8Array(32).fill(2), t)).toBeUndefined();
    const [payload, mac] = t.split('.');
    const forged = Buffer.from(JSON.stringify({ u: 'root', r: '3', e: 10 })).toString('base64url');
    expect(readToken(s1, `${forged}.${mac}`)).toBeUndefined();
    expect(readToken(s1, `${payload}`)).toBeUndefined();
    expect(readToken(s1, '')).toBeUndefined();
  });
});

describe('authorizer', () => {
  it('authenticates, expires tokens, and checks against the current grants', async () => {
    const applier = await enabledStore();
    let now = 1_000_000;
    const auth = new Authorizer(() => applier.auth, { now: () => now }, 10);
    await expect(auth.authenticate('u', 'nope')).rejects.toMatchObject({ code: ErrorCode.AuthFailed });
    await expect(auth.authenticate('ghost', 'pw')).rejects.toMatchObject({ code: ErrorCode.AuthFailed });
    const token = await auth.authenticate('u', 'pw');
    const caller = { token };
    expect(auth.user(caller)).toBe('u');
    expect(code(() => auth.range(caller, { key: b('k') }))).toBeUndefined();
    expect(code(() => auth.put(caller, { key: b('k'), value: b('v') }))).toBe(ErrorCode.PermissionDenied);
    expect(code(() => auth.range({}, { key: b('k') }))).toBe(ErrorCode.UserEmpty);
    expect(code(() => auth.admin(caller))).toBe(ErrorCode.PermissionDenied);
    expect(code(() => auth.range({ token: 'x.y' }, { key: b('k') }))).toBe(ErrorCode.InvalidAuthToken);
    // Txn: compares need read, both branches are checked.
    const txn = { compare: [], success: [{ range: { key: b('k') } }], failure: [{ put: { key: b('k'), value: b('v') } }] };
    expect(code(() => auth.txn(caller, txn))).toBe(ErrorCode.PermissionDenied);
    expect(code(() => auth.watch(caller, b('k'), undefined))).toBeUndefined();
    expect(code(() => auth.watch(caller, b('k'), b('l')))).toBe(ErrorCode.PermissionDenied);
    expect(code(() => auth.leaseRevoke(caller, undefined, [b('k')]))).toBe(ErrorCode.PermissionDenied);
    // A password change logs out tokens issued before it.
    const root = await auth.authenticate('root', 'rootpw');
    expect(auth.user({ token: root })).toBe('root');
    const o = applier.apply(applier.appliedIndex + 1n, encodeWriteRequest({ auth: { op: 'userChangePassword', name: 'root', passwordHash: await hashPassword('new') } }));
    expect(o.ok).toBe(true);
    expect(code(() => auth.user({ token: root }))).toBe(ErrorCode.InvalidAuthToken);
    expect(auth.user({ token: await auth.authenticate('root', 'new') })).toBe('root');
    // Expiry.
    now += 10_001;
    expect(code(() => auth.user(caller))).toBe(ErrorCode.InvalidAuthToken);
    // A certificate name stands for a user that exists.
    expect(auth.user({ certUser: 'root' })).toBe('root');
    expect(code(() => auth.user({ certUser: 'ghost' }))).toBe(ErrorCode.AuthFailed);
  });
});

describe('long-lived streams and leases', () => {
  it('a watch is checked again against the store: permission, deletion, password change, auth enabled', async () => {
    const applier = await enabledStore();
    const auth = new Authorizer(() => applier.auth, { now: () => 0 }, 10);
    const apply = (op: AuthOp): void => {
      const o = applier.apply(applier.appliedIndex + 1n, encodeWriteRequest({ auth: op }));
      if (!o.ok) throw o.error;
    };
    const who = auth.principal({ token: await auth.authenticate('u', 'pw') });
    expect(who).toMatchObject({ user: 'u' });
    expect(auth.watchDenial(who, b('k'), undefined)).toBeUndefined();
    // Opened while auth was off: no user once it is on.
    expect(auth.watchDenial(undefined, b('k'), undefined)?.message).toMatch(/authentication was enabled/);
    apply({ op: 'userChangePassword', name: 'u', passwordHash: await hashPassword('new') });
    expect(auth.watchDenial(who, b('k'), undefined)?.message).toMatch(/password of user "u" changed/);
    const again = auth.principal({ token: await auth.authenticate('u', 'new') });
    expect(auth.watchDenial(again, b('k'), undefined)).toBeUndefined();
    apply({ op: 'roleRevokePermission', name: 'r', key: b('k') });
    expect(auth.watchDenial(again, b('k'), undefined)).toMatchObject({ code: ErrorCode.PermissionDenied, message: expect.stringMatching(/no longer has read permission on "k"/) });
    apply({ op: 'userDelete', name: 'u' });
    expect(auth.watchDenial(again, b('k'), undefined)?.message).toMatch(/user "u" was deleted/);
    apply({ op: 'disable' });
    expect(auth.watchDenial(again, b('k'), undefined)).toBeUndefined();
  });

  it('leases: the owner or root; an owner-less lease: whoever may write all its keys', async () => {
    const applier = await enabledStore();
    const auth = new Authorizer(() => applier.auth, { now: () => 0 }, 10);
    const u = { certUser: 'u' };
    const root = { certUser: 'root' };
    expect(code(() => auth.lease(u, 'u', []))).toBeUndefined();
    expect(code(() => auth.lease(u, 'someone', []))).toBe(ErrorCode.PermissionDenied);
    expect(code(() => auth.lease(root, 'someone', [b('x')]))).toBeUndefined();
    expect(code(() => auth.lease({}, 'u', []))).toBe(ErrorCode.UserEmpty);
    // u may only read k: an owner-less lease with k attached is not u's to keep.
    expect(code(() => auth.lease(u, undefined, [b('k')]))).toBe(ErrorCode.PermissionDenied);
    expect(code(() => auth.leaseRevoke(u, 'u', [b('k')]))).toBe(ErrorCode.PermissionDenied);
    expect(auth.leaseRevoke(root, 'u', [b('k')])).toEqual({ user: 'root', authRevision: applier.auth.revision });
    expect(auth.mayRead(u, b('k'))).toBe(true);
    expect(auth.mayRead(u, b('other'))).toBe(false);
  });
});
