// One seed of the whole-member simulation: open a cluster of complete members on simulated
// time, run client workloads under the nemesis, heal, let it settle, and check everything the
// clients were promised. Everything is drawn from one PRNG seeded by the seed, so a seed
// replays exactly (the trace hash proves it).
import { SeededRng } from '@cairn/raft';
import { toBytes } from '@cairn/protocol';
import type { PlantedBugs } from '../src/member.js';
import { AuthClients, checkAuth } from './authWorkload.js';
import { bugOptions, type BugName } from './bugs.js';
import { checkAcked, checkHashes, checkLeases, checkLinearizable, checkRecordedHistory, checkWatches, referenceOf, registerEvents, type ReferenceEvent } from './checks.js';
import { SimCluster, type ClusterSettings } from './cluster.js';
import { SimLoop } from './loop.js';
import { ClusterNemesis } from './nemesis.js';
import { LEASE_PREFIX, REGISTER_KEYS, Workload } from './workload.js';

export interface ClusterSimOptions {
  readonly seed: number;
  /** 3 or 5. Default 3. */
  readonly members?: number;
  /** Slots that may join later through `member add` (0: no membership changes). Default 2. */
  readonly spares?: number;
  /** Simulated milliseconds of faults and client load. Default 15000. */
  readonly faultMs?: number;
  readonly bug?: BugName;
  /** Receives each trace line (verbose replay). */
  readonly trace?: (line: string) => void;
}

export interface ClusterSimStats {
  members: number;
  simMs: number;
  steps: number;
  messages: number;
  dropped: number;
  diskWrites: number;
  lostWrites: number;
  crashes: number;
  powerLosses: number;
  restarts: number;
  partitions: number;
  pauses: number;
  transfers: number;
  reconfigurations: number;
  /** Members at the end. */
  finalMembers: number;
  ops: number;
  unknownOps: number;
  leases: number;
  watches: number;
  compactions: number;
  revision: number;
  compactRevision: number;
}

export interface ClusterSimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly violations: string[];
  /** FNV-1a over every trace line: equal for two runs of one seed. */
  readonly traceHash: string;
  readonly stats: ClusterSimStats;
}

const TICK_MS = 100;
const ELECTION_TICKS = 10;
const LEASE_TTL_SECONDS = 5;
/** After the faults: how long the healed cluster gets to converge. */
const SETTLE_LIMIT_MS = 60_000;

