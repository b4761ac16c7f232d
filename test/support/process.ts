/**
 * Real processes for end-to-end tests: the built `cairn` daemon and the `cairnctl` CLI, on
 * ports picked free, with data dirs under a temp dir that `cleanup()` removes. Every wait has
 * a deadline; nothing sleeps blindly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CAIRN_BIN = join(ROOT, 'apps/cairn/bin/cairn.js');
export const CAIRNCTL_BIN = join(ROOT, 'apps/cairnctl/bin/cairnctl.js');

/** Asks the kernel for a free port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix = 'cairn-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Polls `probe` until it returns true, or throws after `timeoutMs` with `what` in the message. */
export async function waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 20_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
}

export interface MemberOptions {
  name: string;
  dataDir: string;
  clientPort: number;
  peerPort: number;
  extraArgs?: string[];
  env?: Record<string, string>;
  /** Start with `--config-file` (the YAML holds every setting) instead of flags. */
  configFile?: string;
  /** Working directory of the process (relative data dirs in a config file). Default: the repo. */
  cwd?: string;
  /** Serve clients over TLS: https URL, and these PEM files for the health probe. */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
}

/** GET https://endpoint/health trusting `ca` (and presenting a client certificate if given). */
function httpsHealth(endpoint: string, tls: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`https://${endpoint}/health`, { ca: tls.ca, cert: tls.cert, key: tls.key, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('health probe timed out')));
    req.end();
  });
}

export class Member {
  proc: ChildProcess | undefined;
  log = '';
  exitCode: number | null | undefined;
  constructor(readonly opts: MemberOptions) {}

  get endpoint(): string {
    return `127.0.0.1:${this.opts.clientPort}`;
  }

  args(): string[] {
    const o = this.opts;
    if (o.configFile !== undefined) return [`--config-file=${o.configFile}`, ...(o.extraArgs ?? [])];
    return [
      `--name=${o.name}`,
      `--data-dir=${o.dataDir}`,
      `--listen-client-urls=${o.tls !== undefined ? 'https' : 'http'}://127.0.0.1:${o.clientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${o.peerPort}`,
      ...(o.extraArgs ?? []),
    ];
  }

