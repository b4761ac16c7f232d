/** Config-client instances as child processes (support/configInstance.mjs), read through their state lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ROOT, waitFor } from './process.js';

const SCRIPT = fileURLToPath(new URL('./configInstance.mjs', import.meta.url));

export interface InstanceState {
  readonly current: { greeting: string; rps: number };
  readonly running: 'base' | 'candidate';
  readonly stale: boolean;
  readonly revision: string;
}

export class ConfigInstance {
  out = '';
  err = '';
  code: number | null | undefined;
  private readonly proc: ChildProcess;

  constructor(
    readonly id: string,
    endpoints: readonly string[],
    prefix: string,
    labels: Record<string, string> = {},
    fallbackFile?: string,
  ) {
    const args = [SCRIPT, endpoints.join(','), prefix, id, JSON.stringify(labels), ...(fallbackFile === undefined ? [] : [fallbackFile])];
    this.proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.proc.stderr!.on('data', (d: Buffer) => (this.err += d.toString()));
    this.proc.on('exit', (c, s) => (this.code = c ?? (s !== null ? 128 : -1)));
  }

  /** The last state it printed (undefined before the first). */
  get state(): InstanceState | undefined {
    const lines = this.out.split('\n').filter((l) => l.startsWith('state '));
    const last = lines[lines.length - 1];
    return last === undefined ? undefined : (JSON.parse(last.slice(6)) as InstanceState);
  }

  /** Waits until its last state passes `probe`. */
  async until(what: string, probe: (s: InstanceState) => boolean, timeoutMs = 20_000): Promise<InstanceState> {
    await waitFor(`${this.id}: ${what} (last state ${JSON.stringify(this.state)}, stderr ${JSON.stringify(this.err.slice(-500))})`, () => {
      if (this.code !== undefined) throw new Error(`${this.id} exited ${this.code}: ${this.err}`);
      const s = this.state;
      return s !== undefined && probe(s);
    }, timeoutMs);
    return this.state!;
  }

  /** kill -9, and wait until it is gone. */
  async kill(): Promise<void> {
    if (this.code !== undefined) return;
    this.proc.kill('SIGKILL');
    await waitFor(`${this.id} to die`, () => this.code !== undefined, 10_000);
  }
}
