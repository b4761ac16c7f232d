// Deterministic cluster simulator: every choice (network, faults, clients, operator) comes
// from one PRNG seeded by `seed`, so any run replays exactly. See docs/raft.md.
import {
  MemoryStorage,
  ProposalDroppedError,
  RawNode,
  SeededRng,
  decodeConfChange,
  type ConfChange,
  type Entry,
  type Message,
  type NodeId,
  type Ready,
  type ReadState,
} from '../src/index.js';
import { Checker, Violation } from './checker.js';
import { KvStateMachine, decodeCommand, encodeCommand, type KvCommand } from './kv.js';
import { Nemesis } from './nemesis.js';
import { Network, describeMessage } from './network.js';
import {
  ELECTION_TICKS,
  HEARTBEAT_TICKS,
  KEYS,
  LIVENESS_BOUND,
  OP_TIMEOUT,
  type HistoryOp,
  type KvInput,
  type KvOutput,
  type Machine,
  type Node,
  type PendingOp,
  type SimOptions,
  type SimResult,
  type SimStats,
} from './types.js';

export type { HistoryOp, KvInput, KvOutput, SimOptions, SimResult, SimStats } from './types.js';

export function runSeed(opts: SimOptions): SimResult {
  return new Sim(opts).run();
}

export class Sim {
  readonly rng: SeededRng;
  private readonly checker = new Checker();
  readonly net: Network;
  readonly machines: Machine[] = [];
  private readonly trace: ((l: string) => void) | undefined;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxInflight: number;
  private readonly maxMsgSize: number;
  private readonly snapshotEvery: number;
  private readonly maxUncommitted: number;
  private readonly rounds: number;
  /** Readys a node may have in flight at once (SimOptions.pipeline). */
  private readonly pipeline: number;
  private readonly nemesis: Nemesis;
  now = 0;
  /** Global event clock for the client history (strictly increasing). */
  private clock = 0;
  private nextOp = 1;
  private readonly clients: (PendingOp | null)[] = [];
  private readonly history: HistoryOp[] = [];
  readonly stats: SimStats;
  private faultsOn = true;

  constructor(private readonly opts: SimOptions) {
    this.rng = new SeededRng(opts.seed);
    this.trace = opts.trace;
    const n = this.rng.nextInt(2) === 0 ? 3 : 5;
    this.preVote = this.rng.nextInt(2) === 0;
    this.checkQuorum = this.rng.nextInt(2) === 0;
    this.maxInflight = this.rng.nextInt(2) === 0 ? 1 : 1 + this.rng.nextInt(8);
    // Half of the seeds send one entry per MsgApp, which makes partial replication common.
    this.maxMsgSize = this.rng.nextInt(2) === 0 ? 1 : 100 + this.rng.nextInt(2000);
    this.snapshotEvery = 20 + this.rng.nextInt(60);
    this.maxUncommitted = this.rng.nextInt(2) === 0 ? 0 : 500 + this.rng.nextInt(3000);
    this.rounds = opts.rounds ?? 2000;
    // Drawn apart from the run's stream, so that a seed with depth 1 replays as it did before.
    const depth = new SeededRng(opts.seed ^ 0x70e1).nextInt(6);
    this.pipeline = opts.pipeline ?? (depth < 3 ? 1 : depth - 1);
    this.nemesis = new Nemesis(this);
    this.net = new Network(this.rng, {
      drop: this.rng.nextFloat() * 0.1,
      duplicate: this.rng.nextFloat() * 0.05,
      maxDelay: this.rng.nextInt(4),
    });
    const voters: NodeId[] = [];
    for (let i = 1; i <= n; i++) voters.push(BigInt(i));
    // Two spare machines that the operator may add to the cluster later.
    for (let i = 1; i <= n + 2; i++) {
      const disk = new MemoryStorage();
      if (i <= n) {
        // Bootstrap: the initial membership as a snapshot at index 1.
        disk.applySnapshot({ data: new Uint8Array(0), metadata: { index: 1, term: 1, confState: { voters, learners: [] } } });
        disk.setHardState({ term: 1, vote: 0n, commit: 1 });
      }
      this.machines.push({ id: BigInt(i), disk, node: null, restartAt: -1, removedAt: -1, addedAt: -1 });
    }
    for (const m of this.machines.slice(0, n)) this.start(m);
    for (let c = 0; c < 5; c++) this.clients.push(null);
    this.stats = {
      nodes: n,
      preVote: this.preVote,
      checkQuorum: this.checkQuorum,
      pipeline: this.pipeline,
      pipelinedReadys: 0,
      rounds: 0,
      messages: 0,
      dropped: 0,
      proposals: 0,
      committedOps: 0,
      reads: 0,
      unknownOps: 0,
      crashes: 0,
      partitions: 0,
      confChanges: 0,
      transfers: 0,
      snapshots: 0,
      elections: 0,
      maxCommit: 0,
      livenessTicks: 0,
    };
  }

