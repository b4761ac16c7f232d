/**
 * One operation of a concurrent history, as a client saw it.
 *
 * `call` and `ret` may use any monotone clock (ties allowed). When a call and a return carry
 * the same timestamp they are treated as overlapping: the checker never orders two operations
 * on the strength of a tie.
 *
 * - `ret` is finite: the operation certainly took effect, at some instant in [call, ret].
 *   `output` is the answer it gave; leave it out when there is no answer to check (e.g. a write).
 * - `ret` is `Number.POSITIVE_INFINITY`: the outcome is unknown (timed out, Jepsen `:info`).
 *   The operation may have taken effect at any instant after `call`, or never.
 *
 * An operation that certainly did not take effect (Jepsen `:fail`) must not appear at all.
 */
export interface Operation<I, O> {
  /** Process / client id (informational: used in reports). */
  readonly client: number;
  readonly input: I;
  /** When the call started. */
  readonly call: number;
  /** The answer; absent when it was never seen. */
  readonly output?: O;
  /** When it returned; `Number.POSITIVE_INFINITY` when unknown. */
  readonly ret: number;
}

/** A sequential specification of the object the history ran against. */
export interface Model<S, I, O> {
  /** The state before any operation. */
  init(): S;
  /**
   * The state after `input` took effect in `state`, if `output` is a legal answer for it there;
   * `undefined` if not. `output === undefined` means the answer was never seen: any answer is
   * acceptable. Must not mutate `state` (states are kept for backtracking).
   */
  step(state: S, input: I, output: O | undefined): S | undefined;
  /** Canonical form of a state: equal states must give equal keys, different ones different keys. */
  key(state: S): string;
  /** Split a history into independent sub-histories (e.g. by key). Each is checked separately. */
  partition?(ops: readonly Operation<I, O>[]): Operation<I, O>[][];
  /**
   * Optional hint: true if `input` never changes the state (step returns an equal state whenever
   * it accepts), like a read. The search then linearizes such an operation as soon as it is
   * legal and never tries alternatives to it, which prunes read-heavy histories a lot. A wrong
   * `true` can make the checker report violations that are not there.
   */
  readOnly?(input: I): boolean;
  /** Human-readable form of an operation, for reports. */
  describe?(input: I, output: O | undefined): string;
}

/** `unknown` means the time (or step) budget ran out before an answer was found. */
export type Verdict = 'linearizable' | 'not-linearizable' | 'unknown';

export interface CheckFailure {
  /** Index of the offending partition, in the order `model.partition` returned them. */
  partition: number;
  /**
   * The longest sequence of operations of that partition the search managed to linearize
   * (in linearization order, described for humans).
   */
  longestPrefix: string[];
  /** The same operations as indices into the `ops` array given to `checkHistory`. */
  longestPrefixIndices: number[];
  /**
   * The operation whose return was reached without it being linearizable after
   * `longestPrefix` (absent if the search never got that far, which cannot normally happen).
   */
  blockedBy?: string;
}

export interface CheckResult {
  verdict: Verdict;
  /** Number of independent sub-histories checked. */
  partitions: number;
  /** Wall time spent, when `options.now` was given. */
  elapsedMs?: number;
  /** Search steps taken (operations tried), summed over partitions. */
  steps: number;
  /** Present when the verdict is `not-linearizable`. */
  failure?: CheckFailure;
}

export interface CheckOptions {
  /** Give up with verdict `unknown` after this many milliseconds (needs `now`). */
  timeoutMs?: number;
  /** Clock for `timeoutMs` and `elapsedMs`, in milliseconds: e.g. `() => performance.now()`. */
  now?: () => number;
  /**
   * Give up with verdict `unknown` after this many search steps, summed over partitions.
   * Deterministic, unlike `timeoutMs`: convenient in simulations.
   */
  maxSteps?: number;
}
