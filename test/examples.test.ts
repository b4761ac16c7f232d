/**
 * examples/greeter on a 3-member cluster: two greeters register, find each other, follow their
 * config and elect one job runner, and keep doing all of it while a member (the Raft leader) is
 * killed with kill -9 and restarted, and then while the leading greeter itself is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, waitFor } from './support/process.js';
import { TestCluster } from './support/cluster.js';

const GREETER = join(ROOT, 'examples/greeter/dist/main.js');

interface Status {
  id: string;
  config: { greeting: string; jobIntervalMs: number };
  leader: boolean;
  jobRuns: number;
  peers: string[];
}

class Greeter {
  readonly proc: ChildProcess;
  out = '';
  port = 0;
  exited = false;
  constructor(
    readonly id: string,
    endpoints: string,
  ) {
    this.proc = spawn(process.execPath, [GREETER, `--id=${id}`, `--endpoints=${endpoints}`, '--ttl-seconds=3'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (d: Buffer): void => {
      this.out += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(this.out);
      if (m !== null) this.port = Number(m[1]);
    };
    this.proc.stdout!.on('data', onData);
    this.proc.stderr!.on('data', onData);
    this.proc.on('exit', () => (this.exited = true));
  }
  async started(): Promise<void> {
    await waitFor(`greeter ${this.id} to listen (output: ${this.out})`, () => {
      if (this.exited) throw new Error(`greeter ${this.id} exited: ${this.out}`);
      return this.port !== 0;
    }, 30_000);
  }
  async get(path: string): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`, { signal: AbortSignal.timeout(3000) });
    return res.text();
  }
  async status(): Promise<Status> {
    return JSON.parse(await this.get('/status')) as Status;
  }
}

let cluster: TestCluster | undefined;
const greeters: Greeter[] = [];
afterEach(async () => {
  for (const g of greeters.splice(0)) g.proc.kill('SIGKILL');
  await cluster?.cleanup();
  cluster = undefined;
});

describe('examples/greeter', () => {
  it('keeps registering, discovering, reloading and electing through a member kill -9 and restart', async () => {
    cluster = await TestCluster.create();
    await cluster.start();
    const client = cluster.client();
    await client.kv.put('config/greeter/greeting', '"hello"');
    await client.kv.put('config/greeter/jobIntervalMs', '100');
    const endpoints = cluster.endpoints.join(',');
    for (const id of ['a', 'b']) greeters.push(new Greeter(id, endpoints));
    await Promise.all(greeters.map((g) => g.started()));
    const [a, b] = greeters as [Greeter, Greeter];

    const statuses = (): Promise<Status[]> => Promise.all(greeters.filter((g) => !g.exited).map((g) => g.status()));
    const runs = async (): Promise<number> => Number((await client.kv.getString('greeter/job/runs')) ?? '0');
    /** Everything the example promises, checked once. */
    const healthy = async (greeting: string, live: Greeter[]): Promise<boolean> => {
      const st = await Promise.all(live.map((g) => g.status()));
      const ids = live.map((g) => g.id).sort();
      return (
        st.every((s) => JSON.stringify(s.peers) === JSON.stringify(ids) && s.config.greeting === greeting) &&
        st.filter((s) => s.leader).length === 1 &&
        (await Promise.all(live.map((g) => g.get('/hello')))).every((h, i) => h === `${greeting} from ${live[i]!.id}`)
      );
    };
    await waitFor('both greeters healthy', () => healthy('hello', [a, b]), 20_000);
    expect(await a.get('/peer')).toBe('b says: hello from b');
    // Each runs its HTTP health check on its own /health and says so in its record.
    for (const g of [a, b]) {
      expect(await g.get('/health')).toBe('ok');
      const record = JSON.parse((await client.kv.getString(`services/greeter/${g.id}`))!) as unknown;
      expect(record).toMatchObject({ status: 'passing', checks: [{ name: `http http://127.0.0.1:${g.port}/health`, status: 'passing', output: 'HTTP 200 OK' }] });
    }
    const runsBefore = await runs();
    await waitFor('the elected job to run', async () => (await runs()) > runsBefore + 3, 10_000);

    // Kill -9 the Raft leader; everything goes on; change the config meanwhile.
    const raftLeader = await cluster.leader();
    await cluster.members[raftLeader]!.kill();
    await cluster.leader();
    await cluster.client([0, 1, 2].filter((i) => i !== raftLeader)).kv.put('config/greeter/greeting', '"bonjour"', { retry: true });
    await waitFor('both greeters on the new config with a member down', () => healthy('bonjour', [a, b]).catch(() => false), 30_000);
    const runsDuring = await runs();
    await waitFor('the job to keep running with a member down', async () => (await runs()) > runsDuring + 3, 15_000);
    await cluster.members[raftLeader]!.start(60_000, 'listening');
    await cluster.healthy(raftLeader);
    await client.kv.put('config/greeter/greeting', '"hola"', { retry: true });
    await waitFor('both greeters on the next config after the restart', () => healthy('hola', [a, b]).catch(() => false), 30_000);

    // Kill -9 the greeter that runs the job: the other takes over within the TTL (3 s), and
    // drops the dead one from its peers.
    const st = await statuses();
    const leading = greeters.find((g) => st.find((s) => s.id === g.id)?.leader)!;
    const other = greeters.find((g) => g !== leading)!;
    // Many job runs (in practice one term: the session outlives the member kill), and no abort
    // listener piled up on the way.
    expect(st.find((s) => s.id === leading.id)!.jobRuns).toBeGreaterThan(10);
    for (const g of greeters) expect(g.out, `greeter ${g.id}`).not.toMatch(/MaxListenersExceededWarning|memory leak/);
    leading.proc.kill('SIGKILL');
    await waitFor('the other greeter to lead alone', () => healthy('hola', [other]).catch(() => false), 15_000);
    const runsAfter = await runs();
    await waitFor('the job to run under the new leader', async () => (await runs()) > runsAfter + 3, 10_000);
    expect(await client.kv.getString('greeter/job/last')).toBe(other.id);
    expect(await other.get('/peer')).toBe('no peer');
    expect(other.out).not.toMatch(/MaxListenersExceededWarning|memory leak/);
  });
});
