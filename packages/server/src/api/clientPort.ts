/**
 * Bounds on the client port: how long a connection may take to say hello, how many may be
 * open, and how many reply bytes one socket may leave unsent (its reader not keeping up).
 */
export interface ClientPortLimits {
  /**
   * A connection must finish its HTTP upgrade, and then send its `hello` frame, each within
   * this many milliseconds, or it is closed.
   */
  readonly handshakeTimeoutMs: number;
  /** Most client WebSockets open at once; 0 means no limit. */
  readonly maxConnections: number;
  /**
   * Past this many reply bytes queued on a socket (sent by the server, not yet taken by the
   * client), the server stops reading that socket's requests until the queue drains below it.
   */
  readonly unsentSoftBytes: number;
  /** Past this many unsent bytes the socket is closed (code 4429). */
  readonly unsentHardBytes: number;
}

export const DEFAULT_CLIENT_HANDSHAKE_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_CLIENT_CONNECTIONS = 0;
export const DEFAULT_CLIENT_UNSENT_SOFT_BYTES = 16 * 1024 * 1024;
export const DEFAULT_CLIENT_UNSENT_HARD_BYTES = 64 * 1024 * 1024;

export const defaultClientPortLimits: ClientPortLimits = {
  handshakeTimeoutMs: DEFAULT_CLIENT_HANDSHAKE_TIMEOUT_MS,
  maxConnections: DEFAULT_MAX_CLIENT_CONNECTIONS,
  unsentSoftBytes: DEFAULT_CLIENT_UNSENT_SOFT_BYTES,
  unsentHardBytes: DEFAULT_CLIENT_UNSENT_HARD_BYTES,
};

/** WebSocket close codes the client port uses (4000-4999 is the application range). */
export const CloseCode = {
  /** Shutting down (the standard "going away"). */
  GoingAway: 1001,
  /** No `hello` frame within the handshake timeout. */
  HandshakeTimeout: 4408,
  /** The client left more than the hard limit of reply bytes unread. */
  UnsentBytes: 4429,
} as const;

/** Why the client port refused or closed a connection, as counted in metrics. */
export type ClientPortRefusal = 'connection_limit' | 'upgrade_timeout' | 'handshake_timeout' | 'unsent_bytes';

/** What the client port reports, for metrics. */
export interface ClientPortObserver {
  refused(reason: ClientPortRefusal): void;
  /** A socket stopped being read because its unsent replies passed the soft limit. */
  paused(): void;
  /** Bytes of WebSocket frames received from and sent to clients. */
  traffic?(receivedBytes: number, sentBytes: number): void;
}

/** What ReplyFlow needs of the socket and the session behind it. */
export interface FlowSocket {
  readonly bufferedAmount: number;
  pause(): void;
  resume(): void;
}

/**
 * Before any reply on a socket was measured, each request in flight counts the soft limit
 * divided by this: that many requests go through before the first reply is seen.
 */
const INITIAL_WINDOW_REQUESTS = 16;
/** The estimate never falls below this. */
const MIN_REPLY_ESTIMATE_BYTES = 512;

/**
 * Back-pressure for one socket's requests. Replies are produced asynchronously, so the bytes
 * a socket will owe are its unsent bytes plus the replies still being computed; the latter
 * are estimated per socket from the replies it got (the estimate starts at 1/16 of the soft
 * limit, jumps up to a large reply at once and decays by 1/8 of the difference per smaller
 * one: about 50 small replies take it from 1 MiB to 1 KiB). While unsent + inflight x estimate is at or over the soft limit,
 * frames are queued (in order) instead of handled and the socket is paused, so the client's
 * further requests wait in its own buffers; when the sum falls below the limit the queue is
 * handled and the socket read again. The queue holds at most what was already read when the
 * socket was paused.
 */
export class ReplyFlow {
  private readonly queue: Uint8Array[] = [];
  private paused = false;
  private pumping = false;
  private estimateBytes: number;

  constructor(
    private readonly socket: FlowSocket,
    private readonly softBytes: number,
    private readonly inflight: () => number,
    private readonly handle: (frame: Uint8Array) => void,
    private readonly onPause: () => void,
  ) {
    this.estimateBytes = Math.max(MIN_REPLY_ESTIMATE_BYTES, Math.floor(softBytes / INITIAL_WINDOW_REQUESTS));
  }

  /** The bytes this socket is taken to owe its client now. */
  get owedBytes(): number {
    return this.socket.bufferedAmount + this.inflight() * this.estimateBytes;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** A frame read from the socket. */
  receive(frame: Uint8Array): void {
    if (this.queue.length > 0 || this.owedBytes >= this.softBytes) {
      this.queue.push(frame);
      this.pause();
      return;
    }
    this.handle(frame);
  }

  /** A reply of `bytes` was queued on the socket. */
  replied(bytes: number): void {
    const e = this.estimateBytes;
    this.estimateBytes = bytes >= e ? bytes : Math.max(MIN_REPLY_ESTIMATE_BYTES, e - Math.ceil((e - bytes) / 8));
  }

  /** Something changed (bytes flushed, a request finished): handle what may now be handled. */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && this.owedBytes < this.softBytes) this.handle(this.queue.shift()!);
    } finally {
      this.pumping = false;
    }
    if (this.paused && this.queue.length === 0 && this.owedBytes < this.softBytes) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
    this.onPause();
  }
}