  log(s: string): void {
    this.trace?.(`[${this.now}] ${s}`);
  }

  run(): SimResult {
    try {
      for (; this.now < this.rounds; this.now++) this.round();
      this.livenessPhase();
      this.finishHistory();
      return this.result();
    } catch (e) {
      if (e instanceof Violation) {
        this.finishHistory();
        this.log(`VIOLATION ${e.message}`);
        return { ...this.result(), ok: false, violation: e.message, round: this.now };
      }
      throw e;
    }
  }

  private result(): SimResult {
    this.stats.rounds = this.now;
    this.stats.messages = this.net.sent;
    this.stats.dropped = this.net.dropped;
    this.stats.elections = this.checker.elections;
    this.stats.maxCommit = this.checker.maxCommitted;
    return { seed: this.opts.seed, ok: true, stats: this.stats, history: this.history };
  }

  // ---- node lifecycle ----

  private start(m: Machine): void {
    const snap = m.disk.snapshot();
    const rn = new RawNode({
      id: m.id,
      storage: m.disk,
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: HEARTBEAT_TICKS,
      maxSizePerMsgBytes: this.maxMsgSize,
      maxInflightMsgs: this.maxInflight,
      checkQuorum: this.checkQuorum,
      preVote: this.preVote,
      rng: this.rng,
      applied: snap.metadata.index,
      maxUncommittedEntriesBytes: this.maxUncommitted,
      unsafeCommitPreviousTermByCounting: this.opts.unsafeCommit === true,
      unsafeCountUnpersistedSelf: this.opts.unsafeSelfCount === true,
    });
    // Volatile state is rebuilt from the durable snapshot; committed entries are re-applied.
    m.node = { rn, sm: KvStateMachine.restore(snap.data), appliedIndex: snap.metadata.index, confState: snap.metadata.confState, dirty: false, inflight: [], checkedCommit: rn.raft.log.committed };
    m.restartAt = -1;
    this.log(`start ${m.id} (term ${m.disk.getHardState().term}, log ${m.disk.firstIndex()}..${m.disk.lastIndex()})`);
  }

  /** Crash: all in-memory state, including a Ready whose write was still in flight, is lost. */
  crash(m: Machine, restartAfter: number): void {
    m.node = null;
    this.net.dropFrom(m.id);
    m.restartAt = restartAfter < 0 ? -1 : this.now + restartAfter;
    this.stats.crashes++;
    for (let c = 0; c < this.clients.length; c++) {
      const op = this.clients[c];
      if (op !== null && op !== undefined && op.node === m.id) this.timeoutOp(c);
    }
    this.log(`crash ${m.id}${m.restartAt >= 0 ? ` until ${m.restartAt}` : ''}`);
  }

  running(): Machine[] {
    return this.machines.filter((m) => m.node !== null);
  }

  machine(id: NodeId): Machine | undefined {
    return this.machines.find((m) => m.id === id);
  }

