// The slice of the `ws` package's API this client (and its test fake server) uses. The
// package ships no types and @types/ws is not a dependency; this declaration is internal and
// never appears in the emitted public types.
declare module 'ws' {
  import type { EventEmitter } from 'node:events';
  import type { IncomingMessage, Server as HttpServer } from 'node:http';

  type RawData = Buffer | ArrayBuffer | Buffer[];

  interface ClientOptions {
    handshakeTimeout?: number;
    /** Passed to tls.connect for wss:// URLs. */
    ca?: string | Buffer | (string | Buffer)[];
    cert?: string | Buffer;
    key?: string | Buffer;
    maxPayload?: number;
    perMessageDeflate?: boolean;
  }

  class WebSocket extends EventEmitter {
    static readonly CONNECTING: 0;
    static readonly OPEN: 1;
    static readonly CLOSING: 2;
    static readonly CLOSED: 3;
    constructor(address: string, options?: ClientOptions);
    readonly readyState: 0 | 1 | 2 | 3;
    binaryType: 'nodebuffer' | 'arraybuffer' | 'fragments';
    send(data: Uint8Array, cb?: (err?: Error) => void): void;
    close(code?: number, reason?: string): void;
    terminate(): void;
    on(event: 'open', listener: () => void): this;
    on(event: 'message', listener: (data: RawData, isBinary: boolean) => void): this;
    on(event: 'close', listener: (code: number, reason: Buffer) => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: 'unexpected-response', listener: (req: unknown, res: IncomingMessage) => void): this;
  }

  interface ServerOptions {
    port?: number;
    host?: string;
    server?: HttpServer;
    noServer?: boolean;
    maxPayload?: number;
  }

  class WebSocketServer extends EventEmitter {
    constructor(options: ServerOptions, callback?: () => void);
    readonly clients: Set<WebSocket>;
    address(): { port: number; address: string } | string;
    close(cb?: (err?: Error) => void): void;
    on(event: 'connection', listener: (socket: WebSocket, req: IncomingMessage) => void): this;
    on(event: 'listening', listener: () => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
  }

  export { WebSocket, WebSocketServer, RawData, ClientOptions, ServerOptions };
  export default WebSocket;
}
