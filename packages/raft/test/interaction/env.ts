// The interaction environment behind the golden files (testdata/*.txt): a few RawNodes, a
// message queue between them, and commands that feed inputs and carry out Readys step by step,
// printing what raft produced. Every command is synchronous and deterministic (seeded by id).
import {
  MemoryStorage,
  ProposalDroppedError,
  RawNode,
  SeededRng,
  decodeConfChange,
  type ConfChangeType,
  type ConfState,
  type Config,
  type LogFields,
  type Message,
  type NodeId,
  type Ready,
} from '../../src/index.js';
import { describeConfState, describeEntry, describeMessage, describeReady, describeSnapshot } from './describe.js';

/** One command line: `name arg arg key=value flag`. */
export interface Command {
  readonly name: string;
  readonly args: readonly string[];
  readonly opts: ReadonlyMap<string, string>;
}

interface Node {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  readonly config: Omit<Config, 'storage' | 'rng' | 'logger' | 'applied'>;
  rn: RawNode;
  /** The Ready whose write is in flight (`ready` without `persist` yet). */
  inflight: Ready | undefined;
  /** Membership as of the last conf change applied (what a snapshot taken now records). */
  confState: ConfState;
}

const CONF_CHANGE_TYPE: Record<string, ConfChangeType> = { add: 'addNode', 'add-learner': 'addLearnerNode', remove: 'removeNode' };
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

export class InteractionEnv {
  private readonly nodes = new Map<NodeId, Node>();
  /** Messages sent and not yet delivered, in sending order. */
  private queue: Message[] = [];
  /** Links that drop messages, as `${from}-${to}`. */
  private readonly cut = new Set<string>();
  private out: string[] = [];
  /** Raft's log lines are dropped while set (a node's start-up repeats its membership). */
  private quiet = false;

  /** Runs one command; returns what it printed. Throws on a malformed command. */
  run(cmd: Command): string[] {
    this.out = [];
    const handler = this.commands[cmd.name];
    if (handler === undefined) throw new Error(`unknown command ${JSON.stringify(cmd.name)}`);
    handler(cmd);
    return this.out;
  }

  private print(line: string): void {
    this.out.push(line);
  }

  private readonly commands: Record<string, (c: Command) => void> = {
    'add-nodes': (c) => this.addNodes(c),
    campaign: (c) => this.node(c.args[0]).rn.campaign(),
    propose: (c) => this.dropping(() => this.node(c.args[0]).rn.propose(enc(need(c.args[1], 'data')))),
    'propose-conf-change': (c) => {
      const type = CONF_CHANGE_TYPE[need(c.args[1], 'add|add-learner|remove')];
      if (type === undefined) throw new Error(`conf change ${c.args[1]}: expected add, add-learner or remove`);
      this.dropping(() => this.node(c.args[0]).rn.proposeConfChange({ type, nodeId: id(c.args[2]), context: new Uint8Array(0) }));
    },
    'transfer-leadership': (c) => this.node(c.args[0]).rn.transferLeadership(id(c.args[1])),
    'read-index': (c) => this.node(c.args[0]).rn.readIndex(enc(need(c.args[1], 'context'))),
    tick: (c) => this.tick(this.node(c.args[0]), Number(c.args[1] ?? '1')),
    'tick-election': (c) => {
      // Exactly enough ticks to reach the node's election timeout (a leader's: its CheckQuorum round).
      const n = this.node(c.args[0]);
      const t = n.rn.raft.timers;
      const timeout = n.rn.raft.state === 'leader' ? t.electionTicks : t.randomizedElectionTimeout;
      this.tick(n, Math.max(1, timeout - t.electionElapsed));
    },
    'tick-heartbeat': (c) => {
      const n = this.node(c.args[0]);
      const t = n.rn.raft.timers;
      this.tick(n, Math.max(1, t.heartbeatTicks - t.heartbeatElapsed));
    },
    ready: (c) => {
      for (const n of this.selected(c.args)) this.takeReady(n);
    },
    persist: (c) => {
      for (const n of this.selected(c.args)) this.persist(n);
    },
    'process-ready': (c) => {
      for (const n of this.selected(c.args)) {
        if (this.takeReady(n)) this.persist(n);
      }
    },
    'deliver-msgs': (c) => this.deliver(c.args.length > 0 ? new Set(c.args.map(id)) : undefined, c.opts.get('type'), true),
    'drop-msgs': (c) => {
      const to = c.args.length > 0 ? new Set(c.args.map(id)) : undefined;
      const type = c.opts.get('type');
      this.queue = this.queue.filter((m) => {
        const hit = (to === undefined || to.has(m.to)) && (type === undefined || m.type === type);
        if (hit) this.print(`dropped: ${describeMessage(m)}`);
        return !hit;
      });
    },
    stabilize: (c) => this.stabilize(c.args.length > 0 ? new Set(c.args.map(id)) : undefined),
    isolate: (c) => {
      const victim = id(c.args[0]);
      for (const other of this.nodes.keys()) {
        if (other === victim) continue;
        this.cut.add(`${victim}-${other}`);
        this.cut.add(`${other}-${victim}`);
      }
    },
    cut: (c) => {
      this.cut.add(`${id(c.args[0])}-${id(c.args[1])}`);
      this.cut.add(`${id(c.args[1])}-${id(c.args[0])}`);
    },
    heal: () => this.cut.clear(),
    'raft-state': () => {
      for (const n of this.sorted()) this.print(this.stateLine(n));
    },
    log: (c) => this.printLog(this.node(c.args[0])),
    status: (c) => this.printStatus(this.node(c.args[0])),
    compact: (c) => this.compact(this.node(c.args[0]), Number(need(c.args[1], 'index'))),
    restart: (c) => this.restart(this.node(c.args[0])),
    'report-unreachable': (c) => this.node(c.args[0]).rn.reportUnreachable(id(c.args[1])),
    'report-snapshot': (c) => this.node(c.args[0]).rn.reportSnapshot(id(c.args[1]), need(c.args[2], 'ok|fail') === 'ok'),
  };

