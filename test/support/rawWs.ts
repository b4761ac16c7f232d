/**
 * A WebSocket client written on a bare TCP socket, for tests that must misbehave the way a
 * real library would not let them: never send hello, never read, stop mid-handshake. It
 * speaks just enough RFC 6455: the upgrade, masked binary frames out, unmasked frames in.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { decodeServerFrame, encodeFrame, type ClientFrame, type ServerFrame } from '@cairn/protocol';

export interface RawClose {
  /** The close code of the server's close frame; undefined if the socket ended without one. */
  readonly code: number | undefined;
  readonly reason: string;
}

export class RawWs {
  /** Frames received, except those over 64 KiB (only counted, so a test holds no gigabytes). */
  readonly frames: ServerFrame[] = [];
  /** Every frame received, by type ('res', 'err', ...). */
  readonly counts = new Map<string, number>();
  /** Resolves when the TCP socket is closed, with what the close frame said (if one came). */
  readonly closed: Promise<RawClose>;
  /** Bytes received and not yet parsed, as they came (joined only per whole frame). */
  private chunks: Buffer[] = [];
  private total = 0;
  private closeFrame: { code: number; reason: string } | undefined;

  private constructor(readonly socket: Socket) {
    this.closed = new Promise((resolve) => {
      socket.on('close', () => resolve({ code: this.closeFrame?.code, reason: this.closeFrame?.reason ?? '' }));
    });
    socket.on('data', (d: Buffer) => this.push(d));
    socket.on('error', () => undefined);
  }

  /** Opens a TCP connection and completes the upgrade (status 101), or throws with the status line. */
  static async open(endpoint: string): Promise<RawWs> {
    const socket = await RawWs.tcp(endpoint);
    const key = randomBytes(16).toString('base64');
    socket.write(
      `GET / HTTP/1.1\r\nHost: ${endpoint}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const head = await RawWs.readHead(socket);
    if (!/^HTTP\/1\.1 101 /.test(head.text)) {
      socket.destroy();
      throw new Error(`upgrade refused: ${head.text.split('\r\n')[0]}`);
    }
    const ws = new RawWs(socket);
    if (head.rest.length > 0) ws.push(head.rest);
    return ws;
  }

  /** A plain TCP connection to `endpoint` (host:port). */
  static tcp(endpoint: string): Promise<Socket> {
    const i = endpoint.lastIndexOf(':');
    return new Promise((resolve, reject) => {
      const s = connect({ host: endpoint.slice(0, i), port: Number(endpoint.slice(i + 1)) }, () => resolve(s));
      s.once('error', reject);
    });
  }

  /** Sends the upgrade request and returns the HTTP response head (and body, if any), as text. */
  static async upgradeResponse(endpoint: string): Promise<string> {
    const socket = await RawWs.tcp(endpoint);
    socket.write(
      `GET / HTTP/1.1\r\nHost: ${endpoint}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    return text;
  }

  private static readHead(socket: Socket): Promise<{ text: string; rest: Buffer }> {
    return new Promise((resolve, reject) => {
      let acc = Buffer.alloc(0);
      const onData = (d: Buffer): void => {
        acc = Buffer.concat([acc, d]);
        const end = acc.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        socket.off('close', onClose);
        resolve({ text: acc.subarray(0, end).toString('latin1'), rest: acc.subarray(end + 4) });
      };
      const onClose = (): void => reject(new Error(`closed during the upgrade: ${acc.toString('latin1')}`));
      socket.on('data', onData);
      socket.on('close', onClose);
    });
  }

  /** One masked binary frame with this client frame. */
  static encode(frame: ClientFrame): Buffer {
    const payload = encodeFrame(frame);
    const n = payload.length;
    const head = n < 126 ? Buffer.alloc(2) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
    head[0] = 0x82;
    if (n < 126) head[1] = 0x80 | n;
    else if (n < 65536) {
      head[1] = 0x80 | 126;
      head.writeUInt16BE(n, 2);
    } else {
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(n), 2);
    }
    const mask = randomBytes(4);
    const body = Buffer.from(payload);
    for (let i = 0; i < n; i++) body[i] = body[i]! ^ mask[i & 3]!;
    return Buffer.concat([head, mask, body]);
  }

  send(frame: ClientFrame): void {
    this.socket.write(RawWs.encode(frame));
  }

  /** Writes many frames at once (one TCP write). */
  sendMany(frames: readonly ClientFrame[]): void {
    this.socket.write(Buffer.concat(frames.map((f) => RawWs.encode(f))));
  }

  /** Stops reading: the kernel buffers fill, then the server's writes queue up. */
  stopReading(): void {
    this.socket.pause();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private push(d: Buffer): void {
    this.chunks.push(d);
    this.total += d.length;
    this.parse();
  }

  /** The first `n` buffered bytes, removed from the buffer when `consume`. */
  private bytes(n: number, consume: boolean): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let i = 0;
    while (filled < n) {
      const c = this.chunks[i]!;
      const take = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, take);
      filled += take;
      if (consume && take < c.length) this.chunks[i] = c.subarray(take);
      else i++;
    }
    if (consume) {
      this.chunks.splice(0, i);
      this.total -= n;
    }
    return out;
  }

  private parse(): void {
    for (;;) {
      if (this.total < 2) return;
      const h = this.bytes(Math.min(10, this.total), false);
      const opcode = h[0]! & 0x0f;
      let len = h[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (h.length < 4) return;
        len = h.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (h.length < 10) return;
        len = Number(h.readBigUInt64BE(2));
        off = 10;
      }
      if (this.total < off + len) return;
      const payload = this.bytes(off + len, true).subarray(off);
      if (opcode === 0x2) {
        const frame = decodeServerFrame(payload);
        this.counts.set(frame.t, (this.counts.get(frame.t) ?? 0) + 1);
        if (payload.length <= 64 * 1024) this.frames.push(frame);
      } else if (opcode === 0x8) {
        this.closeFrame = { code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005, reason: payload.subarray(2).toString('utf8') };
      }
    }
  }
}
