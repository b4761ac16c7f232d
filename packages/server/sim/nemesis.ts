// Faults for the whole-member simulation, drawn from the run's PRNG (a seed replays them):
// crashes (kill -9, unsynced writes lost), clean restarts, partitions (one member isolated, a
// split, or one-way), process pauses (nothing of the member runs for a while, then all of it at
// once), leadership transfers and membership changes (add a learner or a voter, promote,
// remove), on top of the network's own loss and delays. Leaders are hit more often than
// others, as in the Raft-core simulator (packages/raft/sim/nemesis.ts).
import type { SeededRng } from '@cairn/raft';
import type { SimCluster, Slot } from './cluster.js';
import type { SimLoop } from './loop.js';

export interface NemesisStats {
  crashes: number;
  powerLosses: number;
  restarts: number;
  partitions: number;
  pauses: number;
  transfers: number;
  /** Membership changes asked for (add, promote, remove), whatever their outcome. */
  reconfigurations: number;
}

export class ClusterNemesis {
  readonly stats: NemesisStats = { crashes: 0, powerLosses: 0, restarts: 0, partitions: 0, pauses: 0, transfers: 0, reconfigurations: 0 };
  /** Per nemesis step (every `stepMs`): */
  private readonly crashRate: number;
  private readonly restartRate: number;
  private readonly powerLossRate: number;
  private readonly partitionRate: number;
  private readonly pauseRate: number;
  private readonly transferRate: number;
  private readonly reconfigureRate: number;
  private readonly stepMs: number;
  private healAt = 0;
  private untilMs = 0;
  /** Per acknowledged write (see acknowledged). */
  private readonly ackPowerLossRate: number;

  constructor(
    private readonly loop: SimLoop,
    private readonly rng: SeededRng,
    private readonly cluster: SimCluster,
    private readonly trace: (line: string) => void,
  ) {
    this.stepMs = 100;
    this.crashRate = 0.005 + rng.nextFloat() * 0.03;
    this.restartRate = rng.nextFloat() * 0.01;
    this.powerLossRate = rng.nextFloat() * 0.01;
    this.ackPowerLossRate = rng.nextFloat() * 0.01;
    this.partitionRate = 0.005 + rng.nextFloat() * 0.03;
    this.pauseRate = rng.nextFloat() * 0.02;
    this.transferRate = 0.003 + rng.nextFloat() * 0.02;
    this.reconfigureRate = cluster.settings.spares > 0 ? 0.01 + rng.nextFloat() * 0.04 : 0;
  }

  /** Runs faults until `untilMs`; then heals everything and brings every member back. */
  async run(untilMs: number): Promise<void> {
    const rng = this.rng;
    this.untilMs = untilMs;
    while (this.loop.now < untilMs) {
      // Jittered, so that faults do not line up with the members' ticks.
      await new Promise<void>((r) => this.loop.at(this.loop.sim, this.stepMs * (0.5 + rng.nextFloat()), r));
      const up = this.cluster.up();
      if (up.length > 0 && rng.nextFloat() < this.crashRate) {
        // The leader often; else, often a member with a write in flight (what it acknowledged
        // may not be on its disk yet).
        const lead = this.cluster.leader();
        const writing = up.filter((s) => s.disk.writesInFlight > 0);
        const victim =
          lead !== undefined && rng.nextFloat() < 0.4 ? lead : writing.length > 0 && rng.nextFloat() < 0.5 ? writing[rng.nextInt(writing.length)]! : up[rng.nextInt(up.length)]!;
        this.crash(victim, 100 + rng.nextInt(rng.nextFloat() < 0.3 ? 8000 : 2000));
      }
      if (up.length > 1 && rng.nextFloat() < this.powerLossRate) {
        // Every member at once (a power cut): only what each had synced survives.
        this.stats.powerLosses++;
        this.trace('power loss: every member crashes');
        for (const s of up) this.crash(s, 100 + rng.nextInt(2000));
      } else if (up.length > 0 && rng.nextFloat() < this.restartRate) {
        const victim = up[rng.nextInt(up.length)]!;
        this.restart(victim, 50 + rng.nextInt(1000));
      }
      if (up.length > 0 && rng.nextFloat() < this.pauseRate) this.pause(up);
      if (rng.nextFloat() < this.transferRate) this.transfer();
      this.adoptAdded();
      if (rng.nextFloat() < this.reconfigureRate) this.reconfigure();
      const net = this.cluster.net;
      if (net.cuts > 0 && this.loop.now >= this.healAt) {
        net.healAll();
        this.trace('heal');
      } else if (net.cuts === 0 && rng.nextFloat() < this.partitionRate) {
        this.partition();
      }
    }
    this.cluster.net.healAll();
    for (const s of this.cluster.members()) if (s.state === 'down') this.cluster.open(s);
    this.trace('nemesis done: healed, every member opening');
  }

