/**
 * A cluster of real `cairn` processes for end-to-end tests, configured the way walkthrough 4.1
 * does it: one YAML file per member with etcd's key names, relative data dirs, started from the
 * directory that holds them. Ports are picked free; `cleanup()` kills everything and removes
 * the directory.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CairnClient, type StatusResponse } from '@cairn/client';
import { Member, freePort, tempDir, waitFor } from './process.js';

export interface ClusterOptions {
  readonly size?: number;
  readonly token?: string;
  /** Extra YAML lines for every member (e.g. `snapshot-count: 100`), or per member name. */
  readonly extraYaml?: readonly string[] | ((name: string) => readonly string[]);
  /** `https` peer URLs (give the peer-* TLS settings in extraYaml). Default http. */
  readonly peerScheme?: 'http' | 'https';
}

export interface NodeSpec {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly configFile: string;
}

export class TestCluster {
  readonly members: Member[] = [];
  readonly specs: NodeSpec[] = [];
  private readonly clients: CairnClient[] = [];

  private constructor(
    readonly dir: string,
    private readonly token: string,
    private readonly extraYaml: (name: string) => readonly string[],
    private readonly peerScheme: 'http' | 'https',
  ) {}

  /** Writes the YAML files (nothing is started). */
  static async create(o: ClusterOptions = {}): Promise<TestCluster> {
    const extra = o.extraYaml ?? [];
    const c = new TestCluster(tempDir('cairn-cluster-'), o.token ?? 'local-cairn-cluster', typeof extra === 'function' ? extra : () => extra, o.peerScheme ?? 'http');
    const size = o.size ?? 3;
    const ports: { client: number; peer: number }[] = [];
    for (let i = 0; i < size; i++) ports.push({ client: await freePort(), peer: await freePort() });
    const scheme = o.peerScheme ?? 'http';
    const initial = ports.map((p, i) => `node${i + 1}=${scheme}://127.0.0.1:${p.peer}`).join(',');
    for (let i = 0; i < size; i++) {
      const name = `node${i + 1}`;
      const spec = { name, clientPort: ports[i]!.client, peerPort: ports[i]!.peer, configFile: join(c.dir, `${name}.yaml`) };
      c.writeYaml(spec, initial, 'new');
      c.specs.push(spec);
      c.members.push(c.memberFor(spec));
    }
    return c;
  }

  /** The walkthrough's file, with this member's ports. */
  writeYaml(spec: NodeSpec, initialCluster: string, state: 'new' | 'existing'): void {
    const yaml = [
      `# ${spec.name}.yaml`,
      `name: ${spec.name}`,
      `data-dir: ./${spec.name}.cairn`,
      `listen-peer-urls: ${this.peerScheme}://127.0.0.1:${spec.peerPort}`,
      `listen-client-urls: http://127.0.0.1:${spec.clientPort}`,
      `initial-advertise-peer-urls: ${this.peerScheme}://127.0.0.1:${spec.peerPort}`,
      `advertise-client-urls: http://127.0.0.1:${spec.clientPort}`,
      `initial-cluster: ${initialCluster}`,
      `initial-cluster-token: ${this.token}`,
      `initial-cluster-state: ${state}`,
      ...this.extraYaml(spec.name),
      '',
    ].join('\n');
    writeFileSync(spec.configFile, yaml);
  }

  private memberFor(spec: NodeSpec): Member {
    return new Member({
      name: spec.name,
      dataDir: join(this.dir, `${spec.name}.cairn`),
      clientPort: spec.clientPort,
      peerPort: spec.peerPort,
      configFile: spec.configFile,
      cwd: this.dir,
    });
  }

  /** A new member's files (for `member add`); returns its index. */
  async addSpec(initialCluster: (spec: NodeSpec) => string): Promise<number> {
    const name = `node${this.specs.length + 1}`;
    const spec = { name, clientPort: await freePort(), peerPort: await freePort(), configFile: join(this.dir, `${name}.yaml`) };
    this.writeYaml(spec, initialCluster(spec), 'existing');
    this.specs.push(spec);
    this.members.push(this.memberFor(spec));
    return this.members.length - 1;
  }