export async function runClusterSeed(o: ClusterSimOptions): Promise<ClusterSimResult> {
  const rng = new SeededRng(o.seed);
  const loop = new SimLoop();
  let hash = 0x811c9dc5;
  const trace = (line: string): void => {
    const s = `${loop.now.toFixed(3)} ${line}`;
    for (let i = 0; i < s.length; i++) hash = Math.imul(hash ^ s.charCodeAt(i), 0x01000193) >>> 0;
    o.trace?.(s);
  };
  const violations: string[] = [];
  const bugs: PlantedBugs = o.bug === undefined ? {} : bugOptions(o.bug);
  const electionMs = TICK_MS * ELECTION_TICKS;
  const size = o.members ?? 3;
  const spares = o.spares ?? 2;
  // Disks differ: fsync from well under a millisecond to tens of them, sometimes stalling.
  const disks = Array.from({ length: size + spares }, () => ({ minMs: 0.1, maxMs: 1 + rng.nextFloat() * rng.nextFloat() * 40, stallRate: rng.nextFloat() * 0.05, stallMs: 60 }));
  const settings: ClusterSettings = {
    size,
    spares,
    tickMs: TICK_MS,
    electionTicks: ELECTION_TICKS,
    snapshotCount: 8 + rng.nextInt(40),
    // Apart from the run's stream: 1 (no pipelining), 4 or 64 (the default).
    pipelineDepth: [1, 4, 64][new SeededRng(o.seed ^ 0x70e1).nextInt(3)]!,
    requestTimeoutMs: 3000,
    disks,
    net: { drop: rng.nextFloat() * 0.05, minMs: 0.1, maxMs: 0.5 + rng.nextFloat() * 4, slowRate: rng.nextFloat() * 0.1, slowMs: 80 },
    bugs,
  };
  trace(`seed ${o.seed}: ${settings.size} members, snapshotCount ${settings.snapshotCount}, pipeline ${settings.pipelineDepth}, drop ${settings.net.drop.toFixed(3)}${o.bug === undefined ? '' : `, planted bug ${o.bug}`}`);
  const deletedAt = new Map<string, number>();
  // Every revision's events as first made visible by any member: the reference history, which
  // compaction does not take away.
  const recorded = new Map<bigint, ReferenceEvent[]>();
  const cluster = new SimCluster(
    loop,
    rng,
    settings,
    {
      fatal: (slot, err) => {
        violations.push(`${slot.name} stopped on a fatal error: ${err instanceof Error ? err.message : String(err)}`);
        trace(`FATAL ${slot.name}: ${String(err)}`);
        cluster.crash(slot);
      },
      opened: () => undefined,
      visible: (_slot, r) => {
        if (!recorded.has(r.revision)) recorded.set(r.revision, referenceOf(r));
        for (const e of r.events) {
          if (e.type !== 'delete') continue;
          const key = new TextDecoder().decode(e.kv.key);
          if (key.startsWith(LEASE_PREFIX) && !deletedAt.has(key)) deletedAt.set(key, loop.now);
        }
      },
    },
    trace,
  );
  const nemesis = new ClusterNemesis(loop, rng, cluster, trace);
  const workload = new Workload(loop, rng, cluster, trace, { clientTimeoutMs: 4000, leaseTtlSeconds: LEASE_TTL_SECONDS, renewEveryMs: 1000 }, () => nemesis.acknowledged());
  const auth = new AuthClients(workload);
  const faultMs = o.faultMs ?? 15_000;

  const sleep = (ms: number): Promise<void> => new Promise((r) => loop.at(loop.sim, ms, r));
  let finished = false;
  const scenario = async (): Promise<void> => {
    for (const s of cluster.members()) cluster.open(s);
    while (cluster.leader() === undefined && loop.now < 10_000) await sleep(50);
    const faultEnd = loop.now + faultMs;
    await Promise.all([
      nemesis.run(faultEnd),
      workload.run(faultEnd, { kv: 6, lease: 2, watch: 2, compact: 1 }),
      auth.admin(100, faultEnd),
      auth.alice(101, faultEnd),
    ]);
    // Settle: every member up, leases left to expire, then all members at the same state.
    const settleStart = loop.now;
    const minQuiet = LEASE_TTL_SECONDS * 1000 + 3 * electionMs + 2000;
    let stableSince = -1;
    for (;;) {
      await sleep(100);
      // An add still in flight when the faults ended may commit now: its member is started.
      nemesis.adoptAdded();
      const up = cluster.up();
      const lead = cluster.leader();
      // Every member of the leader's members table up, at the leader's state.
      const inTable = lead === undefined ? [] : lead.member!.members().map((m) => cluster.byId(m.id));
      const same =
        lead !== undefined &&
        inTable.every((s) => s?.state === 'up' && s.member!.appliedIndex === lead.member!.appliedIndex && s.member!.visibleRevision === lead.member!.visibleRevision);
      if (!same) stableSince = -1;
      else if (stableSince < 0) stableSince = loop.now;
      if (same && loop.now - settleStart >= minQuiet && loop.now - stableSince >= 1000) break;
      if (loop.now - settleStart > SETTLE_LIMIT_MS) {
        violations.push(`the healed cluster did not converge within ${SETTLE_LIMIT_MS} ms (up: ${up.map((s) => `${s.name}@${s.member!.appliedIndex}`).join(' ')}, leader ${lead?.name ?? 'none'})`);
        return;
      }
    }
    const lead = cluster.leader()!.member!;
    const current = lead.members().map((m) => cluster.byId(m.id)!);
    // Final linearizable reads on every member join the history.
    for (const s of current) {
      for (const key of REGISTER_KEYS) {
        const call = loop.now;
        try {
          const r = await s.member!.range({ key: toBytes(key) });
          workload.history.push({ client: -1, input: { kind: 'get', key }, call, output: r.kvs[0] === undefined ? '' : new TextDecoder().decode(r.kvs[0].value), ret: loop.now });
        } catch (err) {
          violations.push(`final read of ${key} on ${s.name} failed: ${String(err)}`);
        }
      }
    }
    const members = current.map((s) => s.member!);
    const final = lead.visibleRevision;
    const compacted = BigInt(lead.applier.store.compactRevision);
    for (const m of members) violations.push(...checkRecordedHistory(m, recorded, BigInt(m.applier.store.compactRevision) + 1n, final));
    violations.push(...(await checkAcked(members, workload.acked, recorded)));
    violations.push(
      ...checkWatches(workload.watches, registerEvents(recorded, final), (w) => {
        const slot = cluster.slots.find((s) => s.name === w.member)!;
        return !w.ended && !w.canceled && slot.owner?.name === w.incarnation && slot.state === 'up' ? final : undefined;
      }),
    );
    // Hashes at the final revision and at one still in the history.
    const revisions = [final];
    if (final > compacted + 1n) revisions.push(compacted + 1n + BigInt(rng.nextInt(Number(final - compacted - 1n))));
    violations.push(...(await checkHashes(members, revisions)));
    violations.push(...checkLeases(members, workload.leases, deletedAt, 1.5 * electionMs + 300));
    violations.push(...checkAuth(auth, recorded));
  };
  scenario().then(
    () => (finished = true),
    (err: unknown) => {
      violations.push(`the simulation itself failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      finished = true;
    },
  );
  try {
    await loop.run(Number.MAX_SAFE_INTEGER, () => finished || loop.now > faultMs + 200_000);
  } catch (err) {
    violations.push(err instanceof Error ? err.message : String(err));
    finished = false;
  }
  if (!finished) violations.push(`the run did not finish (stopped at ${loop.now} ms simulated)`);
  else violations.push(...checkLinearizable(workload.history));
  trace(`end: ${violations.length} violation(s)`);
  const revision = Number(cluster.leader()?.member?.visibleRevision ?? 0n);
  const compactRevision = cluster.leader()?.member?.applier.store.compactRevision ?? 0;
  return {
    seed: o.seed,
    ok: violations.length === 0,
    violations,
    traceHash: hash.toString(16).padStart(8, '0'),
    stats: {
      members: settings.size,
      simMs: Math.round(loop.now),
      steps: loop.steps,
      messages: cluster.net.sent,
      dropped: cluster.net.dropped,
      diskWrites: cluster.slots.reduce((n, s) => n + s.disk.writes, 0),
      lostWrites: cluster.slots.reduce((n, s) => n + s.disk.lost, 0),
      crashes: nemesis.stats.crashes,
      powerLosses: nemesis.stats.powerLosses,
      restarts: nemesis.stats.restarts,
      partitions: nemesis.stats.partitions,
      pauses: nemesis.stats.pauses,
      transfers: nemesis.stats.transfers,
      reconfigurations: nemesis.stats.reconfigurations,
      finalMembers: cluster.leader()?.member?.members().length ?? 0,
      ops: workload.stats.ok + workload.stats.failed + workload.stats.unknown,
      unknownOps: workload.stats.unknown,
      leases: workload.leases.length,
      watches: workload.watches.length,
      compactions: workload.stats.compactions,
      revision,
      compactRevision,
    },
  };
}