  // ---- nodes ----

  /**
   * `add-nodes N [voters=1,2,3] [learners=4] [empty] [pre-vote] [check-quorum] [election=10]
   * [heartbeat=1] [max-size=bytes] [max-inflight=n] [max-uncommitted=bytes]`: N new nodes with
   * the next ids. Their storage holds the bootstrap membership as a snapshot at 1@t1 (voters
   * default to the new nodes), or nothing with `empty` (a member joining later).
   */
  private addNodes(c: Command): void {
    const count = Number(need(c.args[0], 'count'));
    const flags = new Set(c.args.slice(1));
    for (const f of flags) if (f !== 'empty' && f !== 'pre-vote' && f !== 'check-quorum') throw new Error(`add-nodes: unknown flag ${f}`);
    const first = BigInt(this.nodes.size + 1);
    const ids: NodeId[] = [];
    for (let i = 0n; i < BigInt(count); i++) ids.push(first + i);
    const list = (k: string): NodeId[] | undefined => c.opts.get(k)?.split(',').filter((s) => s !== '').map(id);
    const voters = list('voters') ?? ids;
    const learners = list('learners') ?? [];
    const num = (k: string, dflt: number): number => Number(c.opts.get(k) ?? dflt);
    for (const nid of ids) {
      const storage = new MemoryStorage();
      if (!flags.has('empty')) {
        storage.applySnapshot({ data: enc('bootstrap'), metadata: { index: 1, term: 1, confState: { voters, learners } } });
        storage.setHardState({ term: 1, vote: 0n, commit: 1 });
      }
      const config = {
        id: nid,
        electionTicks: num('election', 10),
        heartbeatTicks: num('heartbeat', 1),
        maxSizePerMsgBytes: num('max-size', 1 << 20),
        maxInflightMsgs: num('max-inflight', 256),
        maxUncommittedEntriesBytes: num('max-uncommitted', 0),
        checkQuorum: flags.has('check-quorum'),
        preVote: flags.has('pre-vote'),
      };
      const n: Node = { id: nid, storage, config, rn: this.newRawNode(nid, storage, config), inflight: undefined, confState: storage.initialState().confState };
      this.nodes.set(nid, n);
      this.print(this.stateLine(n));
    }
  }

  private newRawNode(nid: NodeId, storage: MemoryStorage, config: Node['config']): RawNode {
    this.quiet = true;
    try {
      return new RawNode({
        ...config,
        storage,
        rng: new SeededRng(Number(nid)),
        logger: { debug: () => undefined, info: (m, f) => this.log(`INFO ${nid} ${m}${fieldsText(f)}`), warn: (m, f) => this.log(`WARN ${nid} ${m}${fieldsText(f)}`) },
      });
    } finally {
      this.quiet = false;
    }
  }

  private log(line: string): void {
    if (!this.quiet) this.print(line);
  }

  private node(arg: string | undefined): Node {
    const n = this.nodes.get(id(arg));
    if (n === undefined) throw new Error(`no node ${arg}`);
    return n;
  }

