/**
 * Raft core micro-benchmark: committed proposals per second through a 3-node cluster held in
 * memory (MemoryStorage, no network, no fsync), driving each node with the documented Ready
 * loop. It measures the consensus code itself: log management, replication, quorum commit
 * and the Ready/advance cycle. Only @cairn/raft's public API is used.
 */
import { MemoryStorage, RawNode, SeededRng, type Message, type NodeId } from '@cairn/raft';

export interface RaftBenchResult {
  /** Proposals committed and applied by the leader, per second. */
  proposalsPerSec: number;
  committed: number;
  durationMs: number;
  batch: number;
  payloadBytes: number;
  /** Messages exchanged per committed proposal. */
  messagesPerProposal: number;
}

interface BenchNode {
  readonly id: NodeId;
  readonly rn: RawNode;
  readonly storage: MemoryStorage;
  applied: number;
  appliedProposals: number;
}

const PAYLOAD_BYTES = 128;

export async function raftCommitBench(opts: { durationMs: number; batch: number }): Promise<RaftBenchResult> {
  const ids: NodeId[] = [1n, 2n, 3n];
  const rng = new SeededRng(1);
  const nodes = new Map<NodeId, BenchNode>();
  for (const id of ids) {
    const storage = new MemoryStorage();
    storage.applySnapshot({ data: new Uint8Array(0), metadata: { index: 1, term: 1, confState: { voters: ids, learners: [] } } });
    storage.setHardState({ term: 1, vote: 0n, commit: 1 });
    const rn = new RawNode({
      id,
      storage,
      electionTicks: 10,
      heartbeatTicks: 1,
      maxSizePerMsgBytes: 1 << 20,
      maxInflightMsgs: 256,
      checkQuorum: true,
      preVote: true,
      rng,
    });
    nodes.set(id, { id, rn, storage, applied: 1, appliedProposals: 0 });
  }
  let messages = 0;

  /** One pass of the driver loop over every node; returns the messages to deliver. */
  const drive = (): Message[] => {
    const out: Message[] = [];
    for (const n of nodes.values()) {
      while (n.rn.hasReady()) {
        const rd = n.rn.ready();
        // Send what may leave now, persist, send what needed the persist, apply, advance.
        for (const m of rd.messages) out.push(m);
        if (rd.snapshot !== undefined) n.storage.applySnapshot(rd.snapshot);
        n.storage.append(rd.entries);
        if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
        for (const m of rd.messagesAfterPersist) out.push(m);
        for (const e of rd.committedEntries) {
          n.applied = e.index;
          if (e.type === 'normal' && e.data.length > 0) n.appliedProposals++;
        }
        n.rn.advance();
      }
    }
    return out;
  };
  const settle = (): void => {
    for (let msgs = drive(); msgs.length > 0; msgs = drive()) {
      messages += msgs.length;
      for (const m of msgs) nodes.get(m.to)?.rn.step(m);
    }
  };

  const leader = nodes.get(1n)!;
  leader.rn.campaign();
  settle();
  if (leader.rn.status().softState.raftState !== 'leader') throw new Error('raft bench: no leader');

  const payload = new Uint8Array(PAYLOAD_BYTES);
  const start = performance.now();
  const base = leader.appliedProposals;
  const baseMessages = messages;
  let lastYield = start;
  let now = start;
  while (now - start < opts.durationMs) {
    for (let i = 0; i < opts.batch; i++) leader.rn.propose(payload);
    settle();
    // Keep memory bounded: snapshot and compact behind the applied index.
    for (const n of nodes.values()) {
      if (n.applied - n.storage.firstIndex() > 20_000) {
        n.storage.createSnapshot(n.applied, { voters: ids, learners: [] }, new Uint8Array(0));
        n.storage.compact(n.applied - 1_000);
      }
    }
    now = performance.now();
    if (now - lastYield > 50) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = now;
    }
  }
  const elapsed = performance.now() - start;
  const committed = leader.appliedProposals - base;
  return {
    proposalsPerSec: Math.round((committed * 1000) / elapsed),
    committed,
    durationMs: Math.round(elapsed),
    batch: opts.batch,
    payloadBytes: PAYLOAD_BYTES,
    messagesPerProposal: committed > 0 ? (messages - baseMessages) / committed : 0,
  };
}
