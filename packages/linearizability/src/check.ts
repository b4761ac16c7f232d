import type { CheckFailure, CheckOptions, CheckResult, Model, Operation } from './types.js';

/**
 * The Wing & Gong search with Lowe's improvements (G. Lowe, "Testing for linearizability",
 * Concurrency and Computation: Practice and Experience 29(4), 2017):
 *
 * - the history is a doubly linked list of call and return events ordered by time;
 * - an operation can be linearized next if its call comes before the first return still in
 *   the list; linearizing it "lifts" its call and return out of the list, backtracking
 *   "unlifts" them (dancing links: a removed node keeps its neighbours, so it goes back in O(1));
 * - a cache of (set of linearized operations, model state) pairs already explored prunes the
 *   search: two configurations with the same set and the same state have the same future;
 * - the search is iterative, with an explicit stack, so deep histories cannot overflow;
 * - the history is first split into independent partitions (P-compositionality), each checked
 *   on its own.
 *
 * Operations with an unknown outcome (`ret` infinite) get no return event: they can be
 * linearized any time after their call, and need never be. The search succeeds as soon as every
 * operation with a known return has been linearized. On top of that, four prunings, each of
 * which keeps the search complete (if a linearization exists, one that survives the pruning
 * exists too; the property tests check this against an unpruned search):
 *
 * 1. unknown-outcome operations are tried only after the known ones at each point, so they
 *    are linearized only when something needs their effect;
 * 2. an unknown-outcome operation that would not change the state is not linearized there;
 * 3. a configuration is also "explored" if one with the same state and known operations but a
 *    subset of its unknown-outcome operations was (the extra ones need never take effect);
 * 4. with the model's `readOnly` hint, a legal read is linearized at once and no alternative
 *    to it is tried (moving a read earlier, while it is legal, never breaks a linearization).
 */

interface Budget {
  readonly now: (() => number) | undefined;
  readonly deadline: number;
  readonly maxSteps: number;
  steps: number;
}

type Outcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'fail'; readonly prefix: readonly number[]; readonly blocked: number };

const HEAD = 0;
const TIME_CHECK_MASK = 1023;

/** Check `ops` against `model`; see `Operation` for how unknown outcomes and ties are read. */
export function checkHistory<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult {
  const { now, timeoutMs, maxSteps } = options;
  if (timeoutMs !== undefined && now === undefined) {
    throw new TypeError(
      'checkHistory: options.timeoutMs needs options.now (this package has no clock of its own)',
    );
  }
  if (maxSteps !== undefined && !(maxSteps >= 0))
    throw new RangeError('checkHistory: options.maxSteps must be >= 0');
  for (let i = 0; i < ops.length; i++) validate(ops[i]!, i);
  const start = now?.() ?? 0;
  const budget: Budget = {
    now,
    deadline: timeoutMs !== undefined ? start + timeoutMs : Number.POSITIVE_INFINITY,
    maxSteps: maxSteps ?? Number.POSITIVE_INFINITY,
    steps: 0,
  };

  const parts = model.partition ? model.partition(ops) : [ops.slice()];
  // Index of an operation in `ops`, for failure reports (a partition holds the same objects).
  let position: Map<Operation<I, O>, number> | undefined;
  const indexOf = (op: Operation<I, O>): number => {
    position ??= new Map(ops.map((o, i) => [o, i]));
    return position.get(op) ?? -1;
  };
  const finish = (r: Omit<CheckResult, 'partitions' | 'steps'>): CheckResult => {
    const out: CheckResult = { ...r, partitions: parts.length, steps: budget.steps };
    if (now) out.elapsedMs = now() - start;
    return out;
  };

  // Small partitions first: a cheap violation is found before a hard partition eats the budget.
  const order = parts.map((_, i) => i).sort((a, b) => parts[a]!.length - parts[b]!.length || a - b);
  for (const p of order) {
    const part = parts[p]!;
    // The search looks at the clock every 1024 steps; many small partitions need this too.
    if (now !== undefined && now() >= budget.deadline) return finish({ verdict: 'unknown' });
    const outcome = searchPartition(model, part, budget);
    if (outcome.kind === 'timeout') return finish({ verdict: 'unknown' });
    if (outcome.kind === 'fail') {
      const prefixOps = outcome.prefix.map((i) => part[i]!);
      const failure: CheckFailure = {
        partition: p,
        longestPrefix: prefixOps.map((op) => describeOperation(model, op)),
        // Without a partition function the single partition is `ops` itself, in order.
        longestPrefixIndices: model.partition ? prefixOps.map(indexOf) : outcome.prefix.slice(),
      };
      if (outcome.blocked >= 0)
        failure.blockedBy = describeOperation(model, part[outcome.blocked]!);
      return finish({ verdict: 'not-linearizable', failure });
    }
  }
  return finish({ verdict: 'linearizable' });
}

