import type { LeaseId } from '@cairn/protocol';
import { invariant, revCompare, type Rev } from './revision.js';

/**
 * One life of a key: from the put that created it to the delete that ended it.
 * `revs` holds every change of this life in order; for a closed generation the last entry is
 * the tombstone (the delete). `created` is the main revision of the creating put and `ver` the
 * number of puts so far (both as stored in the KeyValue, so they survive compaction of `revs`).
 */
export interface Generation {
  created: number;
  ver: number;
  revs: Rev[];
}

/**
 * The revision history of one key. Worked example, for key "k":
 *
 *   put k@2, put k@3, delete k@4, put k@6, compact(3)
 *
 *   after put@2:    [{created 2, ver 1, revs [2]}]
 *   after put@3:    [{created 2, ver 2, revs [2, 3]}]
 *   after del@4:    [{created 2, ver 3, revs [2, 3, 4(tombstone)]}, {empty}]
 *   after put@6:    [{created 2, ..., revs [2, 3, 4]}, {created 6, ver 1, revs [6]}]
 *   get(at 3) -> 3; get(at 4) and get(at 5) -> none (deleted); get(at 6) -> 6
 *   compact(3):     revision 2 dropped (3 is the latest at or below 3, kept for reads at 3);
 *                   [{..., revs [3, 4]}, {created 6, ver 1, revs [6]}]
 *   compact(5):     generation 1 ended at 4 <= 5, so it goes entirely: [{created 6, revs [6]}]
 *
 * Invariant: `generations` is never empty; only the last generation may be empty (revs = []),
 * and it is empty exactly when the key is currently deleted (or not yet created).
 */
export class KeyIndex {
  readonly generations: Generation[] = [{ created: 0, ver: 0, revs: [] }];
  /** The last change to the key (put or delete). */
  modified: Rev = { main: 0, sub: 0 };
  /**
   * The lease of the key's live value (0n: none, or the key is deleted). Kept here so that a
   * change to the key knows which lease to detach it from without reading the old value.
   */
  lease: LeaseId = 0n;

  constructor(readonly key: Uint8Array) {}

  private get current(): Generation {
    return this.generations[this.generations.length - 1]!;
  }

  /** Whether the key exists at the newest revision. */
  get live(): boolean {
    return this.current.revs.length > 0;
  }

  /** `created` and `ver` of the current generation (zeros if the key does not exist). */
  get currentGeneration(): Generation {
    return this.current;
  }

  /** A put at `rev`. `created`/`ver` override the derived ones while rebuilding from history. */
  put(rev: Rev, created?: number, ver?: number): void {
    invariant(rev.main > this.modified.main || (rev.main === this.modified.main && rev.sub > this.modified.sub),
      'key index: revisions must increase');
    const g = this.current;
    if (g.revs.length === 0) {
      g.created = created ?? rev.main;
      g.ver = 0;
    }
    g.ver = ver ?? g.ver + 1;
    g.revs.push(rev);
    this.modified = rev;
  }

  /** A delete at `rev`; the key must be live. */
  tombstone(rev: Rev): void {
    invariant(this.live, 'key index: tombstone of a deleted key');
    this.put(rev);
    this.generations.push({ created: 0, ver: 0, revs: [] });
    this.lease = 0n;
  }

  /**
   * Reverses the last `put` (not one made while rebuilding); `prevModified` and `prevLease` are
   * `modified` and `lease` before it.
   */
  undoPut(prevModified: Rev, prevLease: LeaseId): void {
    const g = this.current;
    invariant(g.revs.length > 0, 'key index: undo of nothing');
    g.revs.pop();
    g.ver -= 1;
    if (g.revs.length === 0) {
      g.created = 0;
      g.ver = 0;
    }
    this.modified = prevModified;
    this.lease = prevLease;
  }

  undoTombstone(prevModified: Rev, prevLease: LeaseId): void {
    invariant(this.generations.length > 1 && !this.live, 'key index: undo of a tombstone that is not there');
    this.generations.pop();
    this.undoPut(prevModified, prevLease);
  }

  /**
   * The revision of the key's value visible at main revision `at`, or undefined if the key
   * did not exist then (or that part of its history was compacted away).
   */
  get(at: number): Rev | undefined {
    const gens = this.generations;
    for (let i = gens.length - 1; i >= 0; i--) {
      const revs = gens[i]!.revs;
      if (revs.length === 0 || revs[0]!.main > at) continue;
      // This generation began at or before `at`. If it is closed and its tombstone is at or
      // before `at`, the key was deleted then.
      if (i < gens.length - 1 && revs[revs.length - 1]!.main <= at) return undefined;
      return revs[lastAtOrBefore(revs, at)];
    }
    return undefined;
  }

  /**
   * Drops history older than main revision `at`, keeping for each generation still alive at
   * `at` the latest revision at or before it. Pushes every dropped revision to `dropped`.
   * Returns true when nothing is left (the key can leave the tree).
   */
  compact(at: number, dropped: Rev[]): boolean {
    const gens = this.generations;
    let firstKept = 0;
    // Closed generations whose tombstone is at or before `at` are gone for good.
    while (firstKept < gens.length - 1) {
      const revs = gens[firstKept]!.revs;
      if (revs[revs.length - 1]!.main > at) break;
      for (const r of revs) dropped.push(r);
      firstKept++;
    }
    if (firstKept > 0) gens.splice(0, firstKept);
    // Only the first remaining generation can hold revisions at or before `at`.
    const revs = gens[0]!.revs;
    if (revs.length > 0 && revs[0]!.main <= at) {
      const keep = lastAtOrBefore(revs, at);
      for (let i = 0; i < keep; i++) dropped.push(revs[i]!);
      if (keep > 0) revs.splice(0, keep);
    }
    return gens.length === 1 && gens[0]!.revs.length === 0;
  }

  /**
   * The put this key's change at `rev` replaced: the change just before it in the same
   * generation. Undefined when `rev` created the key (or is not recorded, or what came
   * before it was compacted away).
   */
  previous(rev: Rev): Rev | undefined {
    for (const g of this.generations) {
      const revs = g.revs;
      if (revs.length === 0 || revCompare(revs[0]!, rev) > 0 || revCompare(revs[revs.length - 1]!, rev) < 0) continue;
      let lo = 0;
      let hi = revs.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (revCompare(revs[mid]!, rev) < 0) lo = mid + 1;
        else hi = mid;
      }
      return lo > 0 && revCompare(revs[lo]!, rev) === 0 ? revs[lo - 1] : undefined;
    }
    return undefined;
  }

  /** Every revision still recorded, oldest first (for checks and the watch hub's catch-up). */
  allRevisions(): Rev[] {
    const out: Rev[] = [];
    for (const g of this.generations) for (const r of g.revs) out.push(r);
    return out;
  }
}

/** Index of the last element with main <= at; the first element must satisfy it. */
function lastAtOrBefore(revs: readonly Rev[], at: number): number {
  let lo = 0;
  let hi = revs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (revs[mid]!.main <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
