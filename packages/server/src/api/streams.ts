import type { CairnError } from '@cairn/protocol';
import type { Caller } from '../auth/authorizer.js';

/**
 * The hook for streaming methods (watch, lease keep-alive), registered by method name from
 * the protocol's stream descriptors (`Watch.method` ...). The session owns framing and ids; a
 * stream implementation only sees decoded params and a context to answer through.
 */
export interface StreamContext {
  readonly id: number;
  /**
   * Who opened the stream. A watch must pass `Authorizer.watch(caller, key, rangeEnd)` before
   * it is registered (read permission on the whole watched range).
   */
  readonly caller: Caller;
  /** Sends one `data` frame on the stream. */
  send(result: unknown): void;
  /** Ends the stream from the server side: `err` with the code, or without one if normal. */
  end(error?: CairnError): void;
  /** Bytes waiting on the socket: a slow reader shows here first. */
  bufferedBytes(): number;
}

export interface StreamSession {
  /** A `send` frame from the client on this stream. */
  message(params: unknown): void;
  /** The client closed the stream, or the socket went away. */
  close(): void;
}

/** Opens a stream for an `open` frame; throws a CairnError to refuse it. */
export type StreamOpener = (params: unknown, ctx: StreamContext) => StreamSession;