/** `client 3: write 4 [12, 15]`, with the model's `describe` when it has one. */
export function describeOperation<S, I, O>(model: Model<S, I, O>, op: Operation<I, O>): string {
  const what = model.describe
    ? model.describe(op.input, op.output)
    : `${show(op.input)} -> ${op.output === undefined ? '?' : show(op.output)}`;
  const ret = Number.isFinite(op.ret) ? String(op.ret) : '?';
  return `client ${op.client}: ${what} [${op.call}, ${ret}]${Number.isFinite(op.ret) ? '' : ' (outcome unknown)'}`;
}

function show(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function validate(op: Operation<unknown, unknown> | undefined, i: number): void {
  if (op === undefined || op === null) throw new TypeError(`checkHistory: ops[${i}] is missing`);
  if (typeof op.call !== 'number' || !Number.isFinite(op.call)) {
    throw new RangeError(
      `checkHistory: ops[${i}].call must be a finite number, got ${String(op.call)}`,
    );
  }
  if (typeof op.ret !== 'number' || Number.isNaN(op.ret) || op.ret < op.call) {
    throw new RangeError(
      `checkHistory: ops[${i}].ret must be >= call (${op.call}) or Number.POSITIVE_INFINITY, got ${String(op.ret)}`,
    );
  }
}

/**
 * The set of linearized operations of one partition, as a bitset. Operations with a known
 * return take bits 0..K-1 in call order, those with an unknown outcome the words after them.
 * Known operations are linearized roughly in call order, so their bits look like
 * 1111...1 [mixed window] 000...0: `full` counts the leading all-ones words and `top` is one past
 * the last non-zero word, which lets the cache store only the window, not the whole set.
 * An XOR hash of the known part of the set is kept up to date on every toggle.
 */
export class LinearizedSet {
  readonly words: Uint32Array;
  /** Number of words holding known operations. */
  readonly knownWords: number;
  private readonly bit: Int32Array;
  private readonly rnd: Int32Array;
  hash = 0;
  full = 0;
  top = 0;

  constructor(part: readonly Operation<unknown, unknown>[]) {
    const n = part.length;
    const byCall = Array.from({ length: n }, (_, i) => i).sort(
      (a, b) => part[a]!.call - part[b]!.call || a - b,
    );
    const known = byCall.filter((i) => Number.isFinite(part[i]!.ret));
    const unknown = byCall.filter((i) => !Number.isFinite(part[i]!.ret));
    this.knownWords = (known.length + 31) >>> 5;
    this.words = new Uint32Array(this.knownWords + ((unknown.length + 31) >>> 5));
    this.bit = new Int32Array(n);
    known.forEach((op, k) => (this.bit[op] = k));
    unknown.forEach((op, k) => (this.bit[op] = this.knownWords * 32 + k));
    this.rnd = randomWords(n);
  }

  toggle(op: number): void {
    const b = this.bit[op]!;
    const w = b >>> 5;
    const words = this.words;
    const v = (words[w]! ^ (1 << (b & 31))) >>> 0;
    words[w] = v;
    if (w >= this.knownWords) return;
    this.hash ^= this.rnd[op]!;
    if (v === 0xffffffff) {
      if (w === this.full) {
        let f = w + 1;
        while (f < this.knownWords && words[f] === 0xffffffff) f++;
        this.full = f;
      }
    } else if (w < this.full) {
      this.full = w;
    }
    if (v !== 0) {
      if (w >= this.top) this.top = w + 1;
    } else if (w + 1 === this.top) {
      let t = w;
      while (t > 0 && words[t - 1] === 0) t--;
      this.top = t;
    }
  }
}

/**
 * Explored (linearized set, state) pairs. State keys are interned to small ids. An entry is
 * [stateId, full, top, words full..top-1 of the known part, every word of the unknown part],
 * stored in one growable pool and bucketed by a hash of the known part and the state id.
 * A configuration counts as explored when an entry has the same state and known operations
 * and a subset of its unknown-outcome operations (see `visit`).
 */
class ExploredCache {
  private readonly stateIds = new Map<string, number>();
  private readonly buckets = new Map<number, number[]>();
  private pool = new Uint32Array(4096);
  private used = 0;

  constructor(private readonly set: LinearizedSet) {}

  /**
   * True if the current set with `stateKey` is covered by an explored configuration;
   * otherwise records it and returns false.
   */
  visit(stateKey: string): boolean {
    let sid = this.stateIds.get(stateKey);
    if (sid === undefined) {
      sid = this.stateIds.size;
      this.stateIds.set(stateKey, sid);
    }
    const set = this.set;
    const words = set.words;
    const { full, top, knownWords } = set;
    const lo = Math.min(full, top);
    const total = words.length;
    const h = (set.hash ^ Math.imul(sid + 1, 0x9e3779b1)) & 0x3fffffff;
    let bucket = this.buckets.get(h);
    if (bucket === undefined) {
      bucket = [];
      this.buckets.set(h, bucket);
    } else {
      const pool = this.pool;
      outer: for (let i = 0; i < bucket.length; i++) {
        const off = bucket[i]!;
        if (pool[off] !== sid || pool[off + 1] !== lo || pool[off + 2] !== top) continue;
        let p = off + 3;
        for (let w = lo; w < top; w++) if (pool[p++] !== words[w]) continue outer;
        // Dominance: the same known operations and state, reached with a subset of these
        // unknown-outcome operations, can do everything this configuration can (the extra
        // ones need never take effect), so if that one was explored, this one need not be.
        let subset = true;
        let superset = true;
        for (let w = knownWords; w < total; w++) {
          const stored = pool[p++]!;
          const mine = words[w]!;
          if ((stored & ~mine) !== 0) subset = false;
          if ((mine & ~stored) !== 0) superset = false;
        }
        if (subset) return true;
        if (superset) {
          // The entry is dominated by this configuration, about to be recorded: drop it.
          bucket[i] = bucket[bucket.length - 1]!;
          bucket.pop();
          i--;
        }
      }
    }
    const size = 3 + (top - lo) + (total - knownWords);
    if (this.used + size > this.pool.length) {
      const bigger = new Uint32Array(Math.max(this.pool.length * 2, this.used + size));
      bigger.set(this.pool);
      this.pool = bigger;
    }
    const pool = this.pool;
    let p = this.used;
    bucket.push(p);
    pool[p++] = sid;
    pool[p++] = lo;
    pool[p++] = top;
    for (let w = lo; w < top; w++) pool[p++] = words[w]!;
    for (let w = knownWords; w < total; w++) pool[p++] = words[w]!;
    this.used = p;
    return false;
  }
}

/** Deterministic 32-bit hash constants for the linearized-set hash (mulberry32). */
function randomWords(n: number): Int32Array {
  const out = new Int32Array(n);
  let a = 0x2545f491;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = t ^ (t >>> 14);
  }
  return out;
}

