// One-line text forms of raft values, for the golden interaction files. Stable by design:
// changing a format here rewrites every golden file (REWRITE=1), so keep them terse.
import { CAMPAIGN_TRANSFER } from '../../src/raft.js';
import { bytesEqual, decodeConfChange, type ConfState, type Entry, type Message, type NodeId, type ReadState, type Ready, type Snapshot } from '../../src/index.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Bytes as a quoted string (request contexts and entry data are short text in these tests). */
export function describeBytes(b: Uint8Array): string {
  return JSON.stringify(utf8.decode(b));
}

export function describeIds(ids: readonly NodeId[]): string {
  return `(${ids.join(',')})`;
}

export function describeConfState(cs: ConfState): string {
  return `voters=${describeIds(cs.voters)} learners=${describeIds(cs.learners)}`;
}

const CONF_CHANGE_WORD = { addNode: 'add', addLearnerNode: 'add-learner', removeNode: 'remove' } as const;

/** `3@t2 "foo"`: index 3, term 2, and the payload (a conf change decoded). */
export function describeEntry(e: Entry): string {
  if (e.type === 'confChange') {
    const cc = decodeConfChange(e.data);
    return `${e.index}@t${e.term} conf(${CONF_CHANGE_WORD[cc.type]} ${cc.nodeId})`;
  }
  return `${e.index}@t${e.term} ${describeBytes(e.data)}`;
}

export function describeSnapshot(s: Snapshot): string {
  return `${s.metadata.index}@t${s.metadata.term} ${describeConfState(s.metadata.confState)}`;
}

const entriesOf = (m: Message): string => `[${m.entries.map(describeEntry).join(', ')}]`;
const ctxOf = (m: Message): string => (m.context.length > 0 ? ` ctx=${describeBytes(m.context)}` : '');

/** `1->2 MsgApp term=2 prev=1@t1 commit=1 entries=[2@t2 ""]`, with the fields that type uses. */
export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type}`;
  switch (m.type) {
    case 'MsgApp':
      return `${head} term=${m.term} prev=${m.index}@t${m.logTerm} commit=${m.commit} entries=${entriesOf(m)}`;
    case 'MsgAppResp':
      return m.reject ? `${head} term=${m.term} rejected index=${m.index} hint=${m.rejectHint}@t${m.logTerm}` : `${head} term=${m.term} index=${m.index}`;
    case 'MsgVote':
    case 'MsgPreVote':
      return `${head} term=${m.term} last=${m.index}@t${m.logTerm}${bytesEqual(m.context, CAMPAIGN_TRANSFER) ? ' transfer' : ''}`;
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      return `${head} term=${m.term} ${m.reject ? 'rejected' : 'granted'}`;
    case 'MsgHeartbeat':
      return `${head} term=${m.term} commit=${m.commit}${ctxOf(m)}`;
    case 'MsgHeartbeatResp':
    case 'MsgTimeoutNow':
    case 'MsgTransferLeader':
      return `${head} term=${m.term}${ctxOf(m)}`;
    case 'MsgSnap':
      return `${head} term=${m.term} snapshot=${m.snapshot === null ? 'none' : describeSnapshot(m.snapshot)}`;
    case 'MsgProp':
      return `${head} entries=${entriesOf(m)}`;
    case 'MsgReadIndex':
      return `${head} term=${m.term}${ctxOf(m)}`;
    case 'MsgReadIndexResp':
      return `${head} term=${m.term} index=${m.index}${ctxOf(m)}`;
    case 'MsgHup':
    case 'MsgBeat':
    case 'MsgCheckQuorum':
    case 'MsgUnreachable':
    case 'MsgSnapStatus':
      return `${head} (local)`;
  }
}

export function describeReadState(rs: ReadState): string {
  return `index=${rs.index} ctx=${describeBytes(rs.requestCtx)}`;
}

/**
 * A Ready, one field per section, sections in the order of the contract (rawNode.ts): what
 * may leave at once, what to persist, what leaves only after the persist, what to apply.
 */
export function describeReady(id: NodeId, rd: Ready): string[] {
  const out = [`Ready ${id}${rd.mustSync ? ' (must sync)' : ''}:`];
  if (rd.softState !== undefined) out.push(`  soft: ${rd.softState.raftState} lead=${rd.softState.lead}`);
  if (rd.hardState !== undefined) out.push(`  hard: term=${rd.hardState.term} vote=${rd.hardState.vote} commit=${rd.hardState.commit}`);
  const section = (title: string, lines: string[]): void => {
    if (lines.length === 0) return;
    out.push(`  ${title}:`);
    for (const l of lines) out.push(`    ${l}`);
  };
  section('messages', rd.messages.map(describeMessage));
  if (rd.snapshot !== undefined) out.push(`  snapshot: ${describeSnapshot(rd.snapshot)}`);
  section('entries', rd.entries.map(describeEntry));
  section('after persist', rd.messagesAfterPersist.map(describeMessage));
  section('committed', rd.committedEntries.map(describeEntry));
  section('read states', rd.readStates.map(describeReadState));
  return out;
}
