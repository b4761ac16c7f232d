// The nemesis: crashes and partitions, drawn from the simulation's PRNG.
import type { NodeId, Ready, SeededRng } from '../src/index.js';
import type { Network } from './network.js';
import type { Machine, SimStats } from './types.js';

/**
 * The parts of the simulation the nemesis acts on (the Sim provides them). It draws from the
 * simulation's own PRNG, so the faults of a seed replay with it.
 */
export interface NemesisHost {
  readonly rng: SeededRng;
  /** The current round. */
  readonly now: number;
  readonly net: Pick<Network, 'cutCount' | 'cutLink' | 'healAll'>;
  readonly machines: readonly Machine[];
  readonly stats: Pick<SimStats, 'partitions'>;
  log(line: string): void;
  machine(id: NodeId): Machine | undefined;
  running(): Machine[];
  leaderMachine(): Machine | undefined;
  /** Crashes `m`; it restarts `restartAfter` rounds later. */
  crash(m: Machine, restartAfter: number): void;
}

export class Nemesis {
  /**
   * Half of the seeds run a leader-hunting nemesis ("churn"): frequent, short crashes aimed
   * at leaders, many of them soon after an election, which produces the divergent logs of
   * the paper's Figure 8.
   */
  readonly churn: boolean;
  private readonly crashRate: number;
  private readonly partitionRate: number;
  private readonly maxPartitionRounds: number;
  /** Leaders scheduled to crash. */
  private doomed: { id: NodeId; at: number }[] = [];
  private healAt = 0;

  constructor(private readonly sim: NemesisHost) {
    const rng = sim.rng;
    this.churn = rng.nextInt(2) === 0;
    this.crashRate = this.churn ? 0.02 + rng.nextFloat() * 0.04 : 0.004 + rng.nextFloat() * 0.012;
    this.partitionRate = 0.005 + rng.nextFloat() * 0.03;
    this.maxPartitionRounds = 20 + rng.nextInt(100);
  }

  /** New leaders often die young, before their first entries spread. */
  leaderElected(id: NodeId): void {
    const rng = this.sim.rng;
    if (this.churn && rng.nextFloat() < 0.5) this.doomed.push({ id, at: this.sim.now + (rng.nextInt(2) === 0 ? 0 : rng.nextInt(10)) });
  }

  /** Random crashes and partitions for one round. */
  faultActions(): void {
    this.maybeCrash();
    if (this.sim.net.cutCount() > 0 && this.sim.now >= this.healAt) {
      this.sim.net.healAll();
      this.sim.log('heal');
    } else if (this.sim.net.cutCount() === 0 && this.sim.rng.nextFloat() < this.partitionRate) {
      this.partition();
    }
  }

  /** Crashes the leaders whose time has come. */
  crashDoomed(): void {
    const rng = this.sim.rng;
    if (this.doomed.length > 0) {
      const due = this.doomed.filter((d) => d.at <= this.sim.now);
      this.doomed = this.doomed.filter((d) => d.at > this.sim.now);
      for (const d of due) {
        const m = this.sim.machine(d.id)!;
        if (m.node !== null) this.sim.crash(m, 2 + rng.nextInt(30));
      }
    }
  }

  /**
   * Sometimes a node dies while its write is in flight, after the Ready's `messages` left
   * (a leader's appends reached followers that its own disk never got).
   */
  crashMidWrite(m: Machine, rd: Ready): boolean {
    const rng = this.sim.rng;
    if (rd.entries.length === 0 && rd.hardState === undefined) return false;
    if (rng.nextFloat() >= this.crashRate) return false;
    this.sim.log(`crash ${m.id} with its write in flight (entries ${rd.entries[0]?.index ?? '-'}..${rd.entries[rd.entries.length - 1]?.index ?? '-'})`);
    this.sim.crash(m, this.churn ? 2 + rng.nextInt(30) : 5 + rng.nextInt(100));
    return true;
  }

  maybeCrash(): void {
    const rng = this.sim.rng;
    const running = this.sim.running();
    if (rng.nextFloat() < this.crashRate / 2 && running.length > 0) {
      // Leaders crash more often than others: that is where the protocol is most exposed.
      const lead = this.sim.leaderMachine();
      const m = lead !== undefined && rng.nextFloat() < (this.churn ? 0.8 : 0.5) ? lead : running[rng.nextInt(running.length)]!;
      this.sim.crash(m, this.churn ? 2 + rng.nextInt(30) : 5 + rng.nextInt(100));
    }
  }

  private partition(): void {
    const rng = this.sim.rng;
    const ids = this.sim.machines.map((m) => m.id);
    const kind = rng.nextInt(3);
    const victim = ids[rng.nextInt(ids.length)]!;
    if (kind === 0) {
      // Isolate one node (it is often the leader: choose it half of the time).
      const lead = this.sim.leaderMachine()?.id;
      const v = lead !== undefined && rng.nextFloat() < 0.5 ? lead : victim;
      for (const o of ids) {
        if (o === v) continue;
        this.sim.net.cutLink(v, o);
        this.sim.net.cutLink(o, v);
      }
      this.sim.log(`partition: isolate ${v}`);
    } else if (kind === 1) {
      const side = new Set(ids.filter(() => rng.nextFloat() < 0.5));
      for (const a of ids) for (const b of ids) if (side.has(a) !== side.has(b)) this.sim.net.cutLink(a, b);
      this.sim.log(`partition: split {${[...side].join(',')}}`);
    } else {
      // Asymmetric: the victim can send but not receive, or the reverse.
      const outgoing = rng.nextFloat() < 0.5;
      for (const o of ids) {
        if (o === victim) continue;
        if (outgoing) this.sim.net.cutLink(victim, o);
        else this.sim.net.cutLink(o, victim);
      }
      this.sim.log(`partition: ${victim} cannot ${outgoing ? 'send' : 'receive'}`);
    }
    this.healAt = this.sim.now + 5 + rng.nextInt(this.maxPartitionRounds);
    this.sim.stats.partitions++;
  }
}
