import type { ConfChange, ConfChangeType, ConfState, NodeId } from '../types.js';
import { cmpId } from '../tracker/tracker.js';

/*
 * Single-server membership changes (Raft thesis §4.1). A change takes effect on a node as
 * soon as its entry is in that node's log (appended, not committed), and is reverted if the
 * entry is truncated. Safety rests on two leader rules enforced in raft.ts: at most one
 * uncommitted change in the log, and none before the leader has committed an entry of its
 * own term (the fix from Ongaro's 2015 raft-dev post).
 */

const TYPE_CODE: Record<ConfChangeType, number> = { addNode: 1, addLearnerNode: 2, removeNode: 3 };
const CODE_TYPE: Record<number, ConfChangeType> = { 1: 'addNode', 2: 'addLearnerNode', 3: 'removeNode' };

/** Encoding of a confChange entry's data: 1 version byte, 1 type byte, 8-byte big-endian id, context. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const out = new Uint8Array(10 + cc.context.length);
  const dv = new DataView(out.buffer);
  out[0] = 1;
  out[1] = TYPE_CODE[cc.type];
  dv.setBigUint64(2, BigInt.asUintN(64, cc.nodeId));
  out.set(cc.context, 10);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length < 10 || data[0] !== 1) throw new Error('raft: malformed conf change');
  const type = CODE_TYPE[data[1]!];
  if (type === undefined) throw new Error(`raft: unknown conf change type ${data[1]}`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { type, nodeId: dv.getBigUint64(2), context: data.slice(10) };
}

/** The membership after applying `cc` to `cs`. Invalid changes (e.g. removing a non-member) are no-ops. */
export function applyConfChangeToState(cs: ConfState, cc: ConfChange): ConfState {
  const id: NodeId = cc.nodeId;
  const voters = cs.voters.filter((v) => v !== id);
  const learners = cs.learners.filter((v) => v !== id);
  switch (cc.type) {
    case 'addNode':
      voters.push(id);
      break;
    case 'addLearnerNode':
      // Demoting a voter to learner is allowed only as a separate step; a voter stays a voter.
      if (cs.voters.includes(id)) voters.push(id);
      else learners.push(id);
      break;
    case 'removeNode':
      break;
  }
  if (voters.length === 0) return cs; // never remove the last voter
  return { voters: voters.sort(cmpId), learners: learners.sort(cmpId) };
}

export function confStateEqual(a: ConfState, b: ConfState): boolean {
  return a.voters.length === b.voters.length && a.learners.length === b.learners.length && a.voters.every((v, i) => v === b.voters[i]) && a.learners.every((v, i) => v === b.learners[i]);
}