  /**
   * A client write was just acknowledged: sometimes the power fails a moment later, while the
   * entry may be on no more disks than the protocol promised (a majority's).
   */
  acknowledged(): void {
    if (this.loop.now >= this.untilMs || this.rng.nextFloat() >= this.ackPowerLossRate) return;
    this.loop.at(this.loop.sim, this.rng.nextFloat() * 3, () => {
      const up = this.cluster.up();
      if (up.length < 2 || this.loop.now >= this.untilMs) return;
      this.stats.powerLosses++;
      this.trace('power loss just after an acknowledged write: every member crashes');
      for (const s of up) this.crash(s, 100 + this.rng.nextInt(2000));
    });
  }

  private crash(slot: Slot, downMs: number): void {
    this.stats.crashes++;
    this.cluster.crash(slot);
    this.loop.at(this.loop.sim, downMs, () => this.cluster.open(slot));
  }

  private restart(slot: Slot, downMs: number): void {
    this.stats.restarts++;
    void this.cluster.stop(slot).then(() => this.loop.at(this.loop.sim, downMs, () => this.cluster.open(slot)));
  }

  /**
   * Freezes a member (the leader half the time): often shorter than an election timeout (a GC
   * pause), sometimes several of them (the others elect a new leader while it still believes
   * it leads, and it resumes with a backlog of timers, messages and client calls).
   */
  private pause(up: readonly Slot[]): void {
    const rng = this.rng;
    const lead = this.cluster.leader();
    const victim = lead !== undefined && rng.nextFloat() < 0.5 ? lead : up[rng.nextInt(up.length)]!;
    const owner = victim.owner!;
    if (owner.pausedUntil !== undefined && owner.pausedUntil > this.loop.now) return;
    const ms = 50 + rng.nextInt(rng.nextFloat() < 0.4 ? 4000 : 800);
    owner.pausedUntil = this.loop.now + ms;
    this.stats.pauses++;
    this.trace(`pause ${owner.name} for ${ms} ms`);
  }

  /** The leader hands leadership to another voter (what `cairnctl move-leader` asks for). */
  private transfer(): void {
    const lead = this.cluster.leader();
    const others = this.cluster.up().filter((s) => s !== lead);
    if (lead === undefined || others.length === 0) return;
    const paused = lead.owner!.pausedUntil;
    if (paused !== undefined && paused > this.loop.now) return;
    const to = others[this.rng.nextInt(others.length)]!;
    this.stats.transfers++;
    this.trace(`move leader ${lead.owner!.name} -> ${to.name}`);
    lead.member!.admin.moveLeader(to.id).then(
      () => this.trace(`move leader to ${to.name}: done`),
      (err: unknown) => this.trace(`move leader to ${to.name}: ${err instanceof Error ? err.message : String(err)}`),
    );
  }

  /** The leader, if it is up and not paused (the one a membership call would reach). */
  private activeLeader(): Slot | undefined {
    const lead = this.cluster.leader();
    const paused = lead?.owner?.pausedUntil;
    return lead === undefined || (paused !== undefined && paused > this.loop.now) ? undefined : lead;
  }

