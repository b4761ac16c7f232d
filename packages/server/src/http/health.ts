import type { IncomingMessage, ServerResponse } from 'node:http';
import { toCairnError } from '@cairn/protocol';

/** What the health endpoints ask of the member. */
export interface HealthHost {
  /** Empty while the member serves; else why it does not ('member stopped', 'shutting down'). */
  stopped(): string;
  /** The alarms active anywhere in the cluster, by etcd's names (`NOSPACE`, `CORRUPT`). */
  alarms(): readonly string[];
  /** The leader this member knows of, 0n if none. */
  leaderId(): bigint;
  /** One key read (keys only, limit 1), serializable or linearizable; rejects with why it failed. */
  read(serializable: boolean): Promise<void>;
}

/** One named check of /livez or /readyz: resolves when it passes, rejects with why not. */
type Check = (host: HealthHost) => Promise<void>;

async function serving(host: HealthHost): Promise<void> {
  const why = host.stopped();
  if (why !== '') throw new Error(why);
}

const serializableRead: Check = async (h) => {
  await serving(h);
  await h.read(true);
};
const linearizableRead: Check = async (h) => {
  await serving(h);
  await h.read(false);
};
const dataCorruption: Check = async (h) => {
  if (h.alarms().includes('CORRUPT')) throw new Error('alarm activated: CORRUPT');
};

/**
 * etcd 3.5's checks, in the order they are reported. /livez says whether the process should be
 * restarted (it can still read its own state); /readyz whether it should get traffic (no
 * corruption alarm, and a quorum answers a linearizable read).
 */
const registries: Readonly<Record<'livez' | 'readyz', readonly (readonly [string, Check])[]>> = {
  livez: [['serializable_read', serializableRead]],
  readyz: [
    ['data_corruption', dataCorruption],
    ['serializable_read', serializableRead],
    ['linearizable_read', linearizableRead],
  ],
};

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const s = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s) });
  res.end(s);
}

const message = (err: unknown): string => toCairnError(err).message;

/**
 * GET /livez, /readyz (every check but those named by `?exclude=`; unknown names are ignored,
 * as etcd does), /livez/<check>, /readyz/<check>. Passing: 200 `ok` (after a line per check
 * with `?verbose`); failing: 503 with a line per check, `[+]name ok` or `[-]name failed: why`.
 * Returns false if `path` is not one of them.
 */
export function serveProbe(host: HealthHost, path: string, query: URLSearchParams, res: ServerResponse): boolean {
  const [, kind, one, extra] = path.split('/');
  if ((kind !== 'livez' && kind !== 'readyz') || extra !== undefined) return false;
  const all = registries[kind];
  let checks: (readonly [string, Check])[];
  if (one !== undefined && one !== '') {
    const c = all.find(([name]) => name === one);
    if (c === undefined) return false;
    checks = [c];
  } else {
    const excluded = new Set(query.getAll('exclude'));
    checks = all.filter(([name]) => !excluded.has(name));
  }
  void (async () => {
    let failed = false;
    let lines = '';
    for (const [name, check] of checks) {
      try {
        await check(host);
        lines += `[+]${name} ok\n`;
      } catch (err) {
        failed = true;
        lines += `[-]${name} failed: ${message(err)}\n`;
      }
    }
    if (failed) text(res, 503, lines);
    else text(res, 200, `${query.has('verbose') ? lines : ''}ok\n`);
  })();
  return true;
}

/**
 * GET /health, etcd's: `{"health":"true","reason":""}`, or 503 with "false" and the first
 * reason found: an alarm (unless `?exclude=NOSPACE` / `CORRUPT` names it), `RAFT NO LEADER`,
 * or `RANGE ERROR:...` when the read fails. `?serializable=true` checks only this member: no
 * leader needed, a local read.
 */
export async function health(host: HealthHost, query: URLSearchParams): Promise<{ health: 'true' | 'false'; reason: string }> {
  const stopped = host.stopped();
  if (stopped !== '') return { health: 'false', reason: stopped };
  const excluded = new Set(query.getAll('exclude'));
  const alarm = host.alarms().find((a) => !excluded.has(a));
  if (alarm !== undefined) return { health: 'false', reason: `ALARM ${alarm}` };
  const serializable = query.get('serializable') === 'true';
  if (!serializable && host.leaderId() === 0n) return { health: 'false', reason: 'RAFT NO LEADER' };
  try {
    await host.read(serializable);
  } catch (err) {
    return { health: 'false', reason: `RANGE ERROR:${message(err)}` };
  }
  return { health: 'true', reason: '' };
}

export function serveHealth(host: HealthHost, query: URLSearchParams, res: ServerResponse): void {
  health(host, query).then(
    (h) => json(res, h.health === 'true' ? 200 : 503, h),
    (err: unknown) => json(res, 503, { health: 'false', reason: message(err) }),
  );
}

/** The request's path and query. */
export function parseTarget(req: IncomingMessage): { path: string; query: URLSearchParams } {
  const url = new URL(req.url ?? '/', 'http://x');
  return { path: url.pathname, query: url.searchParams };
}
