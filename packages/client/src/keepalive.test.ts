import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '@cairn/protocol';
import { NEVER, header, startFakeServer, type FakeServer } from '../test/fakeServer.js';
import { CairnClient } from './index.js';

const servers: FakeServer[] = [];
const clients: CairnClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function until(what: string, probe: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('client keepalive (keepAliveTimeMs / keepAliveTimeoutMs)', () => {
  it('pings an open connection every keepAliveTimeMs and keeps it while pongs come back', async () => {
    let pings = 0;
    const s = await startFakeServer({
      'kv.put': (req) => {
        if (req.socket.listenerCount('ping') === 0) req.socket.on('ping', () => pings++);
        return { header: header(2n) };
      },
    });
    servers.push(s);
    const c = new CairnClient({ endpoints: [s.endpoint], keepAliveTimeMs: 30, keepAliveTimeoutMs: 1000 });
    clients.push(c);
    await c.kv.put('k', 'v');
    await until('three pings', () => pings >= 3);
    // Answered pings leave the connection alone: the same socket serves the next request.
    await expect(c.kv.put('k', 'v2')).resolves.toBeDefined();
    expect(s.frames.filter((f) => f.t === 'hello')).toHaveLength(1);
  });

  it('closes a connection whose pings go unanswered, failing the request in flight with connection_closed', async () => {
    const s = await startFakeServer({ 'kv.put': () => NEVER }, 0, { autoPong: false });
    servers.push(s);
    const c = new CairnClient({ endpoints: [s.endpoint], keepAliveTimeMs: 30, keepAliveTimeoutMs: 100, requestTimeoutMs: 10_000 });
    clients.push(c);
    const started = Date.now();
    const err = await c.kv.put('k', 'v').then(
      () => undefined,
      (e: unknown) => e as { code?: string; message?: string },
    );
    expect(err?.code).toBe(ErrorCode.ConnectionClosed);
    expect(err?.message).toMatch(/keepalive ping not answered within 100ms/);
    // Long before the request's own 10 s deadline.
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses a negative keepalive', async () => {
    const s = await startFakeServer({});
    servers.push(s);
    const c = new CairnClient({ endpoints: [s.endpoint], keepAliveTimeMs: -1, dialTimeoutMs: 500 });
    clients.push(c);
    await expect(c.kv.get('k')).rejects.toThrow(/keepAliveTimeMs must be a finite number of ms >= 0/);
  });
});
