import { describe, expect, it } from 'vitest';
import { CairnError, ErrorCode, type HashKvResponse } from '@cairn/protocol';
import { CorruptChecker, divergedMembers, type CorruptCheckHost } from './corruptCheck.js';

const header = { clusterId: 1n, memberId: 1n, revision: 10n, raftTerm: 2n };
const answer = (hash: number, compactRevision = 0n, hashRevision = 10n): HashKvResponse => ({ header, hash, compactRevision, hashRevision });

/** A host whose members answer from a table: id -> answer or error. */
function host(answers: Map<bigint, HashKvResponse | CairnError>): CorruptCheckHost & { raised: bigint[]; asked: bigint[] } {
  const raised: bigint[] = [];
  const asked: bigint[] = [];
  const get = (id: bigint): Promise<HashKvResponse> => {
    const a = answers.get(id)!;
    return a instanceof CairnError ? Promise.reject(a) : Promise.resolve(a);
  };
  return {
    raised,
    asked,
    memberId: 1n,
    peers: () => [...answers.keys()].filter((id) => id !== 1n),
    clusterSize: () => answers.size,
    isLeader: () => true,
    hashKv: () => get(1n),
    peerHash: (peer, revision) => {
      asked.push(revision);
      return get(peer);
    },
    corruptAlarmed: () => false,
    raiseCorrupt: (id) => {
      raised.push(id);
      return Promise.resolve();
    },
    scheduler: { after: () => () => undefined },
    log: { info: () => undefined, warn: () => undefined },
  };
}

describe('divergedMembers', () => {
  it('names the members outside the majority, or everyone compared without one', () => {
    expect(divergedMembers(new Map([[1n, 5], [2n, 5], [3n, 5]]), 3)).toEqual([]);
    expect(divergedMembers(new Map([[1n, 5], [2n, 5], [3n, 6]]), 3)).toEqual([3n]);
    // The leader itself can be the odd one out.
    expect(divergedMembers(new Map([[1n, 6], [2n, 5], [3n, 5]]), 3)).toEqual([1n]);
    // Two of three answered and disagree: no majority of the cluster, both are suspect.
    expect(divergedMembers(new Map([[1n, 5], [3n, 6]]), 3)).toEqual([1n, 3n]);
  });
});

describe('CorruptChecker', () => {
  it('periodic: asks every peer at the leader revision and raises CORRUPT for the diverged one', async () => {
    const h = host(new Map([[1n, answer(5)], [2n, answer(5)], [3n, answer(9)]]));
    const report = await new CorruptChecker(h, 1000).periodicCheck();
    expect(h.asked).toEqual([10n, 10n]);
    expect(report.diverged).toEqual([3n]);
    expect(h.raised).toEqual([3n]);
  });

  it('periodic: compares only at the same compacted revision; skips peers that cannot answer', async () => {
    const h = host(
      new Map<bigint, HashKvResponse | CairnError>([
        [1n, answer(5, 4n)],
        [2n, answer(9, 6n)],
        [3n, new CairnError(ErrorCode.FutureRevision)],
      ]),
    );
    const report = await new CorruptChecker(h, 1000).periodicCheck();
    expect(report.diverged).toEqual([]);
    expect(h.raised).toEqual([]);
    expect(report.peers.map((p) => p.skipped !== undefined)).toEqual([false, true]);
  });

  it('initial: refuses with `corrupt` when a comparable peer disagrees, passes otherwise', async () => {
    const bad = host(new Map([[1n, answer(5)], [2n, answer(6)], [3n, answer(5)]]));
    const err = await new CorruptChecker(bad, 0).initialCheck().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CairnError);
    expect((err as CairnError).code).toBe(ErrorCode.Corrupt);
    expect((err as CairnError).message).toMatch(/found data inconsistency with peers/);
    const ok = host(new Map<bigint, HashKvResponse | CairnError>([[1n, answer(5)], [2n, answer(6, 3n)], [3n, new CairnError(ErrorCode.Timeout)]]));
    await expect(new CorruptChecker(ok, 0).initialCheck()).resolves.toBeUndefined();
  });
});