function searchPartition<S, I, O>(
  model: Model<S, I, O>,
  part: readonly Operation<I, O>[],
  budget: Budget,
): Outcome {
  const n = part.length;

  // ---- Events, ordered by time; at equal times calls come first (a tie never orders two ops).
  const evOp: number[] = [];
  const evTime: number[] = [];
  const evCall: boolean[] = [];
  let known = 0;
  for (let i = 0; i < n; i++) {
    const op = part[i]!;
    evOp.push(i);
    evTime.push(op.call);
    evCall.push(true);
    if (Number.isFinite(op.ret)) {
      evOp.push(i);
      evTime.push(op.ret);
      evCall.push(false);
      known++;
    }
  }
  if (known === 0) return { kind: 'ok' };
  const m = evOp.length;
  const order = Array.from({ length: m }, (_, i) => i).sort(
    (a, b) =>
      evTime[a]! - evTime[b]! ||
      (evCall[a] === evCall[b] ? 0 : evCall[a] ? -1 : 1) ||
      evOp[a]! - evOp[b]! ||
      a - b,
  );

  // ---- Circular doubly linked list over nodes 1..m, node 0 is the head sentinel.
  const next = new Int32Array(m + 1);
  const prev = new Int32Array(m + 1);
  const nodeOp = new Int32Array(m + 1);
  const isCall = new Uint8Array(m + 1);
  const retNode = new Int32Array(n); // 0 = no return event (unknown outcome)
  for (let k = 0; k < m; k++) {
    const node = k + 1;
    const e = order[k]!;
    nodeOp[node] = evOp[e]!;
    isCall[node] = evCall[e] ? 1 : 0;
    if (!evCall[e]) retNode[evOp[e]!] = node;
    prev[node] = k;
    next[node] = k + 2 > m ? HEAD : k + 2;
  }
  next[HEAD] = 1;
  prev[HEAD] = m;

  const inputs = part.map((op) => op.input);
  const outputs = part.map((op) => op.output);

  // ---- The linearized set and the cache of explored (set, state) pairs.
  const linearized = new LinearizedSet(part);
  const explored = new ExploredCache(linearized);

  // ---- Search.
  const stackNode = new Int32Array(n);
  const stackState: S[] = new Array<S>(n);
  let sp = 0;
  const stackKey: string[] = new Array<string>(n);
  const forced = new Uint8Array(n);
  const readOnly = new Uint8Array(n);
  if (model.readOnly)
    for (let i = 0; i < n; i++) readOnly[i] = model.readOnly(part[i]!.input) ? 1 : 0;
  let state = model.init();
  let stateKey = model.key(state);
  let remaining = known;
  let bestDepth = -1;
  const bestPrefix: number[] = [];
  let lowWater = 0; // lowest stack depth since bestPrefix was last recorded
  let blocked = -1;
  let blockPending = false;

  /**
   * Undoes linearizations up to and including the last one that was a real choice; returns
   * the entry after it (the next candidate to try), or -1 when there is nothing left to undo.
   */
  const backtrack = (): number => {
    for (;;) {
      if (sp === 0) return -1;
      sp--;
      if (sp < lowWater) lowWater = sp;
      const c = stackNode[sp]!;
      state = stackState[sp]!;
      stateKey = stackKey[sp]!;
      const op = nodeOp[c]!;
      linearized.toggle(op);
      // unlift, in the reverse order of the lift
      const r = retNode[op]!;
      if (r !== 0) {
        next[prev[r]!] = r;
        prev[next[r]!] = r;
        remaining++;
      }
      next[prev[c]!] = c;
      prev[next[c]!] = c;
      if (forced[sp] === 0) {
        phase = late[op]!;
        return next[c]!;
      }
    }
  };
  const failure = (): Outcome => ({ kind: 'fail', prefix: bestPrefix, blocked });

  // Candidates are tried in two phases: operations with a known return (phase 0), then those
  // with an unknown outcome (phase 1), which are thus linearized only when nothing else helps.
  const late = new Uint8Array(n);
  for (let i = 0; i < n; i++) late[i] = retNode[i] === 0 ? 1 : 0;
  const hasUnknown = known < n;
  let phase = 0;

  const stepLimit = budget.maxSteps - budget.steps;
  let steps = 0;
  const timed = budget.now !== undefined && budget.deadline !== Number.POSITIVE_INFINITY;
  let entry = next[HEAD]!;
  try {
    for (;;) {
      if (entry !== HEAD && isCall[entry] === 1) {
        if (late[nodeOp[entry]!] !== phase) {
          entry = next[entry]!;
          continue;
        }
        if (steps >= stepLimit) return { kind: 'timeout' };
        steps++;
        if (timed && (steps & TIME_CHECK_MASK) === 0 && budget.now!() >= budget.deadline)
          return { kind: 'timeout' };
        const op = nodeOp[entry]!;
        const after = model.step(state, inputs[op]!, outputs[op]);
        if (after === undefined) {
          entry = next[entry]!;
          continue;
        }
        const afterKey = model.key(after);
        const noop = afterKey === stateKey;
        // An unknown-outcome operation that changes nothing here is never worth linearizing
        // here: leaving it out (or for later) explains at least as much.
        if (noop && retNode[op] === 0) {
          entry = next[entry]!;
          continue;
        }
        // A read-only operation that is legal now can be linearized now without loss: any
        // linearization that places it later still works with it moved here. So there is no
        // alternative to try at this point, and it is marked forced.
        const force = noop && readOnly[op] === 1;
        linearized.toggle(op);
        if (explored.visit(afterKey)) {
          linearized.toggle(op);
          if (force) {
            entry = backtrack();
            if (entry < 0) return failure();
          } else {
            entry = next[entry]!;
          }
          continue;
        }
        stackNode[sp] = entry;
        stackState[sp] = state;
        stackKey[sp] = stateKey;
        forced[sp] = force ? 1 : 0;
        sp++;
        state = after;
        stateKey = afterKey;
        // lift: take the call and its return (if any) out of the list
        next[prev[entry]!] = next[entry]!;
        prev[next[entry]!] = prev[entry]!;
        const r = retNode[op]!;
        if (r !== 0) {
          next[prev[r]!] = next[r]!;
          prev[next[r]!] = prev[r]!;
          if (--remaining === 0) return { kind: 'ok' };
        }
        if (sp > bestDepth) {
          // Copy only what changed since the last record: amortised O(1) per step.
          for (let i = lowWater; i < sp; i++) bestPrefix[i] = nodeOp[stackNode[i]!]!;
          bestPrefix.length = sp;
          bestDepth = sp;
          lowWater = sp;
          blockPending = true;
        }
        entry = next[HEAD]!;
        phase = 0;
      } else if (phase === 0 && hasUnknown) {
        // Known operations first; only then the unknown-outcome ones before the same return.
        phase = 1;
        entry = next[HEAD]!;
      } else {
        // A return event (or the end of the list): nothing before it extends the current
        // linearization, so undo the last choice and try the next candidate after it.
        if (blockPending) {
          blocked = entry === HEAD ? -1 : nodeOp[entry]!;
          blockPending = false;
        }
        if (bestDepth < 0 && entry !== HEAD) blocked = nodeOp[entry]!;
        entry = backtrack();
        if (entry < 0) return failure();
      }
    }
  } finally {
    budget.steps += steps;
  }
}