  leaderMachine(): Machine | undefined {
    let best: Machine | undefined;
    let bestTerm = -1;
    for (const m of this.machines) {
      const r = m.node?.rn.raft;
      if (r !== undefined && r.state === 'leader' && r.term > bestTerm) {
        best = m;
        bestTerm = r.term;
      }
    }
    return best;
  }

  // ---- one round ----

  private round(): void {
    for (const m of this.machines) if (m.node === null && m.restartAt >= 0 && m.restartAt <= this.now) this.start(m);
    this.finishWrites();
    this.deliver();
    for (const m of this.machines) {
      if (m.node === null) continue;
      // Occasional missed ticks model clock drift between nodes.
      if (this.faultsOn && this.rng.nextFloat() < 0.05) continue;
      m.node.rn.tick();
      m.node.dirty = true;
      this.checkCommitDurable(m);
    }
    this.clientActions();
    if (this.faultsOn) this.nemesis.faultActions();
    this.operatorActions();
    for (const m of this.machines) if (m.node?.dirty === true) this.handleReady(m);
    // Crashes also strike after a Ready was persisted but before its messages left the node.
    if (this.faultsOn) {
      this.nemesis.crashDoomed();
      if (this.rng.nextFloat() < 0.5) this.nemesis.maybeCrash();
    }
    this.maybeSnapshot();
    this.expireOps();
  }

  private deliver(): void {
    const unreachable = (msg: Message): void => {
      const from = this.machine(msg.from)?.node;
      if (from == null) return;
      if (msg.type === 'MsgSnap') from.rn.reportSnapshot(msg.to, false);
      else from.rn.reportUnreachable(msg.to);
      from.dirty = true;
    };
    for (const msg of this.net.due(this.now, unreachable)) {
      const to = this.machine(msg.to);
      const from = this.machine(msg.from);
      if (msg.type === 'MsgSnap' && from?.node != null) {
        // The transport reports snapshot delivery to the sender.
        const ok = to?.node != null;
        from.node.rn.reportSnapshot(msg.to, ok);
        from.node.dirty = true;
      }
      if (to?.node == null) continue;
      if (this.opts.traceMessages === true) this.log(`  ${describeMessage(msg)}`);
      to.node.rn.step(msg);
      this.checkCommitDurable(to);
      // Readies are handled either right away or later in the round: a crash in between
      // loses the unpersisted state (and the messages that depended on it).
      if (this.rng.nextFloat() < 0.7) this.handleReady(to);
      else to.node.dirty = true;
    }
  }

  /**
   * The driver loop, as the server runs it: take a Ready, send what may leave at once, and
   * start its write. The write completes now or in a later round (`finishWrites`); meanwhile
   * the node keeps taking messages and ticks, and may crash, losing what was not written.
   * With a pipeline deeper than 1, further Readys are taken while writes are in flight; the
   * writes land in order.
   */
  private handleReady(m: Machine): void {
    const n = m.node;
    if (n === null) return;
    n.dirty = false;
    // While a write is in flight, the driver sends what may leave now (takeMessages).
    if (n.inflight.length > 0 && this.rng.nextFloat() < 0.5) {
      for (const msg of n.rn.takeMessages(this.rng.nextFloat() < 0.5)) this.net.send(msg, this.now);
      this.readStates(m, n.rn.takeReadStates());
      this.serveReads(m, n);
    }
    while (n.inflight.length < this.pipeline && n.rn.hasReady()) {
      const rd = n.rn.ready();
      const r = n.rn.raft;
      if (rd.softState !== undefined) {
        this.log(`node ${m.id} is ${rd.softState.raftState} (term ${r.term}, lead ${rd.softState.lead})`);
        if (rd.softState.raftState === 'leader') {
          this.checker.leaderElected(m.id, r.term, (i) => r.log.term(i), r.log.firstIndex() - 1);
          if (this.faultsOn) this.nemesis.leaderElected(m.id);
        }
      }
      // 1. send what promises nothing about this node's disk (a leader's appends, heartbeats)
      for (const msg of rd.messages) this.net.send(msg, this.now);
      if (n.inflight.length > 0) this.stats.pipelinedReadys++;
      n.inflight.push(rd);
      if (!this.faultsOn) {
        this.finishWrite(m, n);
        continue;
      }
      // A crash while the writes are in flight: their entries and HardStates are lost.
      if (this.nemesis.crashMidWrite(m, rd)) return;
      // The write often outlasts the delivery of the messages just sent (and their answers).
      if (this.rng.nextFloat() < 0.4) continue;
      this.finishWrite(m, n);
    }
  }

