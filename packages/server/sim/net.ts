// The simulated network between members: each raft message goes through the real peer frame
// codec and arrives after a random delay (so messages reorder), or is lost; directed links can
// be cut (partitions, possibly one-way). Peer RPCs and snapshot streams cross it too. A member
// that is down, or a new incarnation of it, never gets what was sent to the old one.
import { CairnError, decodeValue, encodeValue, ErrorCode } from '@cairn/protocol';
import type { Message, SeededRng } from '@cairn/raft';
import type { Member, TransportHooks } from '../src/member.js';
import { decodePeerFrame, encodePeerFrame, PeerRefusal } from '../src/transport/frames.js';
import type { RaftTransport } from '../src/transport/transport.js';
import type { Owner, SimLoop } from './loop.js';

export interface NetFaults {
  /** Probability that a raft message is lost. */
  drop: number;
  /** One-way latency in [minMs, maxMs); with probability `slowRate` up to `slowMs` more. */
  minMs: number;
  maxMs: number;
  slowRate: number;
  slowMs: number;
}

/** A member incarnation the network delivers to. */
interface Endpoint {
  readonly owner: Owner;
  readonly member: Member;
  /** Rejects once this incarnation is down (what a closed socket tells the other side). */
  readonly gone: Promise<never>;
  readonly down: (err: Error) => void;
}

export class SimNet {
  private readonly up = new Map<bigint, Endpoint>();
  /** Cut directed links, `${from}>${to}` (hex ids). */
  private readonly cut = new Set<string>();
  /** Each incarnation's transport hooks. */
  private readonly hooks = new WeakMap<Owner, TransportHooks>();
  sent = 0;
  dropped = 0;
  delivered = 0;

  constructor(
    private readonly loop: SimLoop,
    private readonly rng: SeededRng,
    public faults: NetFaults,
    private readonly clusterId: bigint,
    private readonly trace: (line: string) => void,
  ) {}

  /** `member` (incarnation `owner`) takes deliveries from now on. */
  attach(id: bigint, owner: Owner, member: Member): void {
    let down: (err: Error) => void = () => undefined;
    const gone = new Promise<never>((_, reject) => (down = reject));
    gone.catch(() => undefined);
    this.up.set(id, { owner, member, gone, down });
  }

  /**
   * The member is down: nothing reaches it, and streams to it fail. The others' connections
   * to it close, as a dead process's sockets do: each is told after a latency, unless its
   * link to the member is cut (a partition closes nothing).
   */
  detach(id: bigint): void {
    this.up.get(id)?.down(new CairnError(ErrorCode.Unavailable, `peer ${id.toString(16)} went down`));
    this.up.delete(id);
    for (const [other, e] of this.up) {
      const lost = this.hooks.get(e.owner)?.linkLost;
      if (lost === undefined || this.isCut(other, id)) continue;
      this.loop.at(e.owner, this.latency(), () => lost(id));
    }
  }

  isCut(from: bigint, to: bigint): boolean {
    return this.cut.has(`${from.toString(16)}>${to.toString(16)}`);
  }

  cutLink(from: bigint, to: bigint): void {
    this.cut.add(`${from.toString(16)}>${to.toString(16)}`);
  }

  healAll(): void {
    this.cut.clear();
  }

  get cuts(): number {
    return this.cut.size;
  }

  private latency(): number {
    const f = this.faults;
    let ms = f.minMs + this.rng.nextFloat() * (f.maxMs - f.minMs);
    if (this.rng.nextFloat() < f.slowRate) ms += this.rng.nextFloat() * f.slowMs;
    return ms;
  }

  /** Whether `to` can be reached from `from` now, and its current incarnation. */
  private reach(from: bigint, to: bigint): Endpoint | undefined {
    if (this.isCut(from, to)) return undefined;
    return this.up.get(to);
  }

  /** The transport factory for one incarnation of member `self`. */
  transport(self: bigint, owner: Owner): (hooks: TransportHooks) => RaftTransport {
    return (hooks) => {
      this.hooks.set(owner, hooks);
      return {
        send: (msgs) => this.send(self, owner, hooks, msgs),
        rpc: (to, method, params, timeoutMs) => this.rpc(self, owner, to, method, params, timeoutMs),
        sendSnapshot: (to, term, next) => this.sendSnapshot(self, owner, to, term, next),
        setPeers: () => undefined,
        close: () => undefined,
      };
    };
  }

