// Safety invariants, checked incrementally as the simulation runs. Each check throws a
// Violation; the simulator turns it into a failing seed.
import type { Entry, NodeId } from '../src/index.js';

export class Violation extends Error {
  constructor(
    readonly rule: string,
    detail: string,
  ) {
    super(`${rule}: ${detail}`);
    this.name = 'Violation';
  }
}

const dec = new TextDecoder();
const fingerprints = new WeakMap<Uint8Array, string>();

/** Identity of an entry's content (entries are shared by reference in the simulation). */
export function fingerprint(e: Entry): string {
  let f = fingerprints.get(e.data);
  if (f === undefined) {
    f = `${e.type}:${dec.decode(e.data)}`;
    fingerprints.set(e.data, f);
  }
  return f;
}

interface CommitRecord {
  readonly term: number;
  readonly fp: string;
  /** Term of the leader that first declared it committed. */
  readonly commitTerm: number;
}

export class Checker {
  /** Election safety: term -> leader. */
  private readonly leaders = new Map<number, NodeId>();
  /** Log matching: `${index}/${term}` -> content and previous entry's term. */
  private readonly logIndex = new Map<string, { fp: string; prevTerm: number }>();
  /** Leader completeness: index -> committed entry. */
  readonly committed = new Map<number, CommitRecord>();
  /** State machine safety: index -> applied entry. */
  private readonly applied = new Map<number, string>();
  maxCommitted = 0;
  elections = 0;

  /** At most one leader per term (§5.2). */
  leaderElected(id: NodeId, term: number, logTerm: (i: number) => number | undefined, snapIndex: number): void {
    const prev = this.leaders.get(term);
    if (prev !== undefined && prev !== id) throw new Violation('election safety', `nodes ${prev} and ${id} both leader in term ${term}`);
    if (prev === undefined) this.elections++;
    this.leaders.set(term, id);
    // Leader completeness (§5.4): every entry committed in an earlier term is in its log.
    for (const [i, c] of this.committed) {
      if (c.commitTerm >= term || i <= snapIndex) continue;
      const t = logTerm(i);
      if (t !== c.term) {
        throw new Violation('leader completeness', `leader ${id} of term ${term} has term ${t} at ${i}, committed with term ${c.term} in term ${c.commitTerm}`);
      }
    }
  }

  /** Log matching (§5.3): same index and term means same content and same preceding entry term. */
  persisted(node: NodeId, e: Entry, prevTerm: number | undefined): void {
    const k = `${e.index}/${e.term}`;
    const fp = fingerprint(e);
    const seen = this.logIndex.get(k);
    if (seen === undefined) {
      if (prevTerm !== undefined) this.logIndex.set(k, { fp, prevTerm });
      return;
    }
    if (seen.fp !== fp) throw new Violation('log matching', `node ${node} entry ${k} content differs`);
    if (prevTerm !== undefined && seen.prevTerm !== prevTerm) {
      throw new Violation('log matching', `node ${node} entry ${k} follows term ${prevTerm}, elsewhere ${seen.prevTerm}`);
    }
  }

  /** A node's commit index covers `upTo`: record newly committed entries. */
  committedUpTo(upTo: number, termOf: (i: number) => Entry | undefined, commitTerm: number): void {
    for (let i = this.maxCommitted + 1; i <= upTo; i++) {
      const e = termOf(i);
      if (e === undefined) continue; // compacted at this node (covered by a snapshot)
      this.committed.set(i, { term: e.term, fp: fingerprint(e), commitTerm });
    }
    if (upTo > this.maxCommitted) this.maxCommitted = upTo;
  }

  /** State machine safety (§5.4.3): every node applies the same entry at each index. */
  appliedEntry(node: NodeId, e: Entry): void {
    const fp = fingerprint(e);
    const prev = this.applied.get(e.index);
    if (prev !== undefined && prev !== fp) throw new Violation('state machine safety', `node ${node} applied a different entry at ${e.index}`);
    this.applied.set(e.index, fp);
    const c = this.committed.get(e.index);
    if (c !== undefined && c.fp !== fp) throw new Violation('state machine safety', `node ${node} applied at ${e.index} an entry other than the committed one`);
  }
}