  /**
   * A spare whose peer URL the leader's members table lists was added (perhaps by a call whose
   * answer was lost): start it, as the operator who ran `member add` does.
   */
  adoptAdded(): void {
    const lead = this.activeLeader();
    if (lead === undefined) return;
    for (const s of this.cluster.slots) {
      if (s.role !== 'spare' || s.state !== 'down') continue;
      const rec = lead.member!.members().find((m) => m.peerUrls.includes(this.cluster.peerUrl(s)));
      if (rec === undefined || rec.id === s.id) continue;
      this.cluster.added(s, rec.id);
      this.cluster.open(s);
    }
  }

  /**
   * Through the leader, as `cairnctl member add|promote|remove` would: adds a spare (usually as
   * a learner), promotes a learner, or removes a member (a learner, or a voter while more than
   * three remain; sometimes the leader itself).
   */
  private reconfigure(): void {
    const rng = this.rng;
    const lead = this.activeLeader();
    if (lead === undefined) return;
    const admin = lead.member!.admin;
    const cs = lead.member!.applier.confState;
    const spare = this.cluster.slots.find((s) => s.role === 'spare' && s.state === 'down');
    const r = rng.nextFloat();
    let what: string;
    let call: Promise<unknown>;
    if (r < 0.4 && spare !== undefined && cs.voters.length + cs.learners.length < 5) {
      const isLearner = rng.nextFloat() < 0.7;
      what = `member add ${spare.name}${isLearner ? ' --learner' : ''}`;
      call = admin.memberAdd({ peerUrls: [this.cluster.peerUrl(spare)], isLearner });
    } else if (r < 0.7 && cs.learners.length > 0) {
      const id = cs.learners[rng.nextInt(cs.learners.length)]!;
      what = `member promote ${this.cluster.byId(id)?.name ?? id.toString(16)}`;
      call = admin.memberPromote(id);
    } else {
      const removable = [...cs.learners, ...(cs.voters.length > 3 ? cs.voters : [])];
      if (removable.length === 0) return;
      const id = removable[rng.nextInt(removable.length)]!;
      what = `member remove ${this.cluster.byId(id)?.name ?? id.toString(16)}`;
      call = admin.memberRemove(id);
    }
    this.stats.reconfigurations++;
    this.trace(what);
    call.then(
      () => this.trace(`${what}: done`),
      (err: unknown) => this.trace(`${what}: ${err instanceof Error ? err.message : String(err)}`),
    );
  }

  private partition(): void {
    const rng = this.rng;
    const net = this.cluster.net;
    const ids = this.cluster.members().map((s) => s.id);
    const kind = rng.nextInt(3);
    const victim = ids[rng.nextInt(ids.length)]!;
    if (kind === 0) {
      const lead = this.cluster.leader()?.id;
      const v = lead !== undefined && rng.nextFloat() < 0.5 ? lead : victim;
      for (const o of ids) {
        if (o === v) continue;
        net.cutLink(v, o);
        net.cutLink(o, v);
      }
      this.trace(`partition: isolate ${this.name(v)}`);
    } else if (kind === 1) {
      const side = new Set(ids.filter(() => rng.nextFloat() < 0.5));
      for (const a of ids) for (const b of ids) if (side.has(a) !== side.has(b)) net.cutLink(a, b);
      this.trace(`partition: split {${[...side].map((id) => this.name(id)).join(',')}}`);
    } else {
      const outgoing = rng.nextFloat() < 0.5;
      for (const o of ids) {
        if (o === victim) continue;
        if (outgoing) net.cutLink(victim, o);
        else net.cutLink(o, victim);
      }
      this.trace(`partition: ${this.name(victim)} cannot ${outgoing ? 'send' : 'receive'}`);
    }
    this.healAt = this.loop.now + 300 + rng.nextInt(6000);
    this.stats.partitions++;
  }

  private name(id: bigint): string {
    return this.cluster.slots.find((s) => s.id === id)?.name ?? id.toString(16);
  }
}
