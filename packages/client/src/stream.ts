import { CairnError, ErrorCode } from '@cairn/protocol';
import type { Connection, FrameSink } from './connection.js';

/**
 * An open stream (watch, lease keep-alive): iterate it for the server's messages, `send` the
 * client's, `close` to end it. Iteration ends when the server ends the stream normally and
 * throws a CairnError when it ends with an error or the connection is lost.
 */
export interface CairnStream<ClientMsg, ServerMsg> extends AsyncIterable<ServerMsg> {
  /** The stream's id on its socket. */
  readonly id: number;
  /** True once the stream ended (either side) or failed. */
  readonly closed: boolean;
  send(message: ClientMsg): void;
  /** Ends the stream and tells the server; messages already received can still be read. */
  close(): void;
}

type Settled = { readonly kind: 'end' } | { readonly kind: 'error'; readonly error: CairnError };

/** The stream's state on the client: a queue between the socket and the reader. */
export class StreamChannel<ClientMsg, ServerMsg> implements CairnStream<ClientMsg, ServerMsg>, FrameSink {
  readonly id: number;
  private readonly connection: Connection;
  private readonly queue: ServerMsg[] = [];
  private settled: Settled | undefined;
  private waiter: { resolve: (r: IteratorResult<ServerMsg>) => void; reject: (e: Error) => void } | undefined;
  private readonly onSettle: () => void;

  constructor(id: number, connection: Connection, onSettle: () => void) {
    this.id = id;
    this.connection = connection;
    this.onSettle = onSettle;
  }

  get closed(): boolean {
    return this.settled !== undefined;
  }

  send(message: ClientMsg): void {
    if (this.settled !== undefined) {
      throw this.settled.kind === 'error' ? this.settled.error : new CairnError(ErrorCode.Canceled, 'stream is closed');
    }
    this.connection.send({ t: 'send', id: this.id, params: message });
  }

  close(): void {
    if (this.settled !== undefined) return;
    this.connection.cancel(this.id);
    this.settle({ kind: 'end' });
  }

  // FrameSink: what the socket delivers for this id.
  result(value: unknown): void {
    this.data(value);
  }

  data(value: unknown): void {
    if (this.settled !== undefined) return;
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter.resolve({ done: false, value: value as ServerMsg });
    } else {
      this.queue.push(value as ServerMsg);
    }
  }

  error(err: CairnError): void {
    this.settle({ kind: 'error', error: err });
  }

  end(): void {
    this.settle({ kind: 'end' });
  }

  [Symbol.asyncIterator](): AsyncIterator<ServerMsg> {
    return {
      next: () => this.next(),
      return: () => {
        this.close();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  private next(): Promise<IteratorResult<ServerMsg>> {
    if (this.queue.length > 0) return Promise.resolve({ done: false, value: this.queue.shift()! });
    const settled = this.settled;
    if (settled?.kind === 'error') return Promise.reject(settled.error);
    if (settled?.kind === 'end') return Promise.resolve({ done: true, value: undefined });
    if (this.waiter !== undefined) return Promise.reject(new Error('stream is already being read'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  private settle(how: Settled): void {
    if (this.settled !== undefined) return;
    this.settled = how;
    this.connection.forget(this.id);
    this.onSettle();
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter === undefined) return;
    if (how.kind === 'error') waiter.reject(how.error);
    else waiter.resolve({ done: true, value: undefined });
  }
}
