// A tiny stand-in for a Cairn member, for the client's unit tests: speaks the real frames with
// the real codec, answers requests with handlers the test supplies.
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  CairnError,
  PROTOCOL_VERSION,
  decodeClientFrame,
  encodeFrame,
  type ClientFrame,
  type ServerFrame,
} from '@cairn/protocol';

export interface FakeRequest {
  readonly id: number;
  readonly method: string;
  readonly params: unknown;
  readonly socket: WebSocket;
  readonly token: string | undefined;
  /** For a stream: receives its `send` messages, including any that arrived before this call. */
  onSend(listener: (params: unknown) => void): void;
  /** Sends a frame back on this request's socket. */
  reply(frame: ServerFrame): void;
}

/** Returns the result, throws a CairnError (sent as `err`), or returns NEVER to not answer. */
export type Handler = (req: FakeRequest) => unknown;
export const NEVER: unique symbol = Symbol('never answer');

export interface FakeServer {
  readonly port: number;
  readonly endpoint: string;
  /** Every client frame received, in order. */
  readonly frames: ClientFrame[];
  /** TCP reads that brought client bytes, over every socket. */
  tcpReads: number;
  handlers: Record<string, Handler>;
  /** Sends a frame on every open socket. */
  broadcast(frame: ServerFrame): void;
  /** Drops every socket abruptly. */
  dropAll(): void;
  close(): Promise<void>;
  memberId: bigint;
  clusterId: bigint;
  /** When set, the hello is answered with this error frame instead. */
  helloError: { code: string; message: string } | undefined;
}

/** `autoPong: false`: pings go unanswered, like a member whose process is frozen. */
export async function startFakeServer(handlers: Record<string, Handler> = {}, port = 0, opts: { autoPong?: boolean } = {}): Promise<FakeServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port, autoPong: opts.autoPong ?? true });
  await new Promise<void>((resolve, reject) => {
    wss.on('listening', resolve);
    wss.on('error', reject);
  });
  const address = wss.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : 0;
  const send = (socket: WebSocket, frame: ServerFrame): void => socket.send(encodeFrame(frame));
  const server: FakeServer = {
    port: actualPort,
    endpoint: `127.0.0.1:${actualPort}`,
    frames: [],
    tcpReads: 0,
    handlers,
    memberId: 0x8b91bf796edb011en,
    clusterId: 0x41d3a4a0c9a6ebb4n,
    helloError: undefined,
    broadcast(frame) {
      for (const s of wss.clients) send(s, frame);
    },
    dropAll() {
      for (const s of wss.clients) s.terminate();
    },
    close() {
      for (const s of wss.clients) s.terminate();
      return new Promise((resolve) => wss.close(() => resolve()));
    },
  };
  wss.on('connection', (socket) => {
    (socket as unknown as { _socket: Socket })._socket.on('data', () => server.tcpReads++);
    let token: string | undefined;
    const sendQueues = new Map<number, { queued: unknown[]; listener?: (p: unknown) => void }>();
    const queueOf = (id: number) => {
      let q = sendQueues.get(id);
      if (q === undefined) sendQueues.set(id, (q = { queued: [] }));
      return q;
    };
    socket.on('message', (data) => {
      const frame = decodeClientFrame(data as Buffer);
      server.frames.push(frame);
      switch (frame.t) {
        case 'hello':
          token = frame.token;
          if (server.helloError !== undefined) {
            send(socket, { t: 'err', id: -1, ...(server.helloError as { code: never; message: string }) });
            return;
          }
          send(socket, {
            t: 'hello',
            version: PROTOCOL_VERSION,
            clusterId: server.clusterId,
            memberId: server.memberId,
            serverVersion: '0.1.0-fake',
          });
          return;
        case 'auth':
          token = frame.token;
          return;
        case 'req':
        case 'open': {
          const handler = server.handlers[frame.method];
          const id = frame.id;
          if (handler === undefined) {
            send(socket, { t: 'err', id, code: 'unknown_method', message: `unknown method ${frame.method}` });
            return;
          }
          Promise.resolve()
            .then(() =>
              handler({
                id,
                method: frame.method,
                params: frame.params,
                socket,
                token,
                onSend(listener) {
                  const q = queueOf(id);
                  q.listener = listener;
                  for (const m of q.queued.splice(0)) listener(m);
                },
                reply: (f) => send(socket, f),
              }),
            )
            .then(
              (result) => {
                if (result === NEVER || frame.t === 'open') return;
                send(socket, { t: 'res', id, result });
              },
              (err: unknown) => {
                const e = err instanceof CairnError ? err : new CairnError('internal', String(err));
                send(socket, { t: 'err', id, code: e.code, message: e.message, ...(e.details ? { details: { ...e.details } } : {}) });
              },
            );
          return;
        }
        case 'send': {
          const q = queueOf(frame.id);
          if (q.listener) q.listener(frame.params);
          else q.queued.push(frame.params);
          return;
        }
        case 'close':
          return;
      }
    });
  });
  return server;
}

export function header(revision = 1n) {
  return { clusterId: 0x41d3a4a0c9a6ebb4n, memberId: 0x8b91bf796edb011en, revision, raftTerm: 2n };
}
