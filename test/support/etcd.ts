import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runProgram, singleMember, waitFor, type CtlResult } from './process.js';

/** Whether a binary of etcd's (etcdctl, etcd) runs here. */
export function has(bin: string): boolean {
  const r = spawnSync(bin, [bin === 'etcdctl' ? 'version' : '--version'], { stdio: 'ignore', env: { ...process.env, ETCDCTL_API: '3' } });
  return r.status === 0;
}

/**
 * Why the etcd-tool tests cannot run, or undefined if they can. Under CI the tools are
 * installed by .ci/install-etcd-tools.sh, so their absence there is a failure, not a skip.
 */
export function etcdToolsMissing(bins: string[]): string | undefined {
  const missing = bins.filter((b) => !has(b));
  if (missing.length === 0) return undefined;
  const why = `${missing.join(', ')} not installed (apt-get install etcd-client etcd-server; CI runs .ci/install-etcd-tools.sh)`;
  if (process.env['CI'] === 'true') throw new Error(`CI must have etcd's tools: ${why}`);
  return why;
}

/** Runs real etcdctl (API v3) against `endpoint` to completion. */
export function etcdctl(endpoint: string, args: string[], opts: { stdin?: string; timeoutMs?: number } = {}): Promise<CtlResult> {
  return runProgram('etcdctl', 'etcdctl', [`--endpoints=${endpoint}`, ...args], {
    env: { ETCDCTL_API: '3' },
    timeoutMs: opts.timeoutMs ?? 20_000,
    ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
  });
}

/** A long-running etcdctl (watch, elect) whose output can be waited on. */
export class RunningEtcdctl {
  readonly proc: ChildProcess;
  stdout = '';
  code: number | null | undefined;
  constructor(endpoint: string, args: string[]) {
    this.proc = spawn('etcdctl', [`--endpoints=${endpoint}`, ...args], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.proc.on('exit', (code) => (this.code = code ?? -1));
  }
  output(what: string, probe: (out: string) => boolean): Promise<void> {
    return waitFor(`${what} (stdout=${JSON.stringify(this.stdout)})`, () => probe(this.stdout), 15_000);
  }
  async stop(): Promise<void> {
    if (this.code === undefined) this.proc.kill('SIGKILL');
    await waitFor('etcdctl to exit', () => this.code !== undefined, 10_000);
  }
}

/** A real single-member etcd on free ports, for comparing outputs. */
export async function realEtcd(): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-e2e-'));
  const client = await freePort();
  const peer = await freePort();
  const proc = spawn(
    'etcd',
    [
      '--name=e1',
      `--data-dir=${join(dir, 'data')}`,
      `--listen-client-urls=http://127.0.0.1:${client}`,
      `--advertise-client-urls=http://127.0.0.1:${client}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=e1=http://127.0.0.1:${peer}`,
    ],
    { stdio: 'ignore' },
  );
  let exited = false;
  proc.on('exit', () => (exited = true));
  const endpoint = `127.0.0.1:${client}`;
  await waitFor('etcd to serve', async () => (await etcdctl(endpoint, ['endpoint', 'health'], { timeoutMs: 5000 })).code === 0, 30_000, 200);
  return {
    endpoint,
    stop: async () => {
      proc.kill('SIGKILL');
      await waitFor('etcd to exit', () => exited, 10_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A single Cairn member and, with `withEtcd`, a real etcd beside it, for tests that compare
 * the two; `stop` ends both and removes their data.
 */
export async function cairnBesideEtcd(withEtcd: boolean): Promise<{ cairn: string; etcd: string | undefined; stop: () => Promise<void> }> {
  const m = await singleMember();
  const e = withEtcd ? await realEtcd().catch(async (err: unknown) => {
    await m.cleanup();
    throw err;
  }) : undefined;
  return {
    cairn: m.member.endpoint,
    etcd: e?.endpoint,
    stop: async () => {
      await e?.stop();
      await m.cleanup();
    },
  };
}