  /** Completes the oldest write still in flight, each with some probability (the rest wait a round). */
  private finishWrites(): void {
    for (const m of this.machines) {
      const n = m.node;
      if (n === null || n.inflight.length === 0) continue;
      if (this.faultsOn && this.rng.nextFloat() < 0.3) continue;
      this.finishWrite(m, n);
      this.handleReady(m);
    }
  }

  /** The oldest write in flight lands: persist -> send the rest -> apply -> advance. */
  private finishWrite(m: Machine, n: Node): void {
    const rd: Ready = n.inflight.shift()!;
    const disk = m.disk;
    const r = n.rn.raft;
    {
      // 2. persist
      if (rd.snapshot !== undefined) disk.applySnapshot(rd.snapshot);
      if (rd.entries.length > 0) {
        const first = rd.entries[0]!;
        let prevTerm: number | undefined;
        try {
          prevTerm = first.index - 1 >= disk.firstIndex() - 1 && first.index - 1 <= disk.lastIndex() ? disk.term(first.index - 1) : undefined;
        } catch {
          prevTerm = undefined;
        }
        for (const e of rd.entries) {
          this.checker.persisted(m.id, e, prevTerm);
          prevTerm = e.term;
        }
        disk.append(rd.entries);
      }
      if (rd.hardState !== undefined) {
        const old = disk.getHardState();
        if (rd.hardState.commit < old.commit) throw new Violation('durable commit', `node ${m.id} commit ${old.commit} -> ${rd.hardState.commit}`);
        if (rd.hardState.term < old.term) throw new Violation('durable term', `node ${m.id} term ${old.term} -> ${rd.hardState.term}`);
        disk.setHardState(rd.hardState);
        if (r.state === 'leader' && rd.hardState.commit > old.commit && r.log.term(rd.hardState.commit) !== r.term) this.log(`UNSAFE commit ${rd.hardState.commit} by ${m.id}`);
        if (rd.hardState.commit > this.checker.maxCommitted) {
          this.checker.committedUpTo(rd.hardState.commit, (i) => entryAt(disk, i), r.term);
        }
      }
      // 3. send votes and acknowledgements (only now: they promise what step 2 made durable)
      for (const msg of rd.messagesAfterPersist) this.net.send(msg, this.now);
      // 4. apply
      if (rd.snapshot !== undefined) {
        n.sm = KvStateMachine.restore(rd.snapshot.data);
        n.appliedIndex = rd.snapshot.metadata.index;
        n.confState = rd.snapshot.metadata.confState;
        this.log(`node ${m.id} installed snapshot at ${n.appliedIndex}`);
      }
      for (const e of rd.committedEntries) this.apply(m, n, e);
      this.readStates(m, rd.readStates);
      n.rn.advance();
      this.checkCommitDurable(m);
      this.serveReads(m, n);
    }
  }

  /**
   * The rule behind every acknowledged write: when a leader advances its commit index, the
   * entry there is on the disks of a majority of its voters (the leader's own disk counts
   * only once its write landed, not when the entry was appended in memory).
   */
  private checkCommitDurable(m: Machine): void {
    const n = m.node;
    if (n === null) return;
    const r = n.rn.raft;
    const c = r.log.committed;
    if (c <= n.checkedCommit) return;
    n.checkedCommit = c;
    if (r.state !== 'leader') return;
    const t = r.log.term(c);
    let durable = 0;
    for (const v of r.prs.voters) {
      const d = this.machine(v)?.disk;
      if (d !== undefined && durableAt(d, c, t)) durable++;
    }
    if (2 * durable <= r.prs.voters.length) {
      throw new Violation('durable commit quorum', `leader ${m.id} committed ${c} (term ${t}) held durably by ${durable} of ${r.prs.voters.length} voters`);
    }
  }