  get endpoints(): string[] {
    return this.specs.map((s) => `127.0.0.1:${s.clientPort}`);
  }

  peerUrl(i: number): string {
    return `${this.peerScheme}://127.0.0.1:${this.specs[i]!.peerPort}`;
  }

  /** Starts the members given (default all) together, and waits until each is healthy. */
  async start(which: readonly number[] = this.members.map((_, i) => i), timeoutMs = 60_000): Promise<void> {
    await Promise.all(which.map((i) => this.members[i]!.start(timeoutMs, 'listening')));
    await Promise.all(which.map((i) => this.healthy(i, timeoutMs)));
  }

  async healthy(i: number, timeoutMs = 60_000): Promise<void> {
    const m = this.members[i]!;
    await waitFor(`${m.opts.name} healthy`, async () => (await fetch(`http://${m.endpoint}/health`)).ok, timeoutMs);
  }

  /** A client of the given members (default all), closed by cleanup. */
  client(which: readonly number[] = this.members.map((_, i) => i), options: { requestTimeoutMs?: number } = {}): CairnClient {
    const c = new CairnClient({ endpoints: which.map((i) => this.endpoints[i]!), dialTimeoutMs: 5000, requestTimeoutMs: options.requestTimeoutMs ?? 15_000 });
    this.clients.push(c);
    return c;
  }

  /** Each running member's status (undefined for one that does not answer). */
  async statuses(): Promise<(StatusResponse | undefined)[]> {
    return Promise.all(
      this.members.map(async (m, i) => {
        if (!m.running) return undefined;
        const c = new CairnClient({ endpoints: [this.endpoints[i]!], dialTimeoutMs: 2000, requestTimeoutMs: 2000 });
        try {
          return await c.maintenance.status();
        } catch {
          return undefined;
        } finally {
          c.close();
        }
      }),
    );
  }

  /** The index of the member every running member agrees leads, once they agree. */
  async leader(timeoutMs = 30_000): Promise<number> {
    let found = -1;
    await waitFor(
      'one leader that every running member agrees on',
      async () => {
        const st = await this.statuses();
        const running = st.filter((s): s is StatusResponse => s !== undefined);
        if (running.length === 0) return false;
        const lead = running[0]!.leader;
        if (lead === 0n || !running.every((s) => s.leader === lead)) return false;
        found = st.findIndex((s) => s?.header.memberId === lead);
        return found >= 0;
      },
      timeoutMs,
      100,
    );
    return found;
  }

  /** Waits until every running member has applied as far as the leader had when called. */
  async converged(timeoutMs = 60_000): Promise<void> {
    const st = await this.statuses();
    const target = st.reduce((max, s) => (s !== undefined && s.raftAppliedIndex > max ? s.raftAppliedIndex : max), 0n);
    await waitFor(
      `every member to apply up to ${target}`,
      async () => (await this.statuses()).every((s, i) => !this.members[i]!.running || (s !== undefined && s.raftAppliedIndex >= target)),
      timeoutMs,
      100,
    );
  }

  /**
   * Every member's warning and error log lines (pino levels 40 and up), for a failed test to
   * print: they say what the members saw when the test's own assertion does not.
   */
  warnings(): string {
    const out: string[] = [];
    for (const m of this.members) {
      for (const line of m.log.split('\n')) {
        const level = /"level":(\d+)/.exec(line)?.[1];
        if (level !== undefined && Number(level) >= 40) out.push(`${m.opts.name}: ${line.slice(0, 600)}`);
      }
    }
    return out.join('\n');
  }

  async cleanup(): Promise<void> {
    for (const c of this.clients) c.close();
    await Promise.all(this.members.map((m) => m.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
