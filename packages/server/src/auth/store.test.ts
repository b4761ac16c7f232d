import { describe, expect, it } from 'vitest';
import { ErrorCode, FROM_KEY_END, encodeValue } from '@cairn/protocol';
import { Applier } from '../apply/applier.js';
import { decodeWriteRequest, encodeWriteRequest, type WriteRequest } from '../apply/requests.js';
import { MemoryBackend } from '../storage/memory.js';
import { b } from '../testing/harness.js';
import type { AuthOp } from './ops.js';
import { AuthStore } from './store.js';

const header = (revision: number) => ({ clusterId: 1n, memberId: 2n, revision: BigInt(revision), raftTerm: 1n });
const secret = new Uint8Array(32).fill(7);

function applyAll(backend: MemoryBackend, ops: AuthOp[]): { applier: Applier; codes: (string | undefined)[] } {
  const applier = Applier.load(backend, header);
  const codes = ops.map((op, i) => {
    const o = applier.apply(BigInt(i + 1), encodeWriteRequest({ auth: op }));
    return o.ok ? undefined : o.error.code;
  });
  return { applier, codes };
}

const setup: AuthOp[] = [
  { op: 'roleAdd', name: 'root' },
  { op: 'userAdd', name: 'root', passwordHash: 'scrypt$x' },
  { op: 'userGrantRole', user: 'root', role: 'root' },
  { op: 'roleAdd', name: 'role0' },
  { op: 'roleGrantPermission', name: 'role0', perm: { permType: 'readwrite', key: b('foo') } },
  { op: 'roleGrantPermission', name: 'role0', perm: { permType: 'read', key: b('pub/'), rangeEnd: b('pub0') } },
  { op: 'userAdd', name: 'user0', passwordHash: 'scrypt$y' },
  { op: 'userGrantRole', user: 'user0', role: 'role0' },
];

describe('auth store', () => {
  it('refuses auth enable without a root user holding the root role', () => {
    const { codes } = applyAll(new MemoryBackend(), [
      { op: 'enable', secret },
      { op: 'userAdd', name: 'root', passwordHash: 'h' },
      { op: 'enable', secret },
      { op: 'roleAdd', name: 'root' },
      { op: 'userGrantRole', user: 'root', role: 'root' },
      { op: 'enable', secret },
    ]);
    expect(codes).toEqual([ErrorCode.RootUserNotExist, undefined, ErrorCode.RootRoleNotExist, undefined, undefined, undefined]);
  });

  it('answers permission questions from the current grants', () => {
    const { applier } = applyAll(new MemoryBackend(), setup);
    const a = applier.auth;
    expect(a.permitted('user0', 'read', b('foo'), undefined)).toBe(true);
    expect(a.permitted('user0', 'write', b('foo'), undefined)).toBe(true);
    expect(a.permitted('user0', 'read', b('foo1'), undefined)).toBe(false);
    expect(a.permitted('user0', 'read', b('pub/x'), undefined)).toBe(true);
    expect(a.permitted('user0', 'write', b('pub/x'), undefined)).toBe(false);
    expect(a.permitted('user0', 'read', b('pub/'), b('pub0'))).toBe(true);
    expect(a.permitted('user0', 'read', b('pub/'), FROM_KEY_END)).toBe(false);
    expect(a.permitted('root', 'write', b('anything'), FROM_KEY_END)).toBe(true);
    expect(a.permitted('nobody', 'read', b('foo'), undefined)).toBe(false);
    // Revoking takes effect at once.
    applier.apply(9n, encodeWriteRequest({ auth: { op: 'userRevokeRole', user: 'user0', role: 'role0' } }));
    expect(a.permitted('user0', 'read', b('foo'), undefined)).toBe(false);
  });

  it('types its failures', () => {
    const { codes } = applyAll(new MemoryBackend(), [
      ...setup,
      { op: 'roleAdd', name: 'role0' },
      { op: 'userAdd', name: 'user0' },
      { op: 'userGrantRole', user: 'ghost', role: 'role0' },
      { op: 'userGrantRole', user: 'user0', role: 'ghost' },
      { op: 'userRevokeRole', user: 'root', role: 'role0' },
      { op: 'roleRevokePermission', name: 'role0', key: b('nope') },
      { op: 'userDelete', name: 'ghost' },
      { op: 'roleDelete', name: 'ghost' },
      { op: 'enable', secret },
      { op: 'userDelete', name: 'root' },
      { op: 'roleDelete', name: 'root' },
      { op: 'userRevokeRole', user: 'root', role: 'root' },
    ]);
    expect(codes.slice(setup.length)).toEqual([
      ErrorCode.RoleAlreadyExists,
      ErrorCode.UserAlreadyExists,
      ErrorCode.UserNotFound,
      ErrorCode.RoleNotFound,
      ErrorCode.RoleNotGranted,
      ErrorCode.PermissionNotGranted,
      ErrorCode.UserNotFound,
      ErrorCode.RoleNotFound,
      undefined,
      ErrorCode.InvalidArgument,
      ErrorCode.InvalidArgument,
      ErrorCode.InvalidArgument,
    ]);
  });

  it('is written with the applier batch and reloads the same', async () => {
    const backend = new MemoryBackend();
    const { applier } = applyAll(backend, [...setup, { op: 'enable', secret }, { op: 'roleDelete', name: 'role0' }]);
    const batch = applier.drain();
    await backend.write(batch.store.ops, { sync: true });
    applier.release(batch);
    const again = AuthStore.load(backend);
    expect(again.enabled).toBe(true);
    expect(again.revision).toBe(applier.auth.revision);
    expect(again.secret).toEqual(secret);
    expect(again.userNames()).toEqual(['root', 'user0']);
    expect(again.roleNames()).toEqual(['root']);
    // Deleting a role took it from its users too.
    expect(again.user('user0')?.roles).toEqual([]);
    expect(again.user('root')?.passwordHash).toBe('scrypt$x');
  });

  it('refuses a malformed auth entry at the peer check, before it can enter the log', () => {
    // The applier decodes log entries as trusted; entries from other members are checked
    // field by field when they are appended (raftNode/inbound.ts uses this decode).
    expect(() => decodeWriteRequest(encodeValue({ auth: { op: 'bogus' } }))).toThrow(/op is unknown/);
    expect(() => decodeWriteRequest(encodeValue({ auth: { op: 'userAdd', name: '' } }))).toThrow(/must not be empty/);
  });

  it('caps writes while NOSPACE is raised, but lets deletes through', () => {
    const applier = Applier.load(new MemoryBackend(), header);
    const reqs: WriteRequest[] = [
      { put: { key: b('a'), value: b('1') } },
      { alarm: { action: 'activate', memberId: 5n, alarm: 'nospace' } },
      { put: { key: b('a'), value: b('2') } },
      { txn: { compare: [], success: [{ put: { key: b('b'), value: b('1') } }], failure: [] } },
      { deleteRange: { key: b('a') } },
      { alarm: { action: 'deactivate', memberId: 5n, alarm: 'nospace' } },
      { put: { key: b('a'), value: b('3') } },
    ];
    const codes = reqs.map((r, i) => {
      const o = applier.apply(BigInt(i + 1), encodeWriteRequest(r));
      return o.ok ? 'ok' : o.error.code;
    });
    expect(codes).toEqual(['ok', 'ok', ErrorCode.NoSpace, ErrorCode.NoSpace, 'ok', 'ok', 'ok']);
  });
});
