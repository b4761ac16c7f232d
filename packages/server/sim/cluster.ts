// Complete members on simulated time: each one a real Member (driver, applier, MVCC, leases,
// watches, auth, membership) over its SimDisk and the SimNet, with a WatchHub wired as the
// server wires it. Crashing a member drops the object and its unsynced writes; restarting
// opens a new Member on what its disk kept. Spare slots join through `member add` and leave
// through `member remove`, each time as a new member on an empty disk, as an operator does it.
import type { SeededRng } from '@cairn/raft';
import type { DriverLog } from '../src/raftNode/driver.js';
import { Member, type PlantedBugs } from '../src/member.js';
import { initialClusterId, initialMemberId, openIdentity, RemovedMemberError } from '../src/identity.js';
import type { RevisionEvents } from '../src/mvcc/store.js';
import { WatchHub } from '../src/watch/hub.js';
import { SimDisk, type DiskTiming } from './disk.js';
import type { Owner, SimLoop } from './loop.js';
import { SimNet, type NetFaults } from './net.js';

const TOKEN = 'sim';
const url = (name: string): string => `http://${name}.sim:2380`;

export interface ClusterSettings {
  /** Members of the initial cluster. */
  readonly size: number;
  /** Slots beyond those, which may join later (`member add`). */
  readonly spares: number;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly snapshotCount: number;
  /** Readys whose writes a member keeps in flight at once (MemberOptions.raft.pipelineDepth). */
  readonly pipelineDepth: number;
  readonly requestTimeoutMs: number;
  /** Each member's disk (one may be much slower than the others). */
  readonly disks: readonly DiskTiming[];
  readonly net: NetFaults;
  readonly bugs: PlantedBugs;
}

/** One member slot: its disk outlives its incarnations (until it is removed and joins anew). */
export interface Slot {
  readonly name: string;
  /** The member id of its current life (a spare: of its last one, or 0). */
  id: bigint;
  disk: SimDisk;
  /** A member of the cluster (or being removed from it), or a spare that is not. */
  role: 'member' | 'spare';
  /** Its next open joins an existing cluster (it was added) rather than bootstrapping. */
  joins: boolean;
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
    const names = Array.from({ length: settings.size + settings.spares }, (_, i) => `m${i + 1}`);
    const ids = names.slice(0, settings.size).map((n) => initialMemberId([url(n)], TOKEN));
    this.clusterId = initialClusterId(ids, TOKEN);
    this.net = new SimNet(loop, rng, settings.net, this.clusterId, trace);
    this.slots = names.map((name, i) => ({
      name,
      id: ids[i] ?? 0n,
      disk: new SimDisk(loop, rng, settings.disks[i]!),
      role: i < settings.size ? ('member' as const) : ('spare' as const),
      joins: false,
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

  /** The slots that are (or are being removed from being) members. */
  members(): Slot[] {
    return this.slots.filter((s) => s.role === 'member');
  }

  /** The slot whose member has this id. */
  byId(id: bigint): Slot | undefined {
    return this.slots.find((s) => s.role === 'member' && s.id === id);
  }

  peerUrl(slot: Slot): string {
    return url(slot.name);
  }

  /**
   * `member add` of this spare's peer URL committed with `id`: it becomes a member that joins
   * the cluster, on an empty disk.
   */
  added(slot: Slot, id: bigint): void {
    if (slot.role !== 'spare' || slot.state !== 'down') return;
    slot.role = 'member';
    slot.id = id;
    slot.joins = true;
    slot.disk = new SimDisk(this.loop, this.rng, this.settings.disks[this.slots.indexOf(slot)]!);
    this.trace(`${slot.name} added as member ${id.toString(16)}`);
  }

  /** The member learnt it was removed (and marked its data dir so): it stops and becomes a spare. */
  private removed(slot: Slot, owner: Owner): void {
    if (slot.owner !== owner || !owner.alive) return;
    this.trace(`${owner.name} removed: stops`);
    void this.stop(slot).then(() => {
      if (slot.owner !== owner) return;
      slot.role = 'spare';
    });
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
    // A joining member is told of the members as the operator's `member add` printed them.
    const names = (slot.joins ? this.members() : this.slots.slice(0, this.settings.size)).map((s) => s.name);
    const seed = {
      name: slot.name,
      peerUrls: [url(slot.name)],
      initialClusterToken: TOKEN,
      initialCluster: new Map(names.map((n) => [n, [url(n)]])),
      initialClusterState: slot.joins ? ('existing' as const) : ('new' as const),
      fetchMembers: () => this.fetchMembers(slot.id),
    };
    const s = this.settings;
    const open = async (): Promise<void> => {
      let identity;
      let peerHints;
      try {
        ({ identity, peerHints } = await openIdentity(backend, seed, slot.name, clock));
      } catch (err) {
        if (err instanceof RemovedMemberError && owner.alive) {
          // It applied its own removal, then died before it stopped: the data dir refuses to
          // serve again, as it should. The operator wipes it; the slot is a spare.
          this.trace(`${owner.name} refuses to start: ${err.message}`);
          owner.alive = false;
          slot.state = 'down';
          slot.role = 'spare';
          return;
        }
        if (!slot.joins || !owner.alive) throw err;
        // Joining needs a member to answer (and the add to have reached it): the process
        // exits, and is started again a little later, as systemd would.
        this.trace(`${owner.name} could not join: ${err instanceof Error ? err.message : String(err)}`);
        owner.alive = false;
        slot.state = 'down';
        this.loop.at(this.loop.sim, 500, () => {
          if (slot.role === 'member') this.open(slot);
        });
        return;
      }
      const member = await Member.open({
        backend,
        identity,
        name: slot.name,
        peerUrls: [url(slot.name)],
        clientUrls: [`http://${slot.name}.sim:2379`],
        clock,
        scheduler,
        raft: { tickMs: s.tickMs, electionTicks: s.electionTicks, snapshotCount: s.snapshotCount, pipelineDepth: s.pipelineDepth, rngSeed: this.rng.nextU32() },
        requestTimeoutMs: s.requestTimeoutMs,
        transport: this.net.transport(slot.id, owner),
        log: this.log,
        plantedBugs: s.bugs,
        peerHints,
        onFatal: (err) => {
          if (owner.alive) this.events.fatal(slot, err);
        },
        onRemoved: () => this.removed(slot, owner),
      });
      if (!owner.alive) return;
      const hub = new WatchHub(
        member.watchSource(),
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

  /** What a joining member's peer HTTP call gets: the member list of a member reachable from it. */
  private fetchMembers(self: bigint): Promise<{ clusterId: bigint; members: ReturnType<Member['members']> }> {
    const from = this.up().find((s) => s.id !== self && !this.net.isCut(self, s.id) && !this.net.isCut(s.id, self));
    return new Promise((resolve, reject) =>
      this.loop.at(this.loop.sim, 1, () => {
        if (from?.member === undefined) reject(new Error('no member reachable'));
        else resolve({ clusterId: this.clusterId, members: from.member.members() });
      }),
    );
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
