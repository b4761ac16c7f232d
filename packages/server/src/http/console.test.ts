import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { contentSecurityPolicy, loadConsole, serveConsole } from './console.js';

const dir = mkdtempSync(join(tmpdir(), 'cairn-console-'));
writeFileSync(join(dir, 'index.html'), '<!doctype html>');
writeFileSync(join(dir, 'app.js'), 'console.log(1)');
writeFileSync(join(dir, 'notes.txt'), 'not a console file type');
mkdirSync(join(dir, 'sub'));
writeFileSync(join(dir, 'sub', 'x.js'), 'nested');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const loaded = loadConsole(dir);

function call(path: string, files: ReturnType<typeof loadConsole> | 'loaded', method = 'GET'): { status: number; headers: Record<string, string | number>; body: string } {
  const out = { status: 0, headers: {} as Record<string, string | number>, body: '' };
  const res = {
    writeHead(status: number, headers: Record<string, string | number>) {
      out.status = status;
      out.headers = headers;
    },
    end(body?: Buffer | string) {
      out.body = body === undefined ? '' : body.toString();
    },
  } as unknown as ServerResponse;
  const handled = serveConsole(files === 'loaded' ? loaded : files, 'off', () => ['http://10.0.0.2:2379', 'not a url'], path, { method } as IncomingMessage, res);
  if (!handled) out.status = -1;
  return out;
}

describe('serving the console', () => {
  it('answers its own files by exact name with their content type, nothing else', () => {
    expect(call('/ui/', 'loaded')).toMatchObject({ status: 200, body: '<!doctype html>', headers: { 'content-type': 'text/html; charset=utf-8' } });
    expect(call('/ui/app.js', 'loaded')).toMatchObject({ status: 200, headers: { 'content-type': 'text/javascript; charset=utf-8' } });
    expect(call('/ui', 'loaded')).toMatchObject({ status: 301, headers: { location: '/ui/' } });
    for (const p of ['/ui/notes.txt', '/ui/sub/x.js', '/ui/sub', '/ui/../package.json', '/ui/..%2fpackage.json', '/ui/index.html/']) expect(call(p, 'loaded').status, p).toBe(404);
    expect(call('/uix', 'loaded').status).toBe(-1);
    expect(call('/health', 'loaded').status).toBe(-1);
    expect(call('/ui/app.js', 'loaded', 'HEAD')).toMatchObject({ status: 200, body: '' });
  });

  it('says why when there is no console', () => {
    expect(loadConsole(join(dir, 'missing'))).toBeUndefined();
    expect(call('/ui/', undefined)).toMatchObject({ status: 404, body: '{"message":"off"}' });
  });

  it("lets the page connect only to itself and the cluster's members", () => {
    const csp = String(call('/ui/', 'loaded').headers['content-security-policy']);
    expect(csp).toContain("connect-src 'self' http://10.0.0.2:2379 ws://10.0.0.2:2379;");
    expect(contentSecurityPolicy(['https://a:1'])).toContain("connect-src 'self' https://a:1 wss://a:1;");
    expect(csp).toContain("frame-ancestors 'none'");
  });
});
