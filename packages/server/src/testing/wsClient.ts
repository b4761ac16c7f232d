import { decodeServerFrame, encodeFrame, PROTOCOL_VERSION, type ClientFrame, type ServerFrame } from '@cairn/protocol';
import { WebSocket, type WsSocket } from '../api/ws.js';

/** A bare protocol client for tests: raw frames in, frames out, answers matched by id. */
export class TestClient {
  readonly frames: ServerFrame[] = [];
  private waiters: { match: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }[] = [];
  closed = false;

  private constructor(readonly ws: WsSocket) {
    ws.on('message', (data) => {
      const f = decodeServerFrame(data as Buffer);
      this.frames.push(f);
      const i = this.waiters.findIndex((w) => w.match(f));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(f);
    });
    ws.on('close', () => (this.closed = true));
    ws.on('error', () => undefined);
  }

  static async connect(url: string, hello = true): Promise<TestClient> {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/');
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const c = new TestClient(ws);
    if (hello) {
      const f = await c.exchange({ t: 'hello', version: PROTOCOL_VERSION }, (x) => x.t === 'hello' || (x.t === 'err' && x.id === -1));
      if (f.t !== 'hello') throw new Error('hello refused');
    }
    return c;
  }

  sendRaw(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }

  send(frame: ClientFrame | Record<string, unknown>): void {
    this.ws.send(encodeFrame(frame as ClientFrame));
  }

  next(match: (f: ServerFrame) => boolean): Promise<ServerFrame> {
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  exchange(frame: ClientFrame | Record<string, unknown>, match: (f: ServerFrame) => boolean): Promise<ServerFrame> {
    const p = this.next(match);
    this.send(frame);
    return p;
  }

  /** Sends a request and waits for its `res` or `err`. */
  call(id: number, method: string, params: unknown): Promise<ServerFrame> {
    return this.exchange({ t: 'req', id, method, params }, (f) => (f.t === 'res' || f.t === 'err') && f.id === id);
  }

  close(): void {
    this.ws.close();
  }
}
