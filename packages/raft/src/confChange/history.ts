import type { ConfState, Entry } from '../types.js';
import { applyConfChangeToState, decodeConfChange } from './confChange.js';

interface ConfEpoch {
  /** Index of the entry that introduced this membership (the snapshot index for the base). */
  readonly index: number;
  readonly cs: ConfState;
}

/**
 * The memberships present in a node's log, oldest first: the snapshot's, then one per
 * confChange entry after it. The node uses the latest one (thesis §4.1: a server uses the
 * newest configuration in its log, committed or not), so the history must follow every
 * append and truncation of the log.
 */
export class ConfHistory {
  private epochs: ConfEpoch[];

  constructor(snapIndex: number, snapConf: ConfState) {
    this.epochs = [{ index: snapIndex, cs: snapConf }];
  }

  current(): ConfState {
    return this.epochs[this.epochs.length - 1]!.cs;
  }

  /** Index of the entry that introduced the current membership. */
  lastIndex(): number {
    return this.epochs[this.epochs.length - 1]!.index;
  }

  /** The membership in force at log index i. */
  at(i: number): ConfState {
    let cs = this.epochs[0]!.cs;
    for (const e of this.epochs) if (e.index <= i) cs = e.cs;
    return cs;
  }

  /** Records memberships introduced by newly appended entries (in log order). */
  appended(ents: readonly Entry[]): void {
    for (const e of ents) {
      if (e.type !== 'confChange') continue;
      this.epochs.push({ index: e.index, cs: applyConfChangeToState(this.current(), decodeConfChange(e.data)) });
    }
  }

  /** Entries from `from` on were replaced: memberships they introduced are reverted. */
  truncated(from: number): void {
    while (this.epochs.length > 1 && this.epochs[this.epochs.length - 1]!.index >= from) this.epochs.pop();
  }

  /** The log was replaced by a snapshot. */
  reset(snapIndex: number, snapConf: ConfState): void {
    this.epochs = [{ index: snapIndex, cs: snapConf }];
  }
}
