import type { ErrorCode } from './errors.js';
import type { ClusterId, MemberId } from './types.js';

/** Bumped on any incompatible change of frames or messages. */
export const PROTOCOL_VERSION = 1;

/**
 * Client-to-server frames. `id` is chosen by the client, unique among its in-flight requests
 * and open streams on one socket; responses and stream messages carry it back, so many
 * requests are in flight at once on one socket.
 */
export type ClientFrame =
  /** Must be the first frame on a socket. */
  | { readonly t: 'hello'; readonly version: number; readonly token?: string }
  /** A unary request. */
  | { readonly t: 'req'; readonly id: number; readonly method: string; readonly params: unknown }
  /** Open a stream (watch, lease keep-alive). */
  | { readonly t: 'open'; readonly id: number; readonly method: string; readonly params: unknown }
  /** A message on an open stream. */
  | { readonly t: 'send'; readonly id: number; readonly params: unknown }
  /** Close a stream, or give up on a unary request (the server may still apply a write). */
  | { readonly t: 'close'; readonly id: number }
  /** Replace the auth token on this socket (after a re-authentication). */
  | { readonly t: 'auth'; readonly token: string };

/** Server-to-client frames. */
export type ServerFrame =
  | {
      readonly t: 'hello';
      readonly version: number;
      readonly clusterId: ClusterId;
      readonly memberId: MemberId;
      readonly serverVersion: string;
    }
  /** The answer to `req` `id`. */
  | { readonly t: 'res'; readonly id: number; readonly result: unknown }
  /** A message on stream `id`. */
  | { readonly t: 'data'; readonly id: number; readonly result: unknown }
  /**
   * Request `id` failed, or stream `id` ended (`code` absent: ended normally). id -1: the
   * frame could not be attributed to any request (e.g. undecodable bytes).
   */
  | {
      readonly t: 'err';
      readonly id: number;
      readonly code?: ErrorCode;
      readonly message?: string;
      readonly details?: Record<string, unknown>;
    };

export type ClientFrameType = ClientFrame['t'];
export type ServerFrameType = ServerFrame['t'];