  /**
   * Starts the daemon and waits until /health says healthy (it has a leader), or with
   * `listening` only until the port answers at all (a cluster member whose peers are not up).
   */
  async start(timeoutMs = 30_000, wait: 'healthy' | 'listening' = 'healthy'): Promise<void> {
    this.exitCode = undefined;
    const proc = spawn(process.execPath, [CAIRN_BIN, ...this.args()], {
      cwd: this.opts.cwd ?? ROOT,
      env: { ...process.env, ...this.opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    proc.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    proc.on('exit', (code, signal) => (this.exitCode = code ?? (signal ? 128 : -1)));
    await waitFor(`${this.opts.name} to become healthy (log: ${this.log.slice(-500)})`, async () => {
      if (this.exitCode !== undefined) throw new Error(`cairn exited with ${this.exitCode}: ${this.log.slice(-2000)}`);
      if (this.opts.tls !== undefined) return httpsHealth(this.endpoint, this.opts.tls);
      const res = await fetch(`http://${this.endpoint}/health`);
      return wait === 'listening' || res.ok;
    }, timeoutMs);
  }

  /** SIGTERM and wait for a clean exit. */
  async stop(timeoutMs = 15_000): Promise<number | null | undefined> {
    const proc = this.proc;
    if (!proc || this.exitCode !== undefined) return this.exitCode;
    proc.kill('SIGTERM');
    await waitFor(`${this.opts.name} to exit after SIGTERM`, () => this.exitCode !== undefined, timeoutMs);
    return this.exitCode;
  }

  /** Waits for the process to exit by itself; its exit code. */
  async exited(timeoutMs = 15_000): Promise<number | null | undefined> {
    await waitFor(`${this.opts.name} to exit`, () => this.exitCode !== undefined, timeoutMs);
    return this.exitCode;
  }

  get running(): boolean {
    return this.proc !== undefined && this.exitCode === undefined;
  }

  /** kill -9: no chance to flush anything. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || this.exitCode !== undefined) return;
    proc.kill('SIGKILL');
    await waitFor(`${this.opts.name} to die`, () => this.exitCode !== undefined, 10_000);
  }
}

export interface CtlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs cairnctl with these arguments (and optional stdin), to completion. */
export function ctl(args: string[], opts: { stdin?: string; timeoutMs?: number; env?: Record<string, string>; cwd?: string } = {}): Promise<CtlResult> {
  return runBin('cairnctl', CAIRNCTL_BIN, args, { timeoutMs: 30_000, ...opts });
}

/** Runs one of the built Node bins (`name` for messages) to completion, killed after `timeoutMs`. */
export function runBin(
  name: string,
  bin: string,
  args: string[],
  opts: { stdin?: string; timeoutMs: number; env?: Record<string, string>; cwd?: string },
): Promise<CtlResult> {
  return runProgram(name, process.execPath, [bin, ...args], opts);
}

/** Runs `command` (`name` for messages) to completion, killed after `timeoutMs`. */
export function runProgram(
  name: string,
  command: string,
  args: string[],
  opts: { stdin?: string; timeoutMs: number; env?: Record<string, string>; cwd?: string },
): Promise<CtlResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(command, args, {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${name} ${args.join(' ')} did not finish in ${opts.timeoutMs} ms; stdout=${stdout} stderr=${stderr}`));
    }, opts.timeoutMs);
    proc.on('error', reject);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    proc.stdin.end(opts.stdin ?? '');
  });
}

/** A single member on free ports in a fresh data dir; `cleanup` stops it and removes the dir. */
export async function singleMember(
  name = 'default',
  extra: Pick<MemberOptions, 'extraArgs' | 'tls'> = {},
): Promise<{ member: Member; dir: string; cleanup: () => Promise<void> }> {
  const dir = tempDir();
  const member = new Member({ name, dataDir: join(dir, `${name}.cairn`), clientPort: await freePort(), peerPort: await freePort(), ...extra });
  await member.start();
  return {
    member,
    dir,
    cleanup: async () => {
      await member.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A long-running cairnctl (watch, keep-alive, lock, elect) whose output can be waited on. */
export class Running {
  readonly proc: ChildProcess;
  stdout = '';
  stderr = '';
  code: number | null | undefined;
  constructor(args: string[]) {
    this.proc = spawn(process.execPath, [CAIRNCTL_BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.proc.on('exit', (code, signal) => (this.code = code ?? (signal !== null ? 128 : -1)));
  }
  async output(what: string, probe: (out: string) => boolean, timeoutMs = 20_000): Promise<void> {
    await waitFor(`${what} (stdout=${JSON.stringify(this.stdout)} stderr=${JSON.stringify(this.stderr)})`, () => probe(this.stdout), timeoutMs);
  }
  async interrupt(): Promise<number | null | undefined> {
    this.proc.kill('SIGINT');
    await waitFor('cairnctl to exit after SIGINT', () => this.code !== undefined, 10_000);
    return this.code;
  }
  /** kill -9 (a no-op once it exited). */
  kill(): void {
    if (this.code === undefined) this.proc.kill('SIGKILL');
  }
  /** kill -9 and wait until it is gone. */
  async killed(): Promise<void> {
    this.kill();
    await waitFor('cairnctl to die', () => this.code !== undefined, 10_000);
  }
}

/**
 * A TCP relay in front of a member that can cut every connection and refuse new ones, then
 * open again: a client behind it is cut off from the cluster while the member goes on.
 */
export class Gate {
  private readonly sockets = new Set<import('node:net').Socket>();
  private open = true;
  private constructor(
    private readonly server: import('node:net').Server,
    readonly port: number,
  ) {}

  static async to(target: string): Promise<Gate> {
    const { createServer, connect } = await import('node:net');
    const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
    const ref: { gate?: Gate } = {};
    const server = createServer((inbound) => {
      const gate = ref.gate;
      if (gate === undefined || !gate.open) {
        inbound.destroy();
        return;
      }
      const outbound = connect(port, host);
      for (const s of [inbound, outbound]) {
        gate.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          gate.sockets.delete(s);
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ref.gate = new Gate(server, (server.address() as import('node:net').AddressInfo).port);
    return ref.gate;
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Drops every relayed connection and refuses new ones until `reopen()`. */
  cut(): void {
    this.open = false;
    for (const s of this.sockets) s.destroy();
  }

  reopen(): void {
    this.open = true;
  }

  close(): void {
    this.cut();
    this.server.close();
  }
}
