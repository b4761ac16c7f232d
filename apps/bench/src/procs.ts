/** Server processes for the benchmarks: a Cairn member or a real etcd, with their CPU time. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

let clockTicksPerSec: number | undefined;
/** User+system CPU seconds consumed so far by a process, from /proc (Linux). */
export function cpuSeconds(pid: number): number {
  clockTicksPerSec ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / clockTicksPerSec;
}

export function commandExists(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface ServerProc {
  readonly kind: 'cairn' | 'etcd';
  readonly endpoint: string;
  readonly pid: number;
  /** The server's data directory. */
  readonly dataDir: string;
  stop(): Promise<void>;
}

async function waitHealthy(endpoint: string, proc: ChildProcess, log: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`server exited early: ${log().slice(-2000)}`);
    try {
      const res = await fetch(`http://${endpoint}/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server at ${endpoint} not healthy after ${timeoutMs} ms: ${log().slice(-2000)}`);
}

function launch(
  kind: 'cairn' | 'etcd',
  cmd: string,
  args: string[],
  dir: string,
  endpoint: string,
  env: Readonly<Record<string, string>> = {},
): Promise<ServerProc> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT, env: { ...process.env, ...env } });
  let log = '';
  proc.stdout!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-10_000)));
  proc.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-10_000)));
  const stop = async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return waitHealthy(endpoint, proc, () => log).then(
    () => ({ kind, endpoint, pid: proc.pid!, dataDir: dir, stop }),
    async (err: unknown) => {
      await stop();
      throw err;
    },
  );
}

export interface CairnProcOptions {
  /** More daemon flags, e.g. `--rocksdb-block-cache-bytes=...`. */
  readonly extraArgs?: readonly string[];
  /** More environment for the member process. */
  readonly env?: Readonly<Record<string, string>>;
}

export async function startCairn(options: CairnProcOptions = {}): Promise<ServerProc> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-'));
  const [client, peer] = [await freePort(), await freePort()];
  const endpoint = `127.0.0.1:${client}`;
  const args = [
    join(ROOT, 'apps/cairn/bin/cairn.js'),
    `--data-dir=${join(dir, 'bench.cairn')}`,
    `--listen-client-urls=http://${endpoint}`,
    `--listen-peer-urls=http://127.0.0.1:${peer}`,
    '--log-level=warn',
    ...(options.extraArgs ?? []),
  ];
  return launch('cairn', process.execPath, args, dir, endpoint, options.env);
}

export async function startEtcd(): Promise<ServerProc> {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-bench-'));
  const [client, peer] = [await freePort(), await freePort()];
  const endpoint = `127.0.0.1:${client}`;
  const args = [
    `--data-dir=${join(dir, 'bench.etcd')}`,
    `--listen-client-urls=http://${endpoint}`,
    `--advertise-client-urls=http://${endpoint}`,
    `--listen-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-cluster=default=http://127.0.0.1:${peer}`,
    '--log-level=warn',
  ];
  return launch('etcd', 'etcd', args, dir, endpoint);
}
