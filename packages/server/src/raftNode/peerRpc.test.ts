import { afterEach, describe, expect, it } from 'vitest';
import { CairnError, ErrorCode, type MemberId } from '@cairn/protocol';
import { LocalNet } from '../testing/localNet.js';
import { PeerMethods } from './peerRpc.js';

let net: LocalNet | undefined;
afterEach(async () => {
  await net?.closeAll();
  net = undefined;
});

const codeOf = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (err: unknown) => (err instanceof CairnError ? err.code : String(err)),
  );

describe('peer requests', () => {
  it('are declared once: names on the wire, params checked on the serving side', async () => {
    net = new LocalNet(3);
    await net.startAll();
    const leader = await net.leader();
    expect(Object.values(PeerMethods).map((d) => d.method)).toEqual(['lease.renew', 'lease.remaining', 'member.add', 'member.remove', 'member.update', 'member.promote', 'leader.move']);
    expect(await codeOf(leader.peerRpc.serve(1n, 'member.remove', { id: 'x' }))).toBe(ErrorCode.InvalidArgument);
    expect(await codeOf(leader.peerRpc.serve(1n, 'kv.put', {}))).toBe(ErrorCode.UnknownMethod);
  });

  it('forwarded admin requests carry the caller; the leader checks it against its own auth state', async () => {
    net = new LocalNet(3);
    const members = await net.startAll();
    const leader = await net.leader();
    const follower = members.find((m) => m !== leader)!;
    for (const op of [
      { op: 'roleAdd', name: 'root' },
      { op: 'userAdd', name: 'root', passwordHash: 'x' },
      { op: 'userGrantRole', user: 'root', role: 'root' },
      { op: 'userAdd', name: 'alice', passwordHash: 'x' },
      { op: 'enable', secret: new Uint8Array(32).fill(7) },
    ] as const) {
      await leader.propose({ auth: op });
    }
    const nobody = 0x5een as MemberId;
    // alice is not root: refused by the leader, whatever the follower thought.
    expect(await codeOf(follower.admin.memberRemove(nobody, { user: 'alice' }))).toBe(ErrorCode.PermissionDenied);
    expect(await codeOf(follower.admin.memberRemove(nobody, {}))).toBe(ErrorCode.UserEmpty);
    expect(await codeOf(follower.admin.memberRemove(nobody, { user: 'ghost' }))).toBe(ErrorCode.PermissionDenied);
    // root passes the check and reaches the operation itself.
    expect(await codeOf(follower.admin.memberRemove(nobody, { user: 'root' }))).toBe(ErrorCode.MemberNotFound);
    expect(await codeOf(follower.admin.moveLeader(nobody, { user: 'alice' }))).toBe(ErrorCode.PermissionDenied);
  });
});
