/**
 * What a Connection needs of a WebSocket, so that one Connection runs on Node's `ws` package
 * (platform.ts) and on a browser's global WebSocket (platform.browser.ts). The browser build
 * swaps the platform module at bundle time (tsup.config.mjs); nothing else differs.
 */
export interface WireHandlers {
  open(): void;
  message(bytes: Uint8Array): void;
  /** The socket closed; `reason` may be empty. */
  close(code: number, reason: string): void;
  /** A socket-level failure; `code` is Node's error code (ECONNREFUSED, ...) when there is one. */
  error(err: Error & { code?: string }): void;
  /** A ping was answered (Node only: browsers neither send pings nor report pongs). */
  pong(): void;
}

export interface WireSocket {
  /** Replaces every handler at once; events after that go to the new ones. */
  handle(handlers: WireHandlers): void;
  readonly openOrConnecting: boolean;
  send(bytes: Uint8Array): void;
  close(code: number): void;
  /** Drops the socket without a closing handshake. */
  terminate(): void;
  /** Absent where the platform cannot send pings (browsers): keepalive is then off. */
  readonly ping?: () => void;
}

export interface WireOptions {
  readonly handshakeTimeoutMs: number;
  /** Frames larger than this close the socket. */
  readonly maxFrameBytes: number;
  readonly tls?: {
    readonly ca?: string | Uint8Array;
    readonly cert?: string | Uint8Array;
    readonly key?: string | Uint8Array;
    readonly insecureSkipVerify?: boolean;
  };
}

/** An incremental SHA-256 (the snapshot download's checksum). */
export interface Sha256 {
  update(bytes: Uint8Array): void;
  /** Lower-case hex of the digest; once. */
  digestHex(): string;
}

export const NOOP_HANDLERS: WireHandlers = {
  open: () => undefined,
  message: () => undefined,
  close: () => undefined,
  error: () => undefined,
  pong: () => undefined,
};

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}
