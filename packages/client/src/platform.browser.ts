// The browser's side of wire.ts: the global WebSocket and a small SHA-256, no `node:` module.
// tsup.config.mjs puts this module in place of platform.ts in dist/index.browser.js.
// Differences a browser imposes: TLS is the browser's (TlsOptions are ignored), no pings
// (keepAliveTimeMs is ignored), no handshake status (a refused upgrade is "connection failed").
import { NOOP_HANDLERS, type Sha256, type WireHandlers, type WireOptions, type WireSocket } from './wire.js';
import { Sha256Digest } from './sha256.js';

/** The part of the DOM's WebSocket used here (the package compiles without the DOM lib). */
interface DomWebSocket {
  binaryType: 'arraybuffer' | 'blob';
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (ev: { readonly data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (ev: { readonly code: number; readonly reason: string }) => void): void;
}
interface DomWebSocketClass {
  new (url: string): DomWebSocket;
  readonly CONNECTING: number;
  readonly OPEN: number;
}

export function openWire(url: string, options: WireOptions): WireSocket {
  const WebSocket = (globalThis as unknown as { WebSocket: DomWebSocketClass }).WebSocket;
  const socket = new WebSocket(url);
  socket.binaryType = 'arraybuffer';
  let h: WireHandlers = NOOP_HANDLERS;
  socket.addEventListener('open', () => h.open());
  socket.addEventListener('message', (ev) => {
    if (!(ev.data instanceof ArrayBuffer)) return;
    if (ev.data.byteLength > options.maxFrameBytes) {
      // 1009: message too big, as ws closes on a frame past maxPayload.
      socket.close(1009);
      h.error(new Error(`frame of ${ev.data.byteLength} bytes exceeds maxFrameBytes ${options.maxFrameBytes}`));
      return;
    }
    h.message(new Uint8Array(ev.data));
  });
  socket.addEventListener('close', (ev) => h.close(ev.code, ev.reason));
  // A browser says nothing about why (refused, no such host, HTTP 403 to the upgrade).
  socket.addEventListener('error', () => h.error(new Error('connection failed')));
  return {
    handle: (handlers) => {
      h = handlers;
    },
    get openOrConnecting() {
      return socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING;
    },
    send: (bytes) => socket.send(bytes),
    close: (code) => socket.close(code),
    terminate: () => socket.close(),
  };
}

export function sha256(): Sha256 {
  return new Sha256Digest();
}
