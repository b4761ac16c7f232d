import { describe, expect, it } from 'vitest';
import { ErrorCode, Put, Range, type ServerFrame } from '@cairn/protocol';
import { pino } from 'pino';
import { ConfigError } from './config/config.js';
import { startServer } from './server.js';
import type { StreamContext } from './api/streams.js';
import { b, tempDir } from './testing/harness.js';
import { TestClient } from './testing/wsClient.js';

const quiet = { logger: pino({ level: 'silent' }), listenClientUrls: ['http://127.0.0.1:0'], listenPeerUrls: ['http://127.0.0.1:0'] };

describe('startServer', () => {
  it('keeps its ids across restarts and finishes in-flight writes on close', async () => {
    const dir = tempDir();
    try {
      const s1 = await startServer({ ...quiet, dataDir: dir.dir });
      const { clusterId, memberId } = s1;
      expect(memberId).not.toBe(0n);
      const c = await TestClient.connect(s1.clientUrls[0]!);
      const answers: Promise<ServerFrame>[] = [];
      for (let i = 0; i < 100; i++) answers.push(c.call(i, Put.method, { key: b(`k${i}`), value: b('v') }));
      // Let the frames arrive, then shut down while the writes are in flight.
      await new Promise((r) => setTimeout(r, 5));
      const closing = s1.close();
      const frames = await Promise.all(answers);
      await closing;
      const ok = frames.filter((f) => f.t === 'res').length;
      const stopped = frames.filter((f) => f.t === 'err' && f.code === ErrorCode.Stopped).length;
      expect(ok + stopped).toBe(100);

      const s2 = await startServer({ ...quiet, dataDir: dir.dir });
      expect(s2.clusterId).toBe(clusterId);
      expect(s2.memberId).toBe(memberId);
      const c2 = await TestClient.connect(s2.clientUrls[0]!);
      const r = await c2.call(1, Range.method, { key: b('k'), rangeEnd: b('l'), countOnly: true });
      expect(r.t === 'res' && (r.result as { count: number }).count).toBe(ok);
      c2.close();
      await s2.close();
    } finally {
      dir.cleanup();
    }
  });

  it('refuses a data directory another member has open', async () => {
    const dir = tempDir();
    try {
      const s1 = await startServer({ ...quiet, dataDir: dir.dir });
      await expect(startServer({ ...quiet, dataDir: dir.dir })).rejects.toThrow(/cannot open the data directory/);
      await s1.close();
    } finally {
      dir.cleanup();
    }
  });

  it('serves streams registered through StartOptions.streams', async () => {
    const dir = tempDir();
    try {
      const server = await startServer({ ...quiet, dataDir: dir.dir }, {
        streams: (member) =>
          new Map([
            [
              'test.echo',
              (_params: unknown, ctx: StreamContext) => {
                ctx.send({ revision: member.revision });
                return { message: (p: unknown) => (p === 'end' ? ctx.end() : ctx.send(p)), close: () => undefined };
              },
            ],
          ]),
      });
      const c = await TestClient.connect(server.clientUrls[0]!);
      const first = await c.exchange({ t: 'open', id: 5, method: 'test.echo', params: {} }, (f) => f.t === 'data' && f.id === 5);
      expect(first).toMatchObject({ t: 'data', id: 5, result: { revision: 1n } });
      const echo = await c.exchange({ t: 'send', id: 5, params: 'hi' }, (f) => f.t === 'data' && f.id === 5);
      expect(echo).toMatchObject({ result: 'hi' });
      const end = await c.exchange({ t: 'send', id: 5, params: 'end' }, (f) => f.t === 'err' && f.id === 5);
      expect(end).toEqual({ t: 'err', id: 5 });
      c.close();
      await server.close();
    } finally {
      dir.cleanup();
    }
  });

  it('refuses configurations it cannot run', async () => {
    await expect(startServer({ ...quiet, initialCluster: 'other=http://b:2380' })).rejects.toThrow(ConfigError);
    await expect(startServer({ ...quiet, listenClientUrls: ['https://127.0.0.1:0'] })).rejects.toThrow(/https needs a certificate and key/);
    await expect(startServer({ ...quiet, maxTxnOps: 0 })).rejects.toThrow(/max-txn-ops/);
  });
});
