import { CairnError, ErrorCode } from './errors.js';

/**
 * Jittered exponential back-off, the one used by every retry loop of the client, the recipes
 * and the members' peer links. The nominal delay of retry n (0 for the first) is
 * `initialMs * factor^n`, capped at `maxMs`; each delay is then spread uniformly over
 * ±`jitter` of its nominal value and capped at `maxMs` again, so no delay exceeds the cap and
 * many processes that lost the same member do not come back in step.
 *
 *   initialMs 50, maxMs 1000, factor 2, jitter 0.2:
 *   retry 0: 40..60   1: 80..120   2: 160..240   3: 320..480   4: 640..960   5+: 800..1000
 */
export interface BackoffOptions {
  /** The nominal first delay, in ms (>= 0). */
  readonly initialMs: number;
  /** No delay is longer than this, in ms (>= initialMs). */
  readonly maxMs: number;
  /** Growth of the nominal delay from one retry to the next (>= 1). Default 2. */
  readonly factor?: number;
  /** Spread of each delay around its nominal value, as a fraction in [0, 1]. Default 0.2 (±20 %). */
  readonly jitter?: number;
  /** Uniform in [0, 1). Default Math.random; tests pass a fixed one. */
  readonly random?: () => number;
}

/** Past this many doublings the nominal delay is at any sane cap; it also keeps factor^n finite. */
const MAX_EXPONENT = 64;

/** Throws `invalid_argument` unless the options describe a back-off. */
export function checkBackoffOptions(o: BackoffOptions): void {
  const bad = (what: string): never => {
    throw new CairnError(ErrorCode.InvalidArgument, `back-off: ${what}`);
  };
  if (!Number.isFinite(o.initialMs) || o.initialMs < 0) bad(`initialMs must be a finite number >= 0, got ${o.initialMs}`);
  if (!Number.isFinite(o.maxMs) || o.maxMs < o.initialMs) bad(`maxMs must be a finite number >= initialMs, got ${o.maxMs}`);
  const factor = o.factor ?? 2;
  if (!Number.isFinite(factor) || factor < 1) bad(`factor must be a finite number >= 1, got ${factor}`);
  const jitter = o.jitter ?? 0.2;
  if (!Number.isFinite(jitter) || jitter < 0 || jitter > 1) bad(`jitter must be in [0, 1], got ${jitter}`);
}

/** The delay before retry number `attempt` (0 for the first), in whole ms. */
export function backoffDelayMs(o: BackoffOptions, attempt: number): number {
  const factor = o.factor ?? 2;
  const jitter = o.jitter ?? 0.2;
  const n = Math.min(Math.max(0, Math.floor(attempt)), MAX_EXPONENT);
  const nominal = Math.min(o.maxMs, o.initialMs * factor ** n);
  const spread = 1 - jitter + 2 * jitter * (o.random ?? Math.random)();
  return Math.round(Math.min(o.maxMs, nominal * spread));
}

/**
 * A back-off that counts its own retries: `next()` gives the delay before the next one and
 * moves on; `reset()` after a success starts again from `initialMs`.
 *
 *   const backoff = new Backoff({ initialMs: 100, maxMs: 2000 });
 *   for (;;) {
 *     try { await attempt(); backoff.reset(); break; }
 *     catch { await sleep(backoff.next()); }
 *   }
 */
export class Backoff {
  private retries = 0;

  constructor(readonly options: BackoffOptions) {
    checkBackoffOptions(options);
  }

  /** How many delays `next()` has handed out since the last reset. */
  get attempts(): number {
    return this.retries;
  }

  /** The delay before the next retry, in ms. */
  next(): number {
    return backoffDelayMs(this.options, this.retries++);
  }

  /** Back to the first delay (call it once an attempt succeeded). */
  reset(): void {
    this.retries = 0;
  }
}