  private apply(m: Machine, n: Node, e: Entry): void {
    if (e.index !== n.appliedIndex + 1) throw new Violation('apply order', `node ${m.id} applied ${e.index} after ${n.appliedIndex}`);
    this.checker.appliedEntry(m.id, e);
    n.appliedIndex = e.index;
    if (e.type === 'confChange') {
      const cc = decodeConfChange(e.data);
      n.confState = n.rn.applyConfChange(cc);
      if (cc.type === 'removeNode') this.onRemoved(cc.nodeId, e.index);
      return;
    }
    if (e.data.length === 0) return;
    const cmd = decodeCommand(e.data);
    const out = n.sm.apply(cmd);
    const c = this.clients.findIndex((op) => op !== null && op.opId === cmd.op && op.node === m.id);
    if (c >= 0 && out !== undefined) this.completeOp(c, cmd.kind === 'cas' ? out : undefined);
  }

  private readStates(m: Machine, states: readonly ReadState[]): void {
    for (const rs of states) {
      const opId = Number(new DataView(rs.requestCtx.buffer, rs.requestCtx.byteOffset).getBigUint64(0));
      const c = this.clients.findIndex((op) => op !== null && op.opId === opId && op.node === m.id);
      if (c >= 0) this.clients[c]!.readIndex = rs.index;
    }
  }

  private serveReads(m: Machine, n: Node): void {
    for (let c = 0; c < this.clients.length; c++) {
      const op = this.clients[c];
      if (op == null || op.node !== m.id || op.readIndex === undefined || op.input.kind !== 'get') continue;
      if (n.appliedIndex >= op.readIndex) this.completeOp(c, n.sm.get(op.input.key));
    }
  }

  private maybeSnapshot(): void {
    for (const m of this.machines) {
      const n = m.node;
      if (n === null) continue;
      const snapIndex = m.disk.snapshot().metadata.index;
      if (n.appliedIndex - snapIndex < this.snapshotEvery || this.rng.nextFloat() < 0.5) continue;
      m.disk.createSnapshot(n.appliedIndex, n.confState, n.sm.snapshot());
      const keep = this.rng.nextInt(10);
      if (n.appliedIndex - keep > m.disk.firstIndex()) m.disk.compact(n.appliedIndex - keep);
      this.stats.snapshots++;
    }
  }

  // ---- clients ----

  private clientActions(): void {
    for (let c = 0; c < this.clients.length; c++) {
      if (this.clients[c] !== null || this.rng.nextFloat() > 0.3) continue;
      const running = this.running();
      if (running.length === 0) return;
      // Mostly talk to the leader, as a real client would after a redirect.
      // Clients cache "the leader": any node that believes it leads, possibly a deposed one.
      const leaders = running.filter((x) => x.node!.rn.raft.state === 'leader');
      const m = leaders.length > 0 && this.rng.nextFloat() < 0.7 ? leaders[this.rng.nextInt(leaders.length)]! : running[this.rng.nextInt(running.length)]!;
      const key = KEYS[this.rng.nextInt(KEYS.length)]!;
      const opId = this.nextOp++;
      const kind = this.rng.nextInt(3);
      let input: KvInput;
      if (kind === 0) input = { kind: 'get', key };
      else if (kind === 1) input = { kind: 'put', key, value: `v${opId}` };
      else input = { kind: 'cas', key, from: m.node!.sm.get(key), to: `v${opId}` };
      const op: PendingOp = { client: c, opId, input, call: this.clock++, deadline: this.now + OP_TIMEOUT, node: m.id };
      try {
        if (input.kind === 'get' && this.opts.unsafeLocalReads === true) {
          this.clients[c] = op;
          this.completeOp(c, m.node!.sm.get(key));
          continue;
        }
        if (input.kind === 'get') {
          const ctx = new Uint8Array(8);
          new DataView(ctx.buffer).setBigUint64(0, BigInt(opId));
          m.node!.rn.readIndex(ctx);
        } else {
          const cmd: KvCommand = input.kind === 'put' ? { op: opId, ...input } : { op: opId, ...input };
          m.node!.rn.propose(encodeCommand(cmd));
          this.stats.proposals++;
        }
      } catch (e) {
        if (e instanceof ProposalDroppedError) continue; // certainly not applied: not in the history
        throw e;
      }
      this.clients[c] = op;
      m.node!.dirty = true;
    }
  }

