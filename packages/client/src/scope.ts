import { CairnError, ErrorCode } from '@cairn/protocol';

/**
 * The lifetime of one call: it fails once, with the first of its deadline, its caller's
 * AbortSignal, or the client closing. Work done on the call's behalf registers a listener to
 * undo itself (send a `close` frame, stop waiting) when that happens.
 */
export class CallScope {
  private failure: CairnError | undefined;
  private readonly listeners = new Set<(err: CairnError) => void>();
  private readonly timer: ReturnType<typeof setTimeout> | undefined;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort = (): void => this.fail(new CairnError(ErrorCode.Canceled, 'context canceled'));

  constructor(timeoutMs: number | undefined, signal: AbortSignal | undefined) {
    this.signal = signal;
    if (signal?.aborted === true) {
      this.failure = new CairnError(ErrorCode.Canceled, 'context canceled');
    } else {
      signal?.addEventListener('abort', this.onAbort, { once: true });
    }
    if (timeoutMs !== undefined && Number.isFinite(timeoutMs) && this.failure === undefined) {
      this.timer = setTimeout(
        () => this.fail(new CairnError(ErrorCode.Timeout, 'context deadline exceeded', { timeoutMs })),
        Math.max(0, timeoutMs),
      );
    }
  }

  get error(): CairnError | undefined {
    return this.failure;
  }

  fail(err: CairnError): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    for (const listener of [...this.listeners]) listener(err);
    this.listeners.clear();
    this.dispose();
  }

  /** Calls `listener` when the scope fails (at once if it already has). Returns an unsubscribe. */
  onFail(listener: (err: CairnError) => void): () => void {
    if (this.failure !== undefined) {
      listener(this.failure);
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Settles like `promise`, unless the scope fails first. */
  race<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const off = this.onFail(reject);
      promise.then(
        (v) => {
          off();
          resolve(v);
        },
        (e: unknown) => {
          off();
          reject(e as Error);
        },
      );
    });
  }

  /** Waits `ms`, or less if the scope fails first (then rejects). */
  sleep(ms: number): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const off = this.onFail((err) => {
        clearTimeout(timer);
        reject(err);
      });
      const timer = setTimeout(() => {
        off();
        resolve();
      }, ms);
    });
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.onAbort);
  }
}
