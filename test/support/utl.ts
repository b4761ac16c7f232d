/** Runs the built `cairnutl` offline tool, to completion (see process.ts for the daemon and cairnctl). */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, type CtlResult } from './process.js';

export const CAIRNUTL_BIN = join(ROOT, 'apps/cairnutl/bin/cairnutl.js');

export function utl(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<CtlResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CAIRNUTL_BIN, ...args], { cwd: opts.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`cairnutl ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 60_000} ms; stdout=${stdout} stderr=${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    proc.on('error', reject);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}
