import { describe, expect, it } from 'vitest';
import { systemClock } from './clock.js';
import { JoinError, openIdentity, type IdentitySeed } from './identity.js';
import { MemoryBackend } from './storage/memory.js';

const cluster = { clusterId: 0xc1n, members: [{ id: 0xa1n, name: 'a', peerUrls: ['http://a:2380'], clientUrls: [], isLearner: false }, { id: 0xb2n, name: '', peerUrls: ['http://b:2380'], clientUrls: [], isLearner: true }] };

const joining = (fetched: typeof cluster | undefined): IdentitySeed => ({
  name: 'b',
  peerUrls: ['http://b:2380'],
  initialClusterToken: 't',
  initialCluster: new Map([
    ['a', ['http://a:2380']],
    ['b', ['http://b:2380']],
  ]),
  initialClusterState: 'existing',
  fetchMembers: () => (fetched === undefined ? Promise.reject(new Error('the peers must not be asked on a restart')) : Promise.resolve(fetched)),
});

describe('openIdentity', () => {
  it('gives a member that joined the members it was told of, again after a restart without asking the peers', async () => {
    const backend = new MemoryBackend();
    const joined = await openIdentity(backend, joining(cluster), 'b.cairn', systemClock);
    expect(joined.kind).toBe('join');
    expect(joined.identity).toEqual({ clusterId: 0xc1n, memberId: 0xb2n });
    expect([...joined.peerHints.keys()]).toEqual([0xa1n, 0xb2n]);
    // Killed before its first snapshot brought the members table: a restart must still accept
    // the leader, so it needs the same hints, from its own disk.
    const restarted = await openIdentity(backend, joining(undefined), 'b.cairn', systemClock);
    expect(restarted.kind).toBe('restart');
    expect(restarted.identity).toEqual(joined.identity);
    expect(restarted.peerHints).toEqual(new Map([[0xa1n, ['http://a:2380']], [0xb2n, ['http://b:2380']]]));
  });

  it('refuses to join a cluster that does not list this member, and writes nothing', async () => {
    const backend = new MemoryBackend();
    const other = { ...cluster, members: [cluster.members[0]!] };
    await expect(openIdentity(backend, joining(other), 'b.cairn', systemClock)).rejects.toBeInstanceOf(JoinError);
    const again = await openIdentity(backend, joining(cluster), 'b.cairn', systemClock);
    expect(again.kind).toBe('join');
  });
});
