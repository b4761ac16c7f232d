import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CairnClient, CairnClientOptions, Logger } from '@cairn/client';
import { parseDurationMs, DurationError } from './duration.js';
import { ExitCode, UsageError } from './exitCodes.js';
import type { Input } from './lines.js';
import { printerFor, type Printer } from './output/index.js';

/** Where a run of cairnctl reads and writes; the real process in main.ts, strings in tests. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readonly stdin: Input;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads a password with hidden input; absent when stdin is not a terminal. */
  readonly readPassword?: (prompt: string) => Promise<string>;
  /**
   * Registers what Ctrl-C (SIGINT) does for a long-running command (watch, keep-alive): it
   * ends and the process exits 0. Commands that never register keep the default (exit at once).
   */
  readonly onInterrupt?: (handler: () => void) => void;
}

/** The global flags, as commander hands them over. */
export interface GlobalFlags {
  endpoints: string;
  writeOut: string;
  hex?: boolean;
  dialTimeout: string;
  commandTimeout: string;
  keepaliveTime: string;
  keepaliveTimeout: string;
  user?: string;
  password?: string;
  debug?: boolean;
  cacert?: string;
  cert?: string;
  key?: string;
  insecureSkipTlsVerify?: boolean;
  /** etcdctl's default is true: plaintext unless TLS is configured. */
  insecureTransport?: boolean;
}

type ClientModule = typeof import('@cairn/client');
let clientModule: Promise<ClientModule> | undefined;
/** @cairn/client (with ws and the codec) loads only when a command talks to a member. */
export function loadClient(): Promise<ClientModule> {
  clientModule ??= import('@cairn/client');
  return clientModule;
}

function duration(text: string, flag: string): number {
  try {
    return parseDurationMs(text);
  } catch (err) {
    if (err instanceof DurationError) {
      throw new UsageError(`invalid argument ${JSON.stringify(text)} for "--${flag}" flag: ${err.message}`);
    }
    throw err;
  }
}

export function splitEndpoints(list: string): string[] {
  return list
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
}

/** What a command needs: its printer, its deadlines, and clients made from the global flags. */
export class Context {
  readonly io: CliIo;
  readonly endpoints: string[];
  readonly format: string;
  readonly hex: boolean;
  readonly dialTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly keepAliveTimeMs: number;
  readonly keepAliveTimeoutMs: number;
  private readonly user: { username: string; password: string | undefined } | undefined;
  private auth: { username: string; password: string } | undefined;
  private readonly tls: TlsFlags | undefined;
  private readonly logger: Logger | undefined;
  private readonly clients: CairnClient[] = [];

