/**
 * Go-style durations, because etcdctl users type them: `2s`, `500ms`, `1m30s`, `1.5h`.
 * Parsed to milliseconds (fractions of a millisecond are kept); formatted from nanoseconds
 * exactly as Go's time.Duration.String() does, e.g. 4320139ns -> `4.320139ms`.
 */

const unitNs: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3,
  'μs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

export class DurationError extends Error {
  override readonly name = 'DurationError';
}

/** Parses a Go duration into milliseconds. Throws DurationError with Go's wording. */
export function parseDurationMs(text: string): number {
  const quoted = JSON.stringify(text);
  let s = text.trim();
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new DurationError(`time: invalid duration ${quoted}`);
  let totalNs = 0;
  const re = /^(\d+(?:\.\d*)?|\.\d+)([a-zµμ]+)/;
  while (s.length > 0) {
    const m = re.exec(s);
    if (m === null) {
      throw new DurationError(/^[\d.]+$/.test(s) ? `time: missing unit in duration ${quoted}` : `time: invalid duration ${quoted}`);
    }
    const ns = unitNs[m[2]!];
    if (ns === undefined) throw new DurationError(`time: unknown unit ${JSON.stringify(m[2])} in duration ${quoted}`);
    totalNs += Number(m[1]) * ns;
    s = s.slice(m[0].length);
  }
  return (sign * totalNs) / 1e6;
}

/** `v / 10^digits` with the fraction's trailing zeros dropped (Go's fmtFrac + fmtInt). */
function fraction(v: bigint, digits: number): string {
  const scale = 10n ** BigInt(digits);
  const whole = v / scale;
  const frac = (v % scale).toString().padStart(digits, '0').replace(/0+$/, '');
  return frac === '' ? whole.toString() : `${whole}.${frac}`;
}

/** Formats nanoseconds like Go's Duration.String(). */
export function formatDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  if (ns < 0n) return `-${formatDuration(-ns)}`;
  if (ns < 1000n) return `${ns}ns`;
  if (ns < 1_000_000n) return `${fraction(ns, 3)}µs`;
  if (ns < 1_000_000_000n) return `${fraction(ns, 6)}ms`;
  const hours = ns / 3_600_000_000_000n;
  const minutes = (ns / 60_000_000_000n) % 60n;
  const seconds = fraction(ns % 60_000_000_000n, 9);
  if (hours > 0n) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0n) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
