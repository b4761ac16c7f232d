import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The web console's files (apps/console, built into this package's dist/console/), served at
 * /ui/ on the client URLs. Every file is read into memory when the member starts and looked up
 * by exact name: a request path is never joined onto the file system, so `..`, encoded
 * slashes and the like find nothing (404). The console talks to the member it was loaded from
 * (same origin), so the Origin allow list (origin.ts) keeps other sites' pages out.
 */
export interface ConsoleFiles {
  /** File name (no folders: the build is flat) -> its bytes and content type. */
  readonly files: ReadonlyMap<string, { readonly type: string; readonly body: Buffer }>;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** Most bytes of console files held in memory; the real build is well under 1 MiB. */
const MAX_CONSOLE_BYTES = 16 * 1024 * 1024;

/**
 * Where the build put the console: dist/console beside the bundled server (dist/index.js), or,
 * when the server runs from its TypeScript sources (tests), the package's dist/console.
 */
export function defaultConsoleDir(): string | undefined {
  const candidates = ['./console/', '../../dist/console/'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  return candidates.find((dir) => existsSync(join(dir, 'index.html')));
}

/** Reads the console's files; undefined when there is no built console in `dir`. */
export function loadConsole(dir: string | undefined): ConsoleFiles | undefined {
  if (dir === undefined || !existsSync(join(dir, 'index.html'))) return undefined;
  const files = new Map<string, { type: string; body: Buffer }>();
  let total = 0;
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const dot = name.lastIndexOf('.');
    const type = dot > 0 ? TYPES[name.slice(dot)] : undefined;
    if (type === undefined || !statSync(path).isFile()) continue;
    const body = readFileSync(path);
    total += body.length;
    if (total > MAX_CONSOLE_BYTES) throw new Error(`console files in ${dir} exceed ${MAX_CONSOLE_BYTES} bytes`);
    files.set(name, { type, body });
  }
  return { files };
}

/**
 * The page may load its own scripts and styles only, and open sockets only to this member and
 * to the client URLs of the other members (`peers`, for the cluster page); no inline script,
 * no framing by another site.
 */
export function contentSecurityPolicy(peers: Iterable<string>): string {
  const connect = new Set(["'self'"]);
  for (const url of peers) {
    try {
      const u = new URL(url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') continue;
      connect.add(u.origin);
      connect.add(`${u.protocol === 'https:' ? 'wss' : 'ws'}://${u.host}`);
    } catch {
      // Not a URL: nothing to allow.
    }
  }
  return `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${[...connect].join(' ')}; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`;
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
} as const;

/**
 * Answers `path` if it is the console's (/ui, /ui/...); returns false for any other path.
 * `files` undefined: the console is off (--disable-console) or was not built: 404 saying so.
 */
export function serveConsole(
  files: ConsoleFiles | undefined,
  disabledReason: string,
  peers: () => Iterable<string>,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  if (path !== '/ui' && !path.startsWith('/ui/')) return false;
  const send = (status: number, headers: Record<string, string | number>, body: Buffer | string): void => {
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  if (files === undefined) {
    const text = JSON.stringify({ message: disabledReason });
    send(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }, text);
    return true;
  }
  if (path === '/ui') {
    send(301, { location: '/ui/', 'content-length': 0 }, '');
    return true;
  }
  const name = path === '/ui/' ? 'index.html' : path.slice('/ui/'.length);
  const file = files.files.get(name);
  if (file === undefined) {
    const text = JSON.stringify({ message: 'not found' });
    send(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }, text);
    return true;
  }
  send(200, { ...SECURITY_HEADERS, 'content-security-policy': contentSecurityPolicy(peers()), 'content-type': file.type, 'content-length': file.body.length }, file.body);
  return true;
}
