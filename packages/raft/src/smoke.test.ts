import { describe, expect, it } from 'vitest';
import { Cluster, dec, enc } from '../test/cluster.js';

describe('smoke', () => {
  it('elects a leader and replicates proposals to every node', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    expect(c.leader()).toBe(1n);
    c.node(1n).rn.propose(enc('a'));
    c.node(2n).rn.propose(enc('b'));
    c.stabilize();
    c.tickAll(2);
    for (const id of [1n, 2n, 3n]) {
      expect(c.node(id).applied.filter((e) => e.data.length > 0).map((e) => dec(e.data))).toEqual(['a', 'b']);
    }
  });
  it('elects by timeout with pre-vote and check-quorum', () => {
    const c = new Cluster([1n, 2n, 3n, 4n, 5n], { preVote: true, checkQuorum: true });
    c.tickAll(25);
    expect(c.leader()).toBeDefined();
  });
});
