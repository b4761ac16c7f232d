import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { MAX_CHECK_OUTPUT_CHARS, type CheckSpec, type HealthStatus } from './options.js';

/** What one run of a check found. */
export interface ProbeResult {
  readonly status: HealthStatus;
  /** Why, in a line: `HTTP 200 OK`, `connect ECONNREFUSED 127.0.0.1:9`, the command's output. */
  readonly output: string;
}

/** Runs a check once; resolves (never rejects) within about `spec.timeoutMs`. */
export type Probe = (spec: CheckSpec) => Promise<ProbeResult>;

const cut = (s: string): string => {
  const line = s.trim().replace(/\s+/g, ' ');
  return line.length > MAX_CHECK_OUTPUT_CHARS ? `${line.slice(0, MAX_CHECK_OUTPUT_CHARS - 1)}…` : line;
};

/** Consul's HTTP convention: 2xx passing, 429 Too Many Requests warning, anything else critical. */
export function httpStatusOf(code: number): HealthStatus {
  if (code >= 200 && code < 300) return 'passing';
  return code === 429 ? 'warning' : 'critical';
}

/** Consul's script convention: exit 0 passing, exit 1 warning, any other exit critical. */
export function exitStatusOf(code: number | null): HealthStatus {
  if (code === 0) return 'passing';
  return code === 1 ? 'warning' : 'critical';
}

async function probeHttp(url: string, timeoutMs: number): Promise<ProbeResult> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual', headers: { 'user-agent': 'cairn-registry-check' } });
    // The body is not needed; dropping it frees the socket.
    await res.body?.cancel().catch(() => undefined);
    return { status: httpStatusOf(res.status), output: cut(`HTTP ${res.status} ${res.statusText}`) };
  } catch (err) {
    const e = err as Error & { cause?: { message?: string } };
    if (e.name === 'TimeoutError') return { status: 'critical', output: `timed out after ${timeoutMs} ms` };
    return { status: 'critical', output: cut(e.cause?.message ?? e.message) };
  }
}

function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (r: ProbeResult): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ status: 'critical', output: `timed out after ${timeoutMs} ms` }), timeoutMs);
    socket.once('connect', () => done({ status: 'passing', output: `connected to ${host}:${port}` }));
    socket.once('error', (err) => done({ status: 'critical', output: cut(err.message) }));
  });
}

function probeRun(argv: readonly string[], timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let output = '';
    let timedOut = false;
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    // Keep only the start of what it prints: a chatty command must not grow memory.
    const take = (d: Buffer): void => {
      if (output.length < MAX_CHECK_OUTPUT_CHARS * 4) output += d.toString();
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ status: 'critical', output: cut(err.message) });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return resolve({ status: 'critical', output: `timed out after ${timeoutMs} ms` });
      const status = signal !== null ? 'critical' : exitStatusOf(code);
      resolve({ status, output: cut(output === '' ? (signal !== null ? `killed by ${signal}` : `exit ${code}`) : output) });
    });
  });
}

/** The real probes: fetch, a TCP connect, a child process. */
export const realProbe: Probe = (spec) => {
  switch (spec.kind) {
    case 'http':
      return probeHttp(spec.url, spec.timeoutMs);
    case 'tcp':
      return probeTcp(spec.host, spec.port, spec.timeoutMs);
    case 'run':
      return probeRun(spec.argv, spec.timeoutMs);
  }
};
