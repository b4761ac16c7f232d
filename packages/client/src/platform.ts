// Node's side of wire.ts: the `ws` package and node:crypto. The browser build replaces this
// module with platform.browser.ts (tsup.config.mjs); both export the same names.
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import type { RawData } from 'ws';
import { NOOP_HANDLERS, type Sha256, type WireHandlers, type WireOptions, type WireSocket } from './wire.js';

function rawToBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

const pem = (v: string | Uint8Array): string | Buffer => (typeof v === 'string' ? v : Buffer.from(v));

export function openWire(url: string, options: WireOptions): WireSocket {
  const tls = options.tls;
  const socket = new WebSocket(url, {
    handshakeTimeout: options.handshakeTimeoutMs,
    maxPayload: options.maxFrameBytes,
    perMessageDeflate: false,
    ...(tls?.ca !== undefined ? { ca: pem(tls.ca) } : {}),
    ...(tls?.cert !== undefined ? { cert: pem(tls.cert) } : {}),
    ...(tls?.key !== undefined ? { key: pem(tls.key) } : {}),
    ...(tls?.insecureSkipVerify === true ? { rejectUnauthorized: false } : {}),
  });
  socket.binaryType = 'nodebuffer';
  let h: WireHandlers = NOOP_HANDLERS;
  let corkedSocket: Socket | undefined;
  const uncork = (): void => {
    corkedSocket?.uncork();
    corkedSocket = undefined;
  };
  socket.on('open', () => h.open());
  socket.on('message', (data) => h.message(rawToBytes(data)));
  socket.on('close', (code, reason) => h.close(code, reason.toString()));
  // Always listened to: an 'error' event on an emitter without a listener would throw.
  socket.on('error', (err) => h.error(err));
  socket.on('unexpected-response', (_req, res) => h.error(new Error(`unexpected HTTP status ${res.statusCode ?? '?'}`)));
  socket.on('pong', () => h.pong());
  return {
    handle: (handlers) => {
      h = handlers;
    },
    get openOrConnecting() {
      return socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING;
    },
    send: (bytes) => {
      // Requests sent in one turn of the event loop (callers answered by one batch of replies
      // send their next ones together) leave in one write, as the server's replies do: the
      // TCP socket is corked until the turn's ticks and microtasks have run. The member then
      // reads them at once and proposes them as one batch.
      const tcp = (socket as unknown as { _socket?: Socket })._socket;
      if (tcp !== undefined && corkedSocket === undefined) {
        corkedSocket = tcp;
        tcp.cork();
        process.nextTick(uncork);
      }
      socket.send(bytes);
    },
    close: (code) => socket.close(code),
    terminate: () => socket.terminate(),
    ping: () => socket.ping(),
  };
}

export function sha256(): Sha256 {
  const hash = createHash('sha256');
  return {
    update: (bytes) => {
      hash.update(bytes);
    },
    digestHex: () => hash.digest('hex'),
  };
}
