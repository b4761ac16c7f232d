/**
 * The cluster section of `pnpm bench`: three members on this machine (Cairn, and etcd when it is
 * installed), the foundation's put/get workloads against the leader, and the time from a
 * kill -9 of the leader to the first acknowledged write, measured by a writer that keeps
 * writing through every member's endpoint.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CairnClient } from '@cairn/client';
import { cpuSeconds, freePort } from './procs.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export interface ClusterNode {
  readonly endpoint: string;
  proc: ChildProcess | undefined;
  start(): void;
  kill(): Promise<void>;
}

export interface BenchCluster {
  readonly kind: 'cairn' | 'etcd';
  readonly nodes: ClusterNode[];
  /** Index of the leader, asked of the members. */
  leader(): Promise<number>;
  /** Sum of the members' CPU seconds so far. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

async function waitUp(endpoint: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`http://${endpoint}/health`)).ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${endpoint} not healthy in ${timeoutMs} ms`);
}

function node(cmd: string, args: string[], endpoint: string): ClusterNode {
  const n: ClusterNode = {
    endpoint,
    proc: undefined,
    start() {
      n.proc = spawn(cmd, args, { stdio: 'ignore', cwd: ROOT });
    },
    async kill() {
      const p = n.proc;
      if (p === undefined || p.exitCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await exited;
      n.proc = undefined;
    },
  };
  return n;
}

/** Three members, of Cairn or etcd, on free ports in a temp dir. */
export async function startCluster(kind: 'cairn' | 'etcd'): Promise<BenchCluster> {
  const dir = mkdtempSync(join(tmpdir(), `${kind}-cluster-bench-`));
  const ports = [];
  for (let i = 0; i < 3; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const initial = ports.map((p, i) => `n${i + 1}=http://127.0.0.1:${p.peer}`).join(',');
  const nodes = ports.map((p, i) => {
    const endpoint = `127.0.0.1:${p.client}`;
    const common = [
      `--name=n${i + 1}`,
      `--data-dir=${join(dir, `n${i + 1}`)}`,
      `--listen-client-urls=http://${endpoint}`,
      `--advertise-client-urls=http://${endpoint}`,
      `--listen-peer-urls=http://127.0.0.1:${p.peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${p.peer}`,
      `--initial-cluster=${initial}`,
      '--initial-cluster-token=bench',
      '--log-level=error',
    ];
    return kind === 'cairn' ? node(process.execPath, [join(ROOT, 'apps/cairn/bin/cairn.js'), ...common], endpoint) : node('etcd', common, endpoint);
  });
  for (const n of nodes) n.start();
  await Promise.all(nodes.map((n) => waitUp(n.endpoint)));
  const cluster: BenchCluster = {
    kind,
    nodes,
    async leader() {
      for (;;) {
        for (const [i, n] of nodes.entries()) {
          if (n.proc === undefined) continue;
          try {
            if (kind === 'cairn') {
              const c = new CairnClient({ endpoints: [n.endpoint], dialTimeoutMs: 1000, requestTimeoutMs: 1000 });
              try {
                const st = await c.maintenance.status();
                if (st.leader === st.header.memberId) return i;
              } finally {
                c.close();
              }
            } else {
              const st = (await (await fetch(`http://${n.endpoint}/v3/maintenance/status`, { method: 'POST', body: '{}' })).json()) as { leader?: string; header?: { member_id?: string } };
              if (st.leader !== undefined && st.leader === st.header?.member_id) return i;
            }
          } catch {
            // try the next
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    cpuSeconds: () => nodes.reduce((sum, n) => (n.proc?.pid !== undefined ? sum + cpuSeconds(n.proc.pid) : sum), 0),
    async stop() {
      await Promise.all(nodes.map((n) => n.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

export interface FailoverResult {
  /** kill -9 of the leader -> the first write acknowledged after it, per trial (ms). */
  readonly gapsMs: number[];
  readonly medianMs: number;
}

/**
 * `trials` times: a writer at 16 in flight through all three endpoints; kill -9 the leader;
 * the time until a write issued after the kill is acknowledged; then restart the killed member and let it
 * catch up before the next trial.
 */
export async function failover(
  cluster: BenchCluster,
  put: (endpoints: string[]) => { stop(): Promise<void>; acks: { startedMs: number; ackedMs: number }[] },
  trials = 3,
): Promise<FailoverResult> {
  const gapsMs: number[] = [];
  for (let t = 0; t < trials; t++) {
    const writer = put(cluster.nodes.map((n) => n.endpoint));
    await new Promise((r) => setTimeout(r, 1000));
    const leader = await cluster.leader();
    const killedAt = Date.now();
    await cluster.nodes[leader]!.kill();
    const deadline = killedAt + 30_000;
    // A write issued after the kill and acknowledged: one that was committed just before the
    // kill and answered just after does not count.
    const after = (): { ackedMs: number } | undefined => writer.acks.find((a) => a.startedMs > killedAt);
    while (Date.now() < deadline && after() === undefined) await new Promise((r) => setTimeout(r, 5));
    await writer.stop();
    const first = after();
    gapsMs.push(first === undefined ? Infinity : first.ackedMs - killedAt);
    cluster.nodes[leader]!.start();
    await waitUp(cluster.nodes[leader]!.endpoint);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const sorted = [...gapsMs].sort((a, b) => a - b);
  return { gapsMs, medianMs: sorted[Math.floor(sorted.length / 2)]! };
}
