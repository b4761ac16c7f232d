import { describe, expect, it, vi } from 'vitest';
import { Put, Watch, type ServerFrame, type WatchResponse } from '@cairn/protocol';
import { pino } from 'pino';
import { startServer } from '../server.js';
import { b, tempDir } from '../testing/harness.js';
import { TestClient } from '../testing/wsClient.js';

const revisionsOf = (frames: ServerFrame[], id: number): bigint[] =>
  frames.flatMap((f) => (f.t === 'data' && f.id === id ? (f.result as WatchResponse).events.map((e) => e.kv.modRevision) : []));

describe('a slow watcher on a real socket', () => {
  it('is buffered, moved aside, then caught up from history; the fast one and the writes never wait', async () => {
    const dir = tempDir();
    const server = await startServer(
      { logger: pino({ level: 'silent' }), listenClientUrls: ['http://127.0.0.1:0'], listenPeerUrls: ['http://127.0.0.1:0'], dataDir: dir.dir },
      { watch: { maxBufferedBytes: 64 * 1024 } },
    );
    const url = server.clientUrls[0]!;
    const slow = await TestClient.connect(url);
    const fast = await TestClient.connect(url);
    const writer = await TestClient.connect(url);
    try {
      for (const c of [slow, fast]) {
        await c.exchange({ t: 'open', id: 1, method: Watch.method, params: { key: b('s') } }, (f) => f.t === 'data' && f.id === 1);
      }
      // The slow client stops reading its socket: the server's send buffer fills.
      const socket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      socket.pause();
      const value = new Uint8Array(64 * 1024).fill(120);
      const puts = 200;
      const t0 = performance.now();
      for (let i = 0; i < puts; i++) {
        const r = await writer.call(100 + i, Put.method, { key: b('s'), value });
        expect(r.t).toBe('res');
      }
      const writeMs = performance.now() - t0;
      await vi.waitFor(() => expect(revisionsOf(fast.frames, 1).length).toBe(puts), { timeout: 30_000 });
      expect(server.watchStats().unsynced).toBe(1);
      socket.resume();
      await vi.waitFor(() => expect(revisionsOf(slow.frames, 1).length).toBe(puts), { timeout: 60_000, interval: 100 });
      const want = revisionsOf(fast.frames, 1);
      expect(revisionsOf(slow.frames, 1)).toEqual(want);
      for (let i = 1; i < want.length; i++) expect(want[i]).toBe(want[i - 1]! + 1n);
      await vi.waitFor(() => expect(server.watchStats().unsynced).toBe(0));
      // Writes went on at disk speed while a watcher was stuck (a loose bound for 2 shared cores).
      expect(writeMs).toBeLessThan(30_000);
    } finally {
      for (const c of [slow, fast, writer]) c.close();
      await server.close();
      dir.cleanup();
    }
  }, 120_000);
});
