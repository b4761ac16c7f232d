import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * The part of the `ws` package this server uses, typed here: `ws` ships no types, @types/ws
 * is not a dependency, and an ambient `declare module 'ws'` would collide with other
 * packages' declarations in the shared test project.
 */
export type RawData = Buffer | ArrayBuffer | Buffer[];

export interface WsSocket extends EventEmitter {
  readonly readyState: 0 | 1 | 2 | 3;
  readonly bufferedAmount: number;
  /** Stops reading the underlying socket (frames already read may still be emitted). */
  pause(): void;
  resume(): void;
  send(data: Uint8Array, cb?: (err?: Error) => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  on(event: 'open', listener: () => void): this;
  on(event: 'message', listener: (data: RawData, isBinary: boolean) => void): this;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  once(event: 'open' | 'close', listener: () => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
}

export interface WsServer {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: WsSocket, req: IncomingMessage) => void): void;
  close(cb?: (err?: Error) => void): void;
}

/** Options of an outgoing socket (TLS ones are passed to https.request). */
export interface WsClientOptions {
  readonly maxPayload?: number;
  readonly perMessageDeflate?: boolean;
  readonly handshakeTimeout?: number;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

interface WsModule {
  WebSocketServer: new (options: { noServer: true; maxPayload: number; perMessageDeflate: boolean }) => WsServer;
  WebSocket: new (address: string, options?: WsClientOptions) => WsSocket;
}

const ws = createRequire(import.meta.url)('ws') as WsModule;

export const WebSocketServer = ws.WebSocketServer;
/** The client class (tests use it). */
export const WebSocket = ws.WebSocket;
