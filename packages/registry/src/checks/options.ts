import { CairnError, ErrorCode } from '@cairn/client';

/**
 * Health checks an instance runs on itself, as Consul's agent does for its services: each one
 * probes something (an HTTP URL, a TCP address, a command) every `intervalMs`, gives up after
 * `timeoutMs`, and yields passing, warning or critical. The instance's status is the worst of
 * its checks' statuses.
 */
export type HealthStatus = 'passing' | 'warning' | 'critical';

/** One check's last result, as the instance's record carries it. */
export interface CheckState {
  readonly name: string;
  readonly status: HealthStatus;
  /** Why, in a line (at most MAX_CHECK_OUTPUT_CHARS): `HTTP 503 Service Unavailable`, a command's output. */
  readonly output: string;
}

/** What every kind of check has. */
interface CheckTiming {
  /** A name for the check in the record and in `cairnctl service get -w json`; default `<kind> <target>`. */
  readonly name?: string;
  /** Time from the start of one run to the start of the next. */
  readonly intervalMs: number;
  /** A run not finished by then is critical (at most intervalMs). */
  readonly timeoutMs: number;
  /** Deregister the instance once this check has been critical for this long (at least intervalMs). */
  readonly deregisterAfterMs?: number;
}

/** GET the URL: 2xx passing, 429 warning, anything else (or no answer in time) critical. */
export interface HttpCheck extends CheckTiming {
  readonly http: string;
}
/** Connect to `host:port`: connected in time is passing, anything else critical. */
export interface TcpCheck extends CheckTiming {
  readonly tcp: string;
}
/** Run the command (argv, no shell): exit 0 passing, 1 warning, anything else (or too slow) critical. */
export interface RunCheck extends CheckTiming {
  readonly run: readonly string[];
}
export type CheckOptions = HttpCheck | TcpCheck | RunCheck;

/** A check once validated. */
export type CheckSpec =
  | { readonly kind: 'http'; readonly name: string; readonly url: string; readonly intervalMs: number; readonly timeoutMs: number; readonly deregisterAfterMs: number | undefined }
  | { readonly kind: 'tcp'; readonly name: string; readonly host: string; readonly port: number; readonly intervalMs: number; readonly timeoutMs: number; readonly deregisterAfterMs: number | undefined }
  | { readonly kind: 'run'; readonly name: string; readonly argv: readonly string[]; readonly intervalMs: number; readonly timeoutMs: number; readonly deregisterAfterMs: number | undefined };

/** Limits on what a registration may ask for. */
export const MIN_CHECK_INTERVAL_MS = 100;
export const MAX_CHECK_INTERVAL_MS = 24 * 3600_000;
export const MAX_CHECKS_PER_INSTANCE = 16;
/** A check's output is cut to this many characters in the record (records stay small). */
export const MAX_CHECK_OUTPUT_CHARS = 256;

const bad = (msg: string): never => {
  throw new CairnError(ErrorCode.InvalidArgument, msg);
};

function wholeMs(where: string, field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    bad(`${where}.${field} must be a whole number of milliseconds in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return v as number;
}

/** `host:port` or `[v6]:port`. */
function parseHostPort(where: string, v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(v);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port < 1 || port > 65535) bad(`${where}.tcp must be host:port with a port in 1..65535, got ${JSON.stringify(v)}`);
  return { host: (m![1] ?? m![2])!, port };
}

/** Checks one check's options; throws `invalid_argument` naming the check and the field. */
export function parseCheck(o: unknown, index: number): CheckSpec {
  const where = `checks[${index}]`;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return bad(`${where} must be an object`);
  const r = o as Record<string, unknown>;
  const kinds = (['http', 'tcp', 'run'] as const).filter((k) => r[k] !== undefined);
  if (kinds.length !== 1) return bad(`${where} needs exactly one of http, tcp or run, got ${kinds.length === 0 ? 'none' : kinds.join(' and ')}`);
  const intervalMs = wholeMs(where, 'intervalMs', r['intervalMs'], MIN_CHECK_INTERVAL_MS, MAX_CHECK_INTERVAL_MS);
  const timeoutMs = wholeMs(where, 'timeoutMs', r['timeoutMs'], 1, intervalMs);
  const deregisterAfterMs =
    r['deregisterAfterMs'] === undefined ? undefined : wholeMs(where, 'deregisterAfterMs', r['deregisterAfterMs'], intervalMs, Number.MAX_SAFE_INTEGER);
  const named = r['name'];
  if (named !== undefined && (typeof named !== 'string' || named === '' || named.length > 100)) bad(`${where}.name must be a string of 1..100 characters`);
  const timing = { intervalMs, timeoutMs, deregisterAfterMs };
  const kind = kinds[0]!;
  switch (kind) {
    case 'http': {
      const url = r['http'];
      let parsed: URL | undefined;
      try {
        parsed = typeof url === 'string' ? new URL(url) : undefined;
      } catch {
        parsed = undefined;
      }
      if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
        bad(`${where}.http must be an http:// or https:// URL, got ${JSON.stringify(url)}`);
      }
      return { kind, name: (named as string | undefined) ?? `http ${url as string}`, url: url as string, ...timing };
    }
    case 'tcp': {
      const target = r['tcp'];
      if (typeof target !== 'string') return bad(`${where}.tcp must be a string host:port, got ${JSON.stringify(target)}`);
      return { kind, name: (named as string | undefined) ?? `tcp ${target}`, ...parseHostPort(where, target), ...timing };
    }
    case 'run': {
      const argv = r['run'];
      if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string') || argv[0] === '') {
        bad(`${where}.run must be a non-empty array of strings (the program, then its arguments; no shell), got ${JSON.stringify(argv)}`);
      }
      const list = [...(argv as string[])];
      return { kind, name: (named as string | undefined) ?? `run ${list.join(' ')}`.slice(0, 100), argv: list, ...timing };
    }
  }
}

/** Checks the `checks` of a registration; duplicate names are refused (each is one line of the record). */
export function parseChecks(v: unknown): CheckSpec[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return bad('checks must be an array');
  if (v.length > MAX_CHECKS_PER_INSTANCE) bad(`at most ${MAX_CHECKS_PER_INSTANCE} checks per instance, got ${v.length}`);
  const specs = v.map((c, i) => parseCheck(c, i));
  const names = new Set<string>();
  for (const s of specs) {
    if (names.has(s.name)) bad(`two checks are named ${JSON.stringify(s.name)}; give one a name`);
    names.add(s.name);
  }
  return specs;
}

const rank: Record<HealthStatus, number> = { passing: 0, warning: 1, critical: 2 };

/** The worst of the statuses (passing for none). */
export function worstStatus(statuses: Iterable<HealthStatus>): HealthStatus {
  let worst: HealthStatus = 'passing';
  for (const s of statuses) if (rank[s] > rank[worst]) worst = s;
  return worst;
}

export function isHealthStatus(v: unknown): v is HealthStatus {
  return v === 'passing' || v === 'warning' || v === 'critical';
}
