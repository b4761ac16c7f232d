import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { Metadata } from '@grpc/grpc-js';
import type { Msg } from './convert.js';

/**
 * Stand-ins for grpc-js's call objects, so that the JSON gateway runs the very service code
 * the gRPC port runs: same handlers, same auth (the token from the `Authorization` header, as
 * etcd's gateway takes it, or `token`), same limits. Only what the services use is here.
 */
export function gatewayMetadata(req: IncomingMessage): Metadata {
  const md = new Metadata();
  const token = req.headers['authorization'] ?? req.headers['token'];
  if (typeof token === 'string' && token !== '') md.set('token', token);
  return md;
}

function peerOf(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '';
  return a.includes(':') ? `[${a}]:${req.socket.remotePort ?? 0}` : `${a}:${req.socket.remotePort ?? 0}`;
}

function authContext(req: IncomingMessage): { sslPeerCertificate?: ReturnType<TLSSocket['getPeerCertificate']> } {
  const socket = req.socket as Partial<TLSSocket>;
  if (socket.encrypted !== true || socket.authorized !== true || socket.getPeerCertificate === undefined) return {};
  return { sslPeerCertificate: socket.getPeerCertificate() };
}

/** A unary call: the decoded request and the HTTP request's identity. */
export class GatewayUnaryCall extends EventEmitter {
  readonly metadata: Metadata;
  cancelled = false;
  constructor(
    readonly request: Msg,
    private readonly req: IncomingMessage,
    res: ServerResponse,
  ) {
    super();
    this.metadata = gatewayMetadata(req);
    // Once the response is done, or the connection went away before it was.
    res.once('close', () => {
      this.cancelled = true;
      this.emit('cancelled');
    });
  }
  getPeer(): string {
    return peerOf(this.req);
  }
  getAuthContext(): ReturnType<typeof authContext> {
    return authContext(this.req);
  }
}

/**
 * A streaming call: messages written by the service go out as newline-separated
 * `{"result": ...}` objects (grpc-gateway's stream framing); an error status as
 * `{"error": ...}`. The client's messages come in by `push`; the HTTP body ending does not end
 * the stream (a watch lives until the client disconnects), as with etcd's gateway.
 */
export class GatewayStreamCall extends GatewayUnaryCall {
  writableEnded = false;
  destroyed = false;
  constructor(
    request: Msg,
    req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly encode: (m: Msg) => unknown,
    private readonly encodeError: (err: { code?: number; details?: string }) => unknown,
  ) {
    super(request, req, res);
    res.writeHead(200, { 'content-type': 'application/json' });
    this.on('error', (err: { code?: number; details?: string }) => {
      if (this.writableEnded) return;
      res.write(`${JSON.stringify(this.encodeError(err))}\n`);
      this.end();
    });
    this.on('cancelled', () => {
      this.destroyed = true;
    });
  }
  get writableLength(): number {
    return this.res.writableLength;
  }
  write(m: Msg, cb?: () => void): boolean {
    if (this.writableEnded) return false;
    return this.res.write(`${JSON.stringify({ result: this.encode(m) })}\n`, cb);
  }
  end(): void {
    if (this.writableEnded) return;
    this.writableEnded = true;
    this.res.end();
  }
  /** A message from the client's body. */
  push(m: Msg): void {
    this.emit('data', m);
  }
}

/**
 * Splits a stream of concatenated JSON objects (how grpc-gateway reads a client stream) into
 * the objects. Feed text as it comes; each complete top-level object is passed to `onValue`.
 */
export class JsonObjects {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;
  private scanned = 0;
  constructor(private readonly onValue: (text: string) => void) {}
  feed(text: string): void {
    this.buf += text;
    for (let i = this.scanned; i < this.buf.length; i++) {
      const ch = this.buf[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === '\\') this.escaped = true;
        else if (ch === '"') this.inString = false;
        continue;
      }
      if (ch === '"') this.inString = true;
      else if (ch === '{') {
        if (this.depth === 0) this.start = i;
        this.depth++;
      } else if (ch === '}' && this.depth > 0) {
        this.depth--;
        if (this.depth === 0) {
          this.onValue(this.buf.slice(this.start, i + 1));
          this.buf = this.buf.slice(i + 1);
          i = -1;
          this.start = -1;
        }
      }
    }
    this.scanned = this.buf.length;
    if (this.depth === 0 && this.start < 0) {
      this.buf = '';
      this.scanned = 0;
    }
  }
}
