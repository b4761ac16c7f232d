/**
 * The daemon's logger: pino, at etcd's --log-level, written as JSON lines or as human-readable
 * console lines (--log-format), to the --log-outputs (stdout, stderr, files appended to).
 */
import { pino, type Logger } from 'pino';
import type { DaemonConfig } from './config.js';

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** One JSON log line as `2026-12-07T12:00:00.000Z INFO message key=value ...`. */
export function consoleLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { time, level, msg, ...fields } = o;
  const when = typeof time === 'number' ? new Date(time).toISOString() : String(time ?? '');
  const name = (typeof level === 'number' ? LEVEL_NAMES[level] : undefined) ?? String(level);
  const rest = Object.entries(fields)
    .filter(([k]) => k !== 'pid' && k !== 'hostname')
    .map(([k, v]) => `${k}=${typeof v === 'string' && /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)}`);
  return `${when} ${name.padEnd(5)} ${String(msg ?? '')}${rest.length > 0 ? ` ${rest.join(' ')}` : ''}\n`;
}

export interface DaemonLogger {
  readonly logger: Logger;
  /** Warnings about the outputs themselves, to log once the logger exists. */
  readonly notes: string[];
  close(): void;
}

/** Opens the outputs (a file that cannot be opened stops the start: the caller reports it). */
export function createLogger(config: Pick<DaemonConfig, 'name' | 'logLevel' | 'logFormat' | 'logOutputs'>): DaemonLogger {
  const notes: string[] = [];
  const dests = new Set<number | string>();
  for (const out of config.logOutputs) {
    if (out === 'stdout') dests.add(1);
    else if (out === 'stderr') dests.add(2);
    else if (out === 'systemd/journal') {
      notes.push("log-outputs systemd/journal is not supported: logging to stderr instead (journald captures a service's stderr)");
      dests.add(2);
    } else dests.add(out);
  }
  // Synchronous writes (pino's own destination, which retries a full pipe): a line is out
  // before the next one is made, and before an exit.
  const targets = [...dests].map((dest) => {
    try {
      return pino.destination({ dest, sync: true, append: true });
    } catch (err) {
      throw new Error(`--log-outputs: cannot open ${String(dest)}: ${(err as Error).message}`);
    }
  });
  const destination = {
    write(line: string): void {
      const text = config.logFormat === 'console' ? consoleLine(line) : line;
      for (const t of targets) t.write(text);
    },
  };
  const logger = pino(
    {
      level: config.logLevel,
      base: { member: config.name },
      // Passwords never reach a log line, whatever object carries them.
      redact: { paths: ['password', '*.password', '*.*.password', 'params.password', 'token', '*.token'], censor: '[redacted]' },
    },
    destination,
  );
  return {
    logger,
    notes,
    close: () => {
      for (const t of targets) t.flushSync();
    },
  };
}
