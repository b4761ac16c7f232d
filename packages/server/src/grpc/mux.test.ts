import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sniff } from './mux.js';

/** A listener that sniffs each connection and records the verdict and the bytes that follow. */
async function sniffing(timeoutMs = 1000): Promise<{ server: Server; port: number; verdicts: Promise<{ http2: boolean | 'timeout'; bytes: Buffer }>[] }> {
  const verdicts: Promise<{ http2: boolean | 'timeout'; bytes: Buffer }>[] = [];
  const server = createServer((socket: Socket) => {
    verdicts.push(
      new Promise((resolve) =>
        sniff(
          socket,
          timeoutMs,
          (http2) => {
            // What the next reader sees: everything, the sniffed bytes included.
            const parts: Buffer[] = [];
            socket.on('data', (d: Buffer) => parts.push(d));
            socket.on('end', () => resolve({ http2, bytes: Buffer.concat(parts) }));
            socket.resume();
          },
          () => {
            resolve({ http2: 'timeout', bytes: Buffer.alloc(0) });
            socket.destroy();
          },
        ),
      ),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, verdicts };
}

async function send(port: number, chunks: string[]): Promise<void> {
  const s = connect(port, '127.0.0.1');
  await new Promise<void>((r) => s.once('connect', () => r()));
  for (const c of chunks) {
    s.write(c);
    await new Promise((r) => setTimeout(r, 20));
  }
  s.end();
}

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
let open: Server | undefined;
afterEach(() => open?.close());

describe('sniff', () => {
  it('routes the HTTP/2 preface to HTTP/2, even split over reads, and keeps every byte', async () => {
    const t = await sniffing();
    open = t.server;
    await send(t.port, ['PRI * HT', 'TP/2.0\r\n\r\nSM\r\n', '\r\nframes']);
    await expect(t.verdicts[0]).resolves.toEqual({ http2: true, bytes: Buffer.from(`${PREFACE}frames`) });
  });

  it('routes an HTTP/1.1 request (one that starts like the preface too) to HTTP/1.1', async () => {
    const t = await sniffing();
    open = t.server;
    await send(t.port, ['GET /health HTTP/1.1\r\n\r\n']);
    await send(t.port, ['PRI', 'NT /x HTTP/1.1\r\n\r\n']);
    await expect(t.verdicts[0]).resolves.toEqual({ http2: false, bytes: Buffer.from('GET /health HTTP/1.1\r\n\r\n') });
    await expect(t.verdicts[1]).resolves.toEqual({ http2: false, bytes: Buffer.from('PRINT /x HTTP/1.1\r\n\r\n') });
  });

  it('gives up on a connection that says too little within the timeout', async () => {
    const t = await sniffing(200);
    open = t.server;
    const s = connect(t.port, '127.0.0.1');
    s.on('error', () => undefined);
    s.write('PRI * ');
    for (let i = 0; i < 200 && t.verdicts.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await expect(t.verdicts[0]).resolves.toMatchObject({ http2: 'timeout' });
    s.destroy();
  });
});