  private sorted(): Node[] {
    return [...this.nodes.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  private selected(args: readonly string[]): Node[] {
    return args.length === 0 ? this.sorted() : args.map((a) => this.node(a));
  }

  private dropping(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
      this.print(`dropped: ${e.reason}`);
    }
  }

  private tick(n: Node, times: number): void {
    for (let i = 0; i < times; i++) n.rn.tick();
  }

  // ---- the Ready cycle, split where the contract allows it ----

  /**
   * Takes a node's Ready and prints it; its `messages` leave now (they may precede the write),
   * everything else waits for `persist`. Returns false (printing nothing) if it had none.
   */
  private takeReady(n: Node): boolean {
    if (n.inflight !== undefined) throw new Error(`node ${n.id}: a write is in flight (persist it first)`);
    if (!n.rn.hasReady()) return false;
    const rd = n.rn.ready();
    for (const l of describeReady(n.id, rd)) this.print(l);
    this.queue.push(...rd.messages);
    n.inflight = rd;
    return true;
  }

  /** Completes the write in flight: persist, then send what waited for it, apply, advance. */
  private persist(n: Node): void {
    const rd = n.inflight;
    if (rd === undefined) return;
    n.inflight = undefined;
    if (rd.snapshot !== undefined) {
      n.storage.applySnapshot(rd.snapshot);
      n.confState = rd.snapshot.metadata.confState;
    }
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
    this.queue.push(...rd.messagesAfterPersist);
    for (const e of rd.committedEntries) {
      if (e.type !== 'confChange') continue;
      n.confState = n.rn.applyConfChange(decodeConfChange(e.data));
      this.print(`${n.id} applied ${describeEntry(e)}: ${describeConfState(n.confState)}`);
    }
    n.rn.advance();
  }

  /** Delivers the queued messages to `to` (all nodes if undefined), of `type` if given. */
  private deliver(to: Set<NodeId> | undefined, type: string | undefined, verbose: boolean): number {
    const now = this.queue.filter((m) => (to === undefined || to.has(m.to)) && (type === undefined || m.type === type));
    this.queue = this.queue.filter((m) => !now.includes(m));
    for (const m of now) {
      const target = this.nodes.get(m.to);
      if (this.cut.has(`${m.from}-${m.to}`) || target === undefined) {
        this.print(`dropped: ${describeMessage(m)}`);
        continue;
      }
      if (verbose) this.print(describeMessage(m));
      target.rn.step(m);
    }
    return now.length;
  }

  /**
   * Until nothing moves: every node (in id order) finishes a write in flight or handles its
   * Ready, then every queued message is delivered. A message listed in a Ready is delivered
   * in the next round unless this prints it as dropped.
   */
  private stabilize(only: Set<NodeId> | undefined): void {
    for (let round = 0; round < 1000; round++) {
      let moved = false;
      for (const n of this.sorted()) {
        if (only !== undefined && !only.has(n.id)) continue;
        if (n.inflight !== undefined) {
          this.persist(n);
          moved = true;
        }
        if (this.takeReady(n)) {
          this.persist(n);
          moved = true;
        }
      }
      if (this.deliver(only, undefined, false) > 0) moved = true;
      if (!moved) return;
    }
    throw new Error('stabilize: still busy after 1000 rounds');
  }

  // ---- inspection and maintenance ----

  private stateLine(n: Node): string {
    const st = n.rn.status();
    const hs = st.hardState;
    const inflight = n.inflight !== undefined ? ' (write in flight)' : '';
    return `${n.id}: ${st.softState.raftState} term=${hs.term} vote=${hs.vote} lead=${st.softState.lead} commit=${hs.commit} applied=${st.applied} last=${st.lastIndex}${inflight}`;
  }

  /** The node's log: the snapshot it starts after, then each entry, marked if not yet on disk. */
  private printLog(n: Node): void {
    const log = n.rn.raft.log;
    const snap = log.snapshot();
    this.print(`snapshot: ${describeSnapshot(snap)}`);
    const stable = log.stableIndex();
    for (let i = log.firstIndex(); i <= log.lastIndex(); i++) {
      const e = log.slice(i, i + 1, Number.MAX_SAFE_INTEGER)[0]!;
      this.print(`${describeEntry(e)}${i > stable ? ' (unstable)' : ''}`);
    }
    this.print(`commit=${log.committed} applied=${log.applied}`);
  }

  private printStatus(n: Node): void {
    const st = n.rn.status();
    this.print(`${n.id}: ${st.softState.raftState} ${describeConfState(st.confState)}${st.leadTransferee !== 0n ? ` transferring to ${st.leadTransferee}` : ''}`);
    for (const p of st.progress) {
      this.print(`  ${p.id}: ${p.state} match=${p.match} next=${p.next}${p.isLearner ? ' learner' : ''}${p.recentActive ? ' active' : ''}`);
    }
  }

  /** `compact ID INDEX`: the application snapshots at INDEX (<= applied) and the log drops what precedes it. */
  private compact(n: Node, index: number): void {
    n.storage.createSnapshot(index, n.confState, enc(`state@${index}`));
    n.storage.compact(index);
    this.print(`${n.id}: log starts after ${describeSnapshot(n.storage.snapshot())}`);
  }

  /** Loses the node's memory and its write in flight (not what it already sent), and starts it again from its disk. */
  private restart(n: Node): void {
    if (n.inflight !== undefined) this.print(`${n.id}: lost its write in flight`);
    n.inflight = undefined;
    n.rn = this.newRawNode(n.id, n.storage, n.config);
    n.confState = n.storage.initialState().confState;
    this.print(this.stateLine(n));
  }
}

function id(s: string | undefined): NodeId {
  if (s === undefined || !/^[1-9][0-9]*$/.test(s)) throw new Error(`expected a node id, got ${JSON.stringify(s)}`);
  return BigInt(s);
}

function need(s: string | undefined, what: string): string {
  if (s === undefined) throw new Error(`missing ${what}`);
  return s;
}

/** ` key=value ...` in the order given; ids as numbers, lists as [a,b]. */
function fieldsText(f: LogFields | undefined): string {
  if (f === undefined) return '';
  return Object.entries(f)
    .map(([k, v]) => ` ${k}=${Array.isArray(v) ? `[${v.join(',')}]` : String(v)}`)
    .join('');
}