  private completeOp(c: number, output: KvOutput | undefined): void {
    const op = this.clients[c]!;
    const h: HistoryOp = { client: c, input: op.input, call: op.call, ret: this.clock++ };
    if (output !== undefined) h.output = output;
    this.history.push(h);
    if (op.input.kind === 'get') this.stats.reads++;
    else this.stats.committedOps++;
    this.clients[c] = null;
  }

  /** Unknown outcome: the op may take effect at any later time, or never. */
  private timeoutOp(c: number): void {
    const op = this.clients[c]!;
    if (op.input.kind !== 'get') this.history.push({ client: c, input: op.input, call: op.call, ret: Number.POSITIVE_INFINITY });
    this.stats.unknownOps++;
    this.clients[c] = null;
  }

  private expireOps(): void {
    for (let c = 0; c < this.clients.length; c++) {
      const op = this.clients[c];
      if (op != null && op.deadline <= this.now) this.timeoutOp(c);
    }
  }

  private finishHistory(): void {
    for (let c = 0; c < this.clients.length; c++) if (this.clients[c] != null) this.timeoutOp(c);
  }

  // ---- operator: membership changes and leadership transfers ----

  private operatorActions(): void {
    const rng = this.rng;
    if (rng.nextFloat() > 0.03) return;
    const lm = this.leaderMachine();
    if (lm === undefined) return;
    const rn = lm.node!.rn;
    const cs = rn.status().confState;
    if (rng.nextFloat() < 0.25) {
      const others = cs.voters.filter((v) => v !== lm.id);
      if (others.length === 0) return;
      const to = others[rng.nextInt(others.length)]!;
      rn.transferLeadership(to);
      lm.node!.dirty = true;
      this.stats.transfers++;
      this.log(`operator: transfer leadership ${lm.id} -> ${to}`);
      return;
    }
    const members = new Set([...cs.voters, ...cs.learners]);
    const outside = this.machines.filter((m) => !members.has(m.id));
    const choices: ConfChange[] = [];
    const none = new Uint8Array(0);
    for (const m of outside) choices.push({ type: 'addLearnerNode', nodeId: m.id, context: none });
    for (const l of cs.learners) choices.push({ type: 'addNode', nodeId: l, context: none }, { type: 'removeNode', nodeId: l, context: none });
    if (cs.voters.length > 3) for (const v of cs.voters) choices.push({ type: 'removeNode', nodeId: v, context: none });
    if (choices.length === 0) return;
    const cc = choices[rng.nextInt(choices.length)]!;
    try {
      rn.proposeConfChange(cc);
    } catch (e) {
      if (e instanceof ProposalDroppedError) return;
      throw e;
    }
    lm.node!.dirty = true;
    this.stats.confChanges++;
    this.log(`operator: propose ${cc.type} ${cc.nodeId}`);
    if (cc.type === 'addLearnerNode') {
      const m = this.machine(cc.nodeId)!;
      m.addedAt = rn.raft.log.lastIndex();
      if (m.node === null) this.start(m);
    }
  }

