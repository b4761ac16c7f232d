import type { Message } from '@cairn/raft';
import { Member, type MemberOptions, type TransportHooks } from '../member.js';
import { openIdentity } from '../identity.js';
import { systemClock } from '../clock.js';
import { MemoryBackend } from '../storage/memory.js';
import type { Backend } from '../storage/backend.js';
import type { RaftTransport } from '../transport/transport.js';

/**
 * Test support: members of one cluster in one process, wired by direct calls instead of
 * sockets (the real driver, applier and storage; only the wire is replaced). Messages are
 * delivered a macrotask later, like a network; `cut` isolates a member both ways.
 */
export class LocalNet {
  readonly members = new Map<bigint, Member>();
  readonly backends = new Map<string, Backend>();
  private readonly cut = new Set<bigint>();
  private readonly hooks = new Map<bigint, TransportHooks>();
  readonly names: string[];

  constructor(size: number) {
    this.names = Array.from({ length: size }, (_, i) => `m${i + 1}`);
  }

  private url(name: string): string {
    return `http://${name}.invalid:2380`;
  }

  private reachable(a: bigint, b: bigint): boolean {
    return !this.cut.has(a) && !this.cut.has(b) && this.members.has(b);
  }

  transport(self: bigint): (hooks: TransportHooks) => RaftTransport {
    return (hooks) => {
      this.hooks.set(self, hooks);
      return {
        send: (msgs: readonly Message[]) => {
          for (const m of msgs) {
            if (!this.reachable(self, m.to)) {
              hooks.unreachable(m.to, [m]);
              continue;
            }
            setImmediate(() => {
              if (this.reachable(self, m.to)) this.members.get(m.to)!.peer.messages(self, [m]);
            });
          }
        },
        rpc: async (to, method, params) => {
          if (!this.reachable(self, to)) throw new Error('unreachable');
          return this.members.get(to)!.peer.rpc(self, method, params);
        },
        sendSnapshot: async (to, term, next) => {
          if (!this.reachable(self, to)) throw new Error('unreachable');
          const r = this.members.get(to)!.peer.snapshot(self, term);
          let rows = 0;
          try {
            for (let chunk = next(); chunk !== undefined; chunk = next()) {
              if (!this.reachable(self, to)) throw new Error('cut during the transfer');
              rows += chunk.length / 2;
              await r.chunk(chunk);
            }
            await r.end(rows);
          } catch (err) {
            r.abort();
            throw err;
          }
          return { rows };
        },
        setPeers: () => undefined,
        close: () => undefined,
      };
    };
  }

  /** Starts (or restarts, on the same backend) member `name`. */
  async start(name: string, extra: Partial<MemberOptions> = {}): Promise<Member> {
    let backend = this.backends.get(name);
    if (backend === undefined) {
      backend = new MemoryBackend();
      this.backends.set(name, backend);
    }
    // A MemoryBackend survives its close(): a restart sees what was written.
    const { identity } = await openIdentity(
      backend,
      {
        name,
        peerUrls: [this.url(name)],
        initialClusterToken: 'local',
        initialCluster: new Map(this.names.map((n) => [n, [this.url(n)]])),
        initialClusterState: 'new',
      },
      name,
      systemClock,
    );
    const m = await Member.open({
      backend,
      identity,
      name,
      peerUrls: [this.url(name)],
      clientUrls: [],
      raft: { tickMs: 10, electionTicks: 10 },
      transport: this.transport(identity.memberId),
      onFatal: (err) => {
        throw err;
      },
      ...extra,
    });
    this.members.set(identity.memberId, m);
    return m;
  }

  async startAll(extra: Partial<MemberOptions> = {}): Promise<Member[]> {
    return Promise.all(this.names.map((n) => this.start(n, extra)));
  }

  /** Stops a member (its backend keeps what it wrote). */
  async stop(m: Member): Promise<void> {
    this.members.delete(m.memberId);
    await m.close();
  }

  isolate(m: Member): void {
    this.cut.add(m.memberId);
  }

  heal(m: Member): void {
    this.cut.delete(m.memberId);
  }

  async leader(timeoutMs = 10_000): Promise<Member> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leaders = [...this.members.values()].filter((m) => m.isLeader() && !this.cut.has(m.memberId));
      if (leaders.length === 1) return leaders[0]!;
      if (Date.now() > deadline) throw new Error('no single leader in time');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.members.values()].map((m) => m.close()));
    this.members.clear();
  }
}
