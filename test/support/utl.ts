/** Runs the built `cairnutl` offline tool, to completion (see process.ts for the daemon and cairnctl). */
import { join } from 'node:path';
import { ROOT, runBin, type CtlResult } from './process.js';

export const CAIRNUTL_BIN = join(ROOT, 'apps/cairnutl/bin/cairnutl.js');

export function utl(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<CtlResult> {
  return runBin('cairnutl', CAIRNUTL_BIN, args, { timeoutMs: 60_000, ...opts });
}
