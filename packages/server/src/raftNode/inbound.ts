import { decodeConfChange, type Entry, type Message } from '@cairn/raft';
import { checkEntryData, decodeConfContext } from '../apply/requests.js';

/** What the checks need to know of this member's raft state, read when the messages arrive. */
export interface InboundView {
  readonly self: bigint;
  /** Current term, and the leader of it as far as this member knows (0n: none). */
  readonly term: number;
  readonly lead: bigint;
  /** Highest index known committed here: entries at or below it are never rewritten. */
  readonly committed: number;
  /** The term of the entry at `index` in this member's log; undefined if compacted or absent. */
  termAt(index: number): number | undefined;
}

/** Why a message was refused; `safety` ones are logged as safety violations. */
export interface Refusal {
  readonly message: Message;
  readonly kind: 'safety' | 'unreadable';
  readonly why: string;
}

/** Messages only the leader of their term sends. */
const FROM_LEADER: ReadonlySet<Message['type']> = new Set(['MsgApp', 'MsgHeartbeat', 'MsgTimeoutNow', 'MsgReadIndexResp']);

/** Undefined if this member can apply `e`; else why not (the applier would stop the member). */
export function unreadable(e: Entry): string | undefined {
  if (e.data.length === 0) return undefined;
  try {
    if (e.type === 'confChange') decodeConfContext(decodeConfChange(e.data).context);
    // Keeps the decoded request for the applier (requests.ts, takeCheckedEntry).
    else checkEntryData(e.data);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Checks raft messages from an authenticated member before raft sees them. Raft's own checks
 * assume every sender follows the protocol; these refuse what no correct member sends:
 * - a leader's message in this member's current term from another member than that term's
 *   leader (two leaders in one term);
 * - an append whose entries differ from entries this member already holds as committed
 *   (a follower never rewrites its log at or below its commit index);
 * - an append (or a follower's forwarded proposal) carrying an entry this member could not
 *   apply (it would stop the member).
 * The whole message is refused, never part of it: raft then asks again or the sender retries.
 */
export function checkInbound(msgs: readonly Message[], view: InboundView): { accepted: Message[]; refused: Refusal[] } {
  const accepted: Message[] = [];
  const refused: Refusal[] = [];
  for (const m of msgs) {
    const why = check(m, view);
    if (why === undefined) accepted.push(m);
    else refused.push({ message: m, ...why });
  }
  return { accepted, refused };
}

function check(m: Message, v: InboundView): Pick<Refusal, 'kind' | 'why'> | undefined {
  if (FROM_LEADER.has(m.type) && m.term === v.term && v.lead !== 0n && m.from !== v.lead) {
    return { kind: 'safety', why: `${m.type} of term ${m.term} from ${m.from.toString(16)}, but ${v.lead.toString(16)} leads term ${v.term}` };
  }
  if (m.type === 'MsgProp') {
    // A follower's forwarded proposals: checked here, as appended entries are, since the
    // applier decodes the log as trusted.
    for (const e of m.entries) {
      const bad = unreadable(e);
      if (bad !== undefined) return { kind: 'unreadable', why: `a forwarded proposal cannot be applied: ${bad}` };
    }
    return undefined;
  }
  if (m.type !== 'MsgApp') return undefined;
  for (const e of m.entries) {
    if (e.index <= v.committed) {
      const have = v.termAt(e.index);
      if (have !== undefined && have !== e.term) {
        return { kind: 'safety', why: `append would rewrite committed entry ${e.index} (term ${have}) with one of term ${e.term}; committed here: ${v.committed}` };
      }
    }
    const bad = unreadable(e);
    if (bad !== undefined) return { kind: 'unreadable', why: `entry ${e.index} (term ${e.term}) cannot be applied: ${bad}` };
  }
  return undefined;
}
