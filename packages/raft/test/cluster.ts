// Test-only harness: a synchronous in-memory cluster driving RawNodes through the full
// Ready cycle (persist -> send -> apply -> advance), with per-link message filtering.
import { MemoryStorage, RawNode, SeededRng, decodeConfChange, type Config, type Entry, type Message, type NodeId, type ReadState } from '../src/index.js';

export interface TestNode {
  id: NodeId;
  rn: RawNode;
  storage: MemoryStorage;
  applied: Entry[];
  readStates: ReadState[];
}

export type ConfigOverrides = Partial<Omit<Config, 'id' | 'storage' | 'rng'>>;

export function newStorage(voters: readonly NodeId[], learners: readonly NodeId[] = []): MemoryStorage {
  const s = new MemoryStorage();
  // Bootstrap membership as a snapshot at index 0's place: term 0, index 0 is not allowed by
  // applySnapshot (it must be newer), so bootstrap at index 1 instead.
  s.applySnapshot({ data: new Uint8Array(0), metadata: { index: 1, term: 1, confState: { voters: [...voters], learners: [...learners] } } });
  s.setHardState({ term: 1, vote: 0n, commit: 1 });
  return s;
}

export function newNode(id: NodeId, storage: MemoryStorage, o: ConfigOverrides = {}, seed = Number(id)): RawNode {
  return new RawNode({
    id,
    storage,
    electionTicks: 10,
    heartbeatTicks: 1,
    maxSizePerMsgBytes: 1 << 20,
    maxInflightMsgs: 256,
    checkQuorum: false,
    preVote: false,
    rng: new SeededRng(seed),
    ...o,
  });
}

export class Cluster {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Links that drop messages, as `${from}-${to}`. */
  readonly cut = new Set<string>();
  /** Every message delivered, for assertions. */
  readonly trace: Message[] = [];
  /** Optional message filter: return false to drop. */
  filter: ((m: Message) => boolean) | undefined;

  /** `seedOf`: each node's randomness (its election timeouts), by default its id. */
  constructor(ids: readonly NodeId[], o: ConfigOverrides = {}, learners: readonly NodeId[] = [], seedOf: (id: NodeId) => number = Number) {
    for (const id of [...ids, ...learners]) this.add(id, newStorage(ids, learners), o, seedOf(id));
  }

  add(id: NodeId, storage: MemoryStorage, o: ConfigOverrides = {}, seed = Number(id)): TestNode {
    const n: TestNode = { id, rn: newNode(id, storage, o, seed), storage, applied: [], readStates: [] };
    this.nodes.set(id, n);
    return n;
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}-${other}`);
      this.cut.add(`${other}-${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** Handles every Ready and delivers messages until the cluster is quiet. */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      const out: Message[] = [];
      for (const id of [...this.nodes.keys()].sort((a, b) => (a < b ? -1 : 1))) out.push(...this.drain(this.node(id)));
      if (out.length === 0) return;
      for (const m of out) this.deliver(m);
    }
    throw new Error('cluster did not stabilize');
  }

  deliver(m: Message): void {
    if (this.cut.has(`${m.from}-${m.to}`)) return;
    if (this.filter !== undefined && !this.filter(m)) return;
    const n = this.nodes.get(m.to);
    if (n === undefined) return;
    this.trace.push(m);
    n.rn.step(m);
  }

  /** One Ready cycle for a node; returns the messages it emitted. */
  drain(n: TestNode): Message[] {
    const out: Message[] = [];
    while (n.rn.hasReady()) {
      const rd = n.rn.ready();
      out.push(...rd.messages); // may leave before the persist below
      if (rd.snapshot !== undefined) n.storage.applySnapshot(rd.snapshot);
      n.storage.append(rd.entries);
      if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
      out.push(...rd.messagesAfterPersist);
      if (rd.snapshot !== undefined) n.applied = [];
      for (const e of rd.committedEntries) {
        n.applied.push(e);
        if (e.type === 'confChange') n.rn.applyConfChange(decodeConfChange(e.data));
      }
      n.readStates.push(...rd.readStates);
      n.rn.advance();
    }
    return out;
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.node(id).rn.tick();
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const n of this.nodes.values()) n.rn.tick();
      this.stabilize();
    }
  }

  campaign(id: NodeId): void {
    this.node(id).rn.campaign();
    this.stabilize();
  }

  leader(): NodeId | undefined {
    let best: { id: NodeId; term: number } | undefined;
    for (const n of this.nodes.values()) {
      const st = n.rn.status();
      if (st.softState.raftState === 'leader' && (best === undefined || st.hardState.term > best.term)) best = { id: n.id, term: st.hardState.term };
    }
    return best?.id;
  }

  /** The persisted log of a node (after stabilize), as terms. */
  logTerms(id: NodeId): number[] {
    const s = this.node(id).storage;
    const out: number[] = [];
    for (let i = s.firstIndex(); i <= s.lastIndex(); i++) out.push(s.term(i));
    return out;
  }
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