  constructor(flags: GlobalFlags, io: CliIo) {
    this.io = io;
    this.endpoints = splitEndpoints(flags.endpoints);
    if (this.endpoints.length === 0) throw new UsageError('no endpoints given (--endpoints)');
    this.format = flags.writeOut;
    this.hex = flags.hex === true;
    this.dialTimeoutMs = duration(flags.dialTimeout, 'dial-timeout');
    this.commandTimeoutMs = duration(flags.commandTimeout, 'command-timeout');
    this.keepAliveTimeMs = duration(flags.keepaliveTime, 'keepalive-time');
    this.keepAliveTimeoutMs = duration(flags.keepaliveTimeout, 'keepalive-timeout');
    this.user = parseUser(flags.user, flags.password);
    this.tls = loadTls(flags);
    if (flags.debug === true) {
      io.err(
        `CAIRNCTL_ENDPOINTS=[${this.endpoints.join(',')}]\nCAIRNCTL_WRITE_OUT=${this.format}\n` +
          `CAIRNCTL_DIAL_TIMEOUT=${flags.dialTimeout}\nCAIRNCTL_COMMAND_TIMEOUT=${flags.commandTimeout}\n` +
          `CAIRNCTL_HEX=${this.hex}\nCAIRNCTL_USER=${this.user?.username ?? ''}\n` +
          `CAIRNCTL_KEEPALIVE_TIME=${flags.keepaliveTime}\nCAIRNCTL_KEEPALIVE_TIMEOUT=${flags.keepaliveTimeout}\n` +
          `CAIRNCTL_INSECURE_SKIP_TLS_VERIFY=${flags.insecureSkipTlsVerify === true}\nCAIRNCTL_INSECURE_TRANSPORT=${flags.insecureTransport !== false}\n`,
      );
      const log = (level: string) => (message: string, fields?: Record<string, unknown>) =>
        io.err(`${level}: ${message}${fields ? ` ${JSON.stringify(fields, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}` : ''}\n`);
      this.logger = { debug: log('debug'), warn: log('warn') };
    }
  }

  /** The printer for --write-out; `valueOnly` and `countOnly` are get's --print-value-only and --count-only. */
  printer(valueOnly = false, countOnly = false): Printer {
    const p = printerFor(this.format, { hex: this.hex, valueOnly, countOnly });
    if ('error' in p) throw new UsageError(p.error, ExitCode.BadFeature);
    return p;
  }

  /** A client for the given endpoints (default: --endpoints); closed when the command ends. */
  async client(endpoints: readonly string[] = this.endpoints): Promise<CairnClient> {
    const { CairnClient } = await loadClient();
    if (this.user !== undefined && this.auth === undefined) {
      let password = this.user.password;
      if (password === undefined) {
        // `--user=name` alone: ask, like etcdctl, with the input hidden.
        if (this.io.readPassword === undefined) {
          throw new UsageError('a password is needed with --user: use --user=name:password or --password (stdin is not a terminal to ask on)');
        }
        password = await this.io.readPassword('Password: ');
      }
      this.auth = { username: this.user.username, password };
    }
    const options: CairnClientOptions = {
      endpoints,
      dialTimeoutMs: this.dialTimeoutMs,
      requestTimeoutMs: this.commandTimeoutMs,
      keepAliveTimeMs: this.keepAliveTimeMs,
      keepAliveTimeoutMs: this.keepAliveTimeoutMs,
      ...(this.auth !== undefined ? { username: this.auth.username, password: this.auth.password } : {}),
      ...(this.logger !== undefined ? { logger: this.logger } : {}),
      ...(this.tls !== undefined ? { tls: this.tls } : {}),
    };
    const client = new CairnClient(options);
    this.clients.push(client);
    return client;
  }

  close(): void {
    for (const c of this.clients.splice(0)) c.close();
  }
}

/**
 * `--user name:password`, `--user name --password pw`, or `--user name` (the password is then
 * asked for on the terminal when a client is made).
 */
export function parseUser(
  user: string | undefined,
  password: string | undefined,
): { username: string; password: string | undefined } | undefined {
  if (user === undefined || user === '') {
    if (password !== undefined && password !== '') throw new UsageError('--password given without --user');
    return undefined;
  }
  if (password !== undefined) {
    if (user.includes(':')) throw new UsageError("--user shouldn't include a password when --password is given");
    return { username: user, password };
  }
  const colon = user.indexOf(':');
  if (colon < 0) return { username: user, password: undefined };
  return { username: user.slice(0, colon), password: user.slice(colon + 1) };
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`--${flag}: cannot read ${path}: ${(err as Error).message}`, ExitCode.BadArgs);
  }
}

interface TlsFlags {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecureSkipVerify?: boolean;
}

/**
 * `--cacert`, `--cert`, `--key`: TLS for every endpoint (bare host:port then means wss). As in
 * etcdctl, `--insecure-skip-tls-verify` alone or `--insecure-transport=false` alone also turn
 * TLS on (verified against the system CAs unless skip-verify).
 */
export function loadTls(flags: GlobalFlags): TlsFlags | undefined {
  const skip = flags.insecureSkipTlsVerify === true;
  if (flags.cacert === undefined && flags.cert === undefined && flags.key === undefined) {
    if (skip) return { insecureSkipVerify: true };
    return flags.insecureTransport === false ? {} : undefined;
  }
  if ((flags.cert === undefined) !== (flags.key === undefined)) throw new UsageError('--cert and --key must be given together');
  return {
    ...(skip ? { insecureSkipVerify: true } : {}),
    ...(flags.cacert !== undefined ? { ca: readPem(flags.cacert, 'cacert') } : {}),
    ...(flags.cert !== undefined ? { cert: readPem(flags.cert, 'cert') } : {}),
    ...(flags.key !== undefined ? { key: readPem(flags.key, 'key') } : {}),
  };
}

/** Reads the global flags of whichever (sub)command is running. */
export function contextOf(cmd: Command, io: CliIo): Context {
  return new Context(cmd.optsWithGlobals<GlobalFlags>(), io);
}

/** An AbortSignal aborted on Ctrl-C, for a long-running command (see CliIo.onInterrupt). */
export function interruptSignal(io: CliIo): AbortSignal {
  const ac = new AbortController();
  io.onInterrupt?.(() => ac.abort());
  return ac.signal;
}