  /** Like etcd's server, a member stops once its removal is applied (by any node). */
  private onRemoved(id: NodeId, index: number): void {
    const m = this.machine(id);
    if (m === undefined || m.removedAt >= index || m.addedAt >= index) return;
    m.removedAt = index;
    if (m.node !== null) {
      this.log(`operator: stop removed ${id}`);
      m.node = null;
      for (let c = 0; c < this.clients.length; c++) if (this.clients[c]?.node === id) this.timeoutOp(c);
    }
    m.restartAt = -1;
  }

  // ---- liveness ----

  /**
   * Heal everything, restart every member, and require that within LIVENESS_BOUND rounds
   * a leader exists and a fresh proposal is applied by it.
   */
  private livenessPhase(): void {
    this.faultsOn = false;
    this.net.healAll();
    this.net.faults = { drop: 0, duplicate: 0, maxDelay: 1 };
    const start = this.now;
    for (const m of this.machines) if (m.node === null && m.restartAt >= 0) this.start(m);
    // The membership of the most advanced running node decides who must be up.
    let ref: Machine | undefined;
    for (const m of this.machines) {
      if (m.node === null) continue;
      if (ref === undefined || m.node.rn.raft.log.committed > ref.node!.rn.raft.log.committed) ref = m;
    }
    let refCommit = 0;
    for (const m of this.machines) refCommit = Math.max(refCommit, m.disk.getHardState().commit);
    const refRaft = ref?.node?.rn.raft;
    for (const m of this.machines) {
      const member = refRaft === undefined ? (m.removedAt < 0 || m.removedAt < m.addedAt) && m.disk.lastIndex() > 0 : refRaft.prs.isMember(m.id);
      if (member && m.node === null) this.start(m);
      if (!member && m.node !== null) {
        m.node = null;
        this.log(`liveness: stop non-member ${m.id}`);
      }
    }
    const opId = this.nextOp++;
    const cmd = encodeCommand({ op: opId, kind: 'put', key: 'live', value: 'x' });
    let proposedAt = -1;
    for (; this.now < start + LIVENESS_BOUND; this.now++) {
      this.round();
      const lm = this.leaderMachine();
      if (lm === undefined) continue;
      const n = lm.node!;
      if (n.sm.get('live') === 'x' && proposedAt >= 0) {
        this.stats.livenessTicks = this.now - start;
        return;
      }
      if (proposedAt < 0 || this.now - proposedAt > 3 * ELECTION_TICKS) {
        try {
          n.rn.propose(cmd);
          proposedAt = this.now;
          n.dirty = true;
        } catch (e) {
          if (!(e instanceof ProposalDroppedError)) throw e;
        }
      }
    }
    const lm = this.leaderMachine();
    const st = lm?.node?.rn.status();
    const desc = st === undefined ? 'no leader' : `leader ${st.id} term ${st.hardState.term} commit ${st.hardState.commit} last ${st.lastIndex} voters [${st.confState.voters.join(',')}] progress ${st.progress.map((p) => `${p.id}:${p.state}/${p.match}/${p.next}`).join(' ')}`;
    const nodes = this.machines.map((m) => `${m.id}:${m.node === null ? 'down' : `${m.node.rn.raft.state}/t${m.node.rn.raft.term}/c${m.node.rn.raft.log.committed}/l${m.node.rn.raft.log.lastIndex()}`}`).join(' ');
    throw new Violation('liveness', `no proposal committed within ${LIVENESS_BOUND} ticks after healing (refCommit ${refCommit}); ${desc}; ${nodes}`);
  }
}

/** Whether a disk holds entry (i, t), or a snapshot covering it. */
function durableAt(disk: MemoryStorage, i: number, t: number | undefined): boolean {
  if (disk.snapshot().metadata.index >= i) return true;
  if (i < disk.firstIndex() || i > disk.lastIndex()) return false;
  return disk.term(i) === t;
}

function entryAt(disk: MemoryStorage, i: number): Entry | undefined {
  if (i < disk.firstIndex() || i > disk.lastIndex()) return undefined;
  return disk.entries(i, i + 1, Number.MAX_SAFE_INTEGER)[0];
}