  private send(self: bigint, owner: Owner, hooks: TransportHooks, msgs: readonly Message[]): void {
    if (!owner.alive) return;
    for (const m of msgs) {
      this.sent++;
      const target = this.reach(self, m.to);
      if (target === undefined) {
        // The link is down: the transport knows these never left.
        this.dropped++;
        hooks.unreachable(m.to, [m]);
        continue;
      }
      if (this.rng.nextFloat() < this.faults.drop) {
        this.dropped++;
        continue;
      }
      // Through the real codec: the receiver gets its own copy, as over a socket.
      const bytes = encodePeerFrame({ t: 'msgs', c: this.clusterId, m: [m] });
      // Owned by the receiver: a paused receiver reads it when it resumes.
      this.loop.at(target.owner, this.latency(), () => {
        const now = this.reach(self, m.to);
        if (now === undefined || now !== target || !owner.alive || !target.owner.alive) {
          this.dropped++;
          return;
        }
        // As the peer server does: a sender that is not a member (removed, or not yet known
        // here) is refused, and told why.
        if (!target.member.peer.isMember(self)) {
          this.dropped++;
          const code = target.member.peer.isRemoved(self) ? PeerRefusal.Removed : PeerRefusal.NotMember;
          if (!this.isCut(m.to, self)) this.loop.at(owner, this.latency(), () => hooks.refused(m.to, code, `refused by ${m.to.toString(16)}`));
          return;
        }
        const f = decodePeerFrame(bytes);
        if (f.t !== 'msgs') throw new Error('sim: a msgs frame decoded as something else');
        this.delivered++;
        target.member.peer.messages(self, f.m);
      });
    }
  }

  /**
   * A request and its answer each cross the network; the caller gives up after `timeoutMs`
   * (on its own timers, which die with it).
   */
  private rpc(self: bigint, owner: Owner, to: bigint, method: string, params: unknown, timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        cancel();
        fn();
      };
      const cancel = this.loop.at(owner, timeoutMs, () => finish(() => reject(new CairnError(ErrorCode.Timeout, `rpc ${method} to ${to.toString(16)} timed out`))));
      const target = this.reach(self, to);
      if (target === undefined) {
        this.loop.at(owner, this.latency(), () => finish(() => reject(new CairnError(ErrorCode.Unavailable, `peer ${to.toString(16)} unreachable`))));
        return;
      }
      const request = encodeValue({ method, params });
      this.loop.at(target.owner, this.latency(), () => {
        if (this.reach(self, to) !== target || !target.owner.alive) return;
        const { method: m, params: p } = decodeValue(request) as { method: string; params: unknown };
        target.member.peer.rpc(self, m, p).then(
          (result) => this.answer(self, to, owner, () => encodeValue({ result }), (bytes) => finish(() => resolve((decodeValue(bytes) as { result: unknown }).result))),
          (err: unknown) => {
            const e = err instanceof CairnError ? err : new CairnError(ErrorCode.Internal, String(err));
            this.answer(self, to, owner, () => encodeValue({ code: e.code, message: e.message }), (bytes) => {
              const r = decodeValue(bytes) as { code: string; message: string };
              finish(() => reject(new CairnError(r.code as ErrorCode, r.message)));
            });
          },
        );
      });
    });
  }

  private answer(caller: bigint, server: bigint, callerOwner: Owner, encode: () => Uint8Array, deliver: (bytes: Uint8Array) => void): void {
    if (this.isCut(server, caller)) return;
    const bytes = encode();
    this.loop.at(callerOwner, this.latency(), () => {
      if (!this.isCut(server, caller)) deliver(bytes);
    });
  }

  /** Streams a snapshot chunk by chunk; a cut or a death on either side fails it. */
  private async sendSnapshot(self: bigint, owner: Owner, to: bigint, term: number, next: () => Uint8Array[] | undefined): Promise<{ rows: number }> {
    const hop = (): Promise<void> => new Promise((resolve) => this.loop.at(owner, this.latency(), resolve));
    const target = this.reach(self, to);
    await hop();
    if (target === undefined || this.reach(self, to) !== target) throw new CairnError(ErrorCode.Unavailable, `peer ${to.toString(16)} unreachable`);
    const receiver = target.member.peer.snapshot(self, term);
    let finished = false;
    // The leader died mid-transfer: the follower sees its socket close.
    this.up.get(self)?.gone.catch(() => {
      if (!finished && target.owner.alive) receiver.abort();
    });
    let rows = 0;
    try {
      for (let chunk = next(); chunk !== undefined; chunk = next()) {
        await hop();
        if (this.reach(self, to) !== target || !target.owner.alive) throw new CairnError(ErrorCode.Unavailable, 'cut during the snapshot transfer');
        rows += chunk.length / 2;
        await Promise.race([receiver.chunk(chunk.map((b) => b.slice())), target.gone]);
      }
      await hop();
      if (this.reach(self, to) !== target || !target.owner.alive) throw new CairnError(ErrorCode.Unavailable, 'cut before the end of the snapshot transfer');
      await Promise.race([receiver.end(rows), target.gone]);
    } catch (err) {
      if (target.owner.alive) receiver.abort();
      throw err;
    } finally {
      finished = true;
    }
    this.trace(`snapshot ${self.toString(16).slice(0, 4)} -> ${to.toString(16).slice(0, 4)}: ${rows} rows`);
    return { rows };
  }
}
