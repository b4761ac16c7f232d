import { WebSocket, WebSocketServer } from 'ws';

/*
 * The `ws` package as this server uses it, typed by @types/ws (the client uses the same
 * typings). The names below are the server's own words for the same types.
 */
export type { RawData } from 'ws';

/** One WebSocket, accepted or dialled. */
export type WsSocket = WebSocket;

/** The upgrade handler of the client and peer ports (`noServer`: the HTTP server owns the port). */
export type WsServer = WebSocketServer;

/** Options of an outgoing socket (TLS ones are passed to https.request). */
export interface WsClientOptions {
  readonly maxPayload?: number;
  readonly perMessageDeflate?: boolean;
  readonly handshakeTimeout?: number;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export { WebSocket, WebSocketServer };
