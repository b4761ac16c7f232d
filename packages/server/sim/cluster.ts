// Complete members on simulated time: each one a real Member (driver, applier, MVCC, leases,
// watches, auth, membership) over its SimDisk and the SimNet, with a WatchHub wired as the
// server wires it. Crashing a member drops the object and its unsynced writes; restarting
// opens a new Member on what its disk kept.
import type { SeededRng } from '@cairn/raft';
import type { DriverLog } from '../src/raftNode/driver.js';
import { Member, type PlantedBugs } from '../src/member.js';
import { initialClusterId, initialMemberId, openIdentity } from '../src/identity.js';
import type { RevisionEvents } from '../src/mvcc/store.js';
import { WatchHub } from '../src/watch/hub.js';
import { SimDisk, type DiskTiming } from './disk.js';
import type { Owner, SimLoop } from './loop.js';
import { SimNet, type NetFaults } from './net.js';

const TOKEN = 'sim';
const url = (name: string): string => `http://${name}.sim:2380`;

export interface ClusterSettings {
  readonly size: number;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly snapshotCount: number;
  readonly requestTimeoutMs: number;
  /** Each member's disk (one may be much slower than the others). */
  readonly disks: readonly DiskTiming[];
  readonly net: NetFaults;
  readonly bugs: PlantedBugs;
}

/** One member slot: its disk outlives its incarnations. */
export interface Slot {
  readonly name: string;
  readonly id: bigint;
  readonly disk: SimDisk;
  /** Wall clock offset of this member's host. */
  readonly skewMs: number;
  /** The running incarnation, if any. */
  member: Member | undefined;
  hub: WatchHub | undefined;
  owner: Owner | undefined;
  /** Opening, crashed or closing: not up. */
  state: 'down' | 'opening' | 'up' | 'closing';
  incarnations: number;
}

/** What the cluster tells the run about (for the checks). */
export interface ClusterEvents {
  /** A member hit a broken invariant or a failed write. */
  fatal(slot: Slot, err: unknown): void;
  /** A member opened (a new incarnation). */
  opened(slot: Slot): void;
  /** Revisions became visible on a member. */
  visible(slot: Slot, revision: RevisionEvents): void;
}

const quiet: DriverLog = { info: () => undefined, warn: () => undefined, debug: () => undefined };

export class SimCluster {
  readonly slots: Slot[];
  readonly net: SimNet;
  readonly clusterId: bigint;

  constructor(
    private readonly loop: SimLoop,
    private readonly rng: SeededRng,
    readonly settings: ClusterSettings,
    private readonly events: ClusterEvents,
    private readonly trace: (line: string) => void,
    private readonly log: DriverLog = quiet,
  ) {
    const names = Array.from({ length: settings.size }, (_, i) => `m${i + 1}`);
    const ids = names.map((n) => initialMemberId([url(n)], TOKEN));
    this.clusterId = initialClusterId(ids, TOKEN);
    this.net = new SimNet(loop, rng, settings.net, this.clusterId, trace);
    this.slots = names.map((name, i) => ({
      name,
      id: ids[i]!,
      disk: new SimDisk(loop, rng, settings.disks[i]!),
      skewMs: Math.round((rng.nextFloat() - 0.5) * 2000),
      member: undefined,
      hub: undefined,
      owner: undefined,
      state: 'down',
      incarnations: 0,
    }));
  }

  up(): Slot[] {
    return this.slots.filter((s) => s.state === 'up');
  }

  leader(): Slot | undefined {
    return this.up().find((s) => s.member!.isLeader());
  }

  /** Opens a new incarnation of `slot` on what its disk holds (bootstrapping it the first time). */
  open(slot: Slot): void {
    if (slot.state !== 'down') return;
    slot.state = 'opening';
    const owner: Owner = { name: `${slot.name}#${++slot.incarnations}`, alive: true };
    slot.owner = owner;
    const backend = slot.disk.open(owner);
    const clock = this.loop.clock(slot.skewMs);
    const scheduler = this.loop.scheduler(owner);
    const names = this.slots.map((s) => s.name);
    const seed = {
      name: slot.name,
      peerUrls: [url(slot.name)],
      initialClusterToken: TOKEN,
      initialCluster: new Map(names.map((n) => [n, [url(n)]])),
      initialClusterState: 'new' as const,
    };
    const s = this.settings;
    const open = async (): Promise<void> => {
      const { identity } = await openIdentity(backend, seed, slot.name, clock);
      const member = await Member.open({
        backend,
        identity,
        name: slot.name,
        peerUrls: [url(slot.name)],
        clientUrls: [`http://${slot.name}.sim:2379`],
        clock,
        scheduler,
        raft: { tickMs: s.tickMs, electionTicks: s.electionTicks, snapshotCount: s.snapshotCount, rngSeed: this.rng.nextU32() },
        requestTimeoutMs: s.requestTimeoutMs,
        transport: this.net.transport(slot.id, owner),
        log: this.log,
        plantedBugs: s.bugs,
        onFatal: (err) => {
          if (owner.alive) this.events.fatal(slot, err);
        },
      });
      if (!owner.alive) return;
      const hub = new WatchHub(
        {
          onChange: (l) => member.onChange(l),
          historyRange: (from, to) => member.historyRange(from, to),
          get visibleRevision() {
            return member.visibleRevision;
          },
          get compactRevision() {
            return BigInt(member.applier.store.compactRevision);
          },
          header: () => member.header(),
        },
        { scheduler },
      );
      member.onReset(() => hub.resync());
      member.onChange((revs) => {
        for (const r of revs) this.events.visible(slot, r);
      });
      member.onLeaderChange((ss) => {
        if (ss.raftState === 'leader') this.trace(`${owner.name} leads, term ${member.driver.currentTerm}, log index ${member.driver.node.raft.log.lastIndex()}`);
      });
      slot.member = member;
      slot.hub = hub;
      slot.state = 'up';
      this.net.attach(slot.id, owner, member);
      this.trace(`open ${owner.name} applied=${member.appliedIndex} rev=${member.revision} log index ${member.driver.node.raft.log.lastIndex()}`);
      this.events.opened(slot);
    };
    open().catch((err: unknown) => {
      if (owner.alive) this.events.fatal(slot, err);
    });
  }

  /** kill -9: the process and everything it had not synced are gone. */
  crash(slot: Slot): void {
    if (slot.owner === undefined || slot.state === 'down') return;
    slot.owner.alive = false;
    this.net.detach(slot.id);
    const keep = this.rng.nextFloat() < 0.5;
    slot.disk.crash(keep);
    const last = slot.member?.driver.node.raft.log.lastIndex() ?? '-';
    this.trace(`crash ${slot.owner.name} at log index ${last} (unsynced writes ${keep ? 'partly kept' : 'lost'})`);
    slot.member = undefined;
    slot.hub = undefined;
    slot.state = 'down';
  }

  /** A clean stop (Member.close), then down. */
  stop(slot: Slot): Promise<void> {
    const m = slot.member;
    const owner = slot.owner;
    if (m === undefined || owner === undefined || slot.state !== 'up') return Promise.resolve();
    slot.state = 'closing';
    this.net.detach(slot.id);
    slot.hub?.close();
    this.trace(`stop ${owner.name}`);
    return m.close().then(
      () => {
        if (!owner.alive) return;
        owner.alive = false;
        slot.member = undefined;
        slot.hub = undefined;
        slot.state = 'down';
      },
      (err: unknown) => {
        if (owner.alive) this.events.fatal(slot, err);
      },
    );
  }
}
