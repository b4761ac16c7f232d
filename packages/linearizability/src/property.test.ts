// Property tests: on small random histories the checker must agree with a brute-force search
// over every order (and every subset of the unknown-outcome operations); on large histories
// built from a real sequential execution it must say linearizable.
import { describe, expect, it } from 'vitest';
import { checkHistory, kvModel, registerModel } from './index.js';
import type {
  KvInput,
  KvOutput,
  Model,
  Operation,
  RegisterInput,
  RegisterOutput,
  RegisterValue,
} from './index.js';
import { LinearizedSet } from './check.js';

/** mulberry32: a small seeded generator, so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/**
 * The definition, searched exhaustively: some order of all known operations plus some subset
 * of the unknown ones, respecting real time (a before b when a.ret < b.call), is legal.
 */
function bruteForce<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[]): boolean {
  const done = ops.map(() => false);
  const rec = (state: S, knownLeft: number): boolean => {
    if (knownLeft === 0) return true;
    for (let i = 0; i < ops.length; i++) {
      if (done[i]) continue;
      const op = ops[i]!;
      if (ops.some((o, j) => !done[j] && o.ret < op.call)) continue;
      const after = model.step(state, op.input, op.output);
      if (after === undefined) continue;
      done[i] = true;
      const ok = rec(after, knownLeft - (Number.isFinite(op.ret) ? 1 : 0));
      done[i] = false;
      if (ok) return true;
    }
    return false;
  };
  return rec(model.init(), ops.filter((o) => Number.isFinite(o.ret)).length);
}

/**
 * The same definition with memoisation over (set of operations done, state), and none of the
 * checker's pruning: usable on histories of up to ~16 operations.
 */
function reference<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[]): boolean {
  const n = ops.length;
  const knownMask = ops.reduce((m, o, i) => (Number.isFinite(o.ret) ? m | (1 << i) : m), 0);
  const failed = new Set<string>();
  const rec = (done: number, state: S): boolean => {
    if ((done & knownMask) === knownMask) return true;
    const memo = `${done}|${model.key(state)}`;
    if (failed.has(memo)) return false;
    for (let i = 0; i < n; i++) {
      if (done & (1 << i)) continue;
      const op = ops[i]!;
      if (ops.some((o, j) => !(done & (1 << j)) && o.ret < op.call)) continue;
      const after = model.step(state, op.input, op.output);
      if (after !== undefined && rec(done | (1 << i), after)) return true;
    }
    failed.add(memo);
    return false;
  };
  return rec(0, model.init());
}

/**
 * Runs `n` operations with random intervals, each taking effect at a random instant in its
 * interval (so the true history is linearizable), then maybe corrupts one answer.
 */
function randomHistory<I, O>(
  r: () => number,
  n: number,
  clients: number,
  span: number,
  exec: (r: () => number) => { input: I; output: O | undefined; wrong: () => O | undefined },
  opts: { unknownRate: number; corruptRate: number },
): Operation<I, O>[] {
  type Draft = { client: number; call: number; ret: number; at: number };
  const drafts: Draft[] = [];
  const free = new Array<number>(clients).fill(0);
  for (let i = 0; i < n; i++) {
    const client = Math.floor(r() * clients);
    const call = free[client]! + Math.floor(r() * span);
    const ret = call + Math.floor(r() * span);
    free[client] = ret + (r() < 0.3 ? 0 : 1); // sometimes the next call ties with this return
    drafts.push({ client, call, ret, at: call + r() * (ret - call) });
  }
  // Execute in effect order; an unknown-outcome operation may take effect or not.
  const order = drafts.map((_, i) => i).sort((a, b) => drafts[a]!.at - drafts[b]!.at);
  const ops: Operation<I, O>[] = new Array<Operation<I, O>>(n);
  const results: { input: I; output: O | undefined; wrong: () => O | undefined }[] = [];
  for (const i of order) {
    const d = drafts[i]!;
    const res = exec(r);
    results[i] = res;
    const unknown = r() < opts.unknownRate;
    ops[i] = unknown
      ? { client: d.client, input: res.input, call: d.call, ret: Number.POSITIVE_INFINITY }
      : res.output === undefined
        ? { client: d.client, input: res.input, call: d.call, ret: d.ret }
        : { client: d.client, input: res.input, call: d.call, ret: d.ret, output: res.output };
  }
  if (r() < opts.corruptRate) {
    const i = Math.floor(r() * n);
    const op = ops[i]!;
    const wrong = results[i]!.wrong();
    if (wrong !== undefined && Number.isFinite(op.ret)) ops[i] = { ...op, output: wrong };
  }
  return ops;
}

// A register execution; `unknown` operations still change the state here (they took effect).
function registerExec(values: readonly RegisterValue[]) {
  let reg: RegisterValue = null;
  return (
    r: () => number,
  ): {
    input: RegisterInput;
    output: RegisterOutput | undefined;
    wrong: () => RegisterOutput | undefined;
  } => {
    const k = r();
    if (k < 0.4) {
      const seen = reg;
      return {
        input: { kind: 'read' },
        output: seen,
        wrong: () =>
          pick(
            r,
            values.filter((v) => v !== seen),
          ),
      };
    }
    if (k < 0.75) {
      const value = pick(r, values);
      reg = value;
      return { input: { kind: 'write', value }, output: undefined, wrong: () => undefined };
    }
    const from = pick(r, [...values, null]);
    const to = pick(r, values);
    const ok = reg === from;
    if (ok) reg = to;
    return { input: { kind: 'cas', from, to }, output: ok, wrong: () => !ok };
  };
}

const show = (ops: readonly Operation<unknown, unknown>[]): string =>
  JSON.stringify(ops, (_k, v: unknown) => (v === Number.POSITIVE_INFINITY ? 'Infinity' : v));

/** The same model without its `readOnly` hint, to exercise the search without that pruning. */
function withoutHint<S, I, O>(model: Model<S, I, O>): Model<S, I, O> {
  const { readOnly: _hint, ...rest } = model;
  return rest;
}

/** The whole key-value map as one state, to check the kv model's partitioning against. */
const kvWhole: Model<Readonly<Record<string, string>>, KvInput, KvOutput> = {
  init: () => ({}),
  step(state, input, output) {
    const next = kvModel.step(state[input.key] ?? '', input, output);
    return next === undefined ? undefined : { ...state, [input.key]: next };
  },
  key: (state) =>
    JSON.stringify(
      Object.entries(state)
        .filter(([, v]) => v !== '')
        .sort(),
    ),
};

function kvExec(keys: readonly string[]) {
  const store = new Map<string, string>();
  return (
    r: () => number,
  ): { input: KvInput; output: KvOutput | undefined; wrong: () => KvOutput | undefined } => {
    const key = pick(r, keys);
    const cur = store.get(key) ?? '';
    const k = r();
    if (k < 0.4) return { input: { kind: 'get', key }, output: cur, wrong: () => cur + 'z' };
    if (k < 0.6) {
      const value = pick(r, ['a', 'b']);
      store.set(key, value);
      return { input: { kind: 'put', key, value }, output: undefined, wrong: () => undefined };
    }
    if (k < 0.9) {
      const value = pick(r, ['a', 'b']);
      store.set(key, cur + value);
      return { input: { kind: 'append', key, value }, output: undefined, wrong: () => undefined };
    }
    const from = pick(r, ['', 'a', cur]);
    const ok = cur === from;
    if (ok) store.set(key, 'c');
    return { input: { kind: 'cas', key, from, to: 'c' }, output: ok, wrong: () => !ok };
  };
}

describe('checkHistory agrees with brute force', () => {
  it('on 3000 small register histories', () => {
    const r = rng(1);
    const tally = { linearizable: 0, 'not-linearizable': 0 };
    for (let t = 0; t < 3000; t++) {
      const n = 1 + Math.floor(r() * 7);
      const ops = randomHistory(r, n, 1 + Math.floor(r() * 3), 4, registerExec([1, 2]), {
        unknownRate: 0.2,
        corruptRate: 0.5,
      });
      const want = bruteForce(registerModel, ops) ? 'linearizable' : 'not-linearizable';
      const got = checkHistory(registerModel, ops).verdict;
      const gotPlain = checkHistory(withoutHint(registerModel), ops).verdict;
      if (got !== want || gotPlain !== want)
        expect.fail(
          `history ${t}: got ${got} (${gotPlain} without readOnly), want ${want}: ${JSON.stringify(ops, (_k, v: unknown) => (v === Number.POSITIVE_INFINITY ? 'Infinity' : v))}`,
        );
      tally[want]++;
    }
    expect(tally.linearizable).toBeGreaterThan(500);
    expect(tally['not-linearizable']).toBeGreaterThan(500);
  });

  it('on 1500 small kv histories, checked whole by brute force and by key by the checker', () => {
    const r = rng(2);
    const tally = { linearizable: 0, 'not-linearizable': 0 };
    for (let t = 0; t < 1500; t++) {
      const n = 1 + Math.floor(r() * 7);
      const ops = randomHistory(r, n, 1 + Math.floor(r() * 3), 4, kvExec(['x', 'y']), {
        unknownRate: 0.2,
        corruptRate: 0.5,
      });
      const want = bruteForce(kvWhole, ops) ? 'linearizable' : 'not-linearizable';
      const got = checkHistory(kvModel, ops).verdict;
      const gotPlain = checkHistory(withoutHint(kvModel), ops).verdict;
      if (got !== want || gotPlain !== want)
        expect.fail(
          `history ${t}: got ${got} (${gotPlain} without readOnly), want ${want}: ${JSON.stringify(ops, (_k, v: unknown) => (v === Number.POSITIVE_INFINITY ? 'Infinity' : v))}`,
        );
      tally[want]++;
    }
    expect(tally.linearizable).toBeGreaterThan(300);
    expect(tally['not-linearizable']).toBeGreaterThan(300);
  });
});

describe('checkHistory agrees with an unpruned memoised search', () => {
  it('on 4000 medium register histories with many unknown outcomes', () => {
    const r = rng(5);
    const tally = { linearizable: 0, 'not-linearizable': 0 };
    for (let t = 0; t < 4000; t++) {
      const n = 6 + Math.floor(r() * 10);
      const ops = randomHistory(r, n, 2 + Math.floor(r() * 4), 4, registerExec([1, 2, 3]), {
        unknownRate: r() * 0.5,
        corruptRate: 0.5,
      });
      const want = reference(registerModel, ops) ? 'linearizable' : 'not-linearizable';
      const got = checkHistory(registerModel, ops).verdict;
      const gotPlain = checkHistory(withoutHint(registerModel), ops).verdict;
      if (got !== want || gotPlain !== want)
        expect.fail(
          `history ${t}: got ${got} (${gotPlain} without readOnly), want ${want}: ${show(ops)}`,
        );
      tally[want]++;
    }
    expect(tally.linearizable).toBeGreaterThan(500);
    expect(tally['not-linearizable']).toBeGreaterThan(500);
  });

  it('on 2000 medium kv histories', () => {
    const r = rng(6);
    const tally = { linearizable: 0, 'not-linearizable': 0 };
    for (let t = 0; t < 2000; t++) {
      const n = 6 + Math.floor(r() * 10);
      const ops = randomHistory(r, n, 2 + Math.floor(r() * 4), 4, kvExec(['x', 'y']), {
        unknownRate: r() * 0.5,
        corruptRate: 0.5,
      });
      const want = reference(kvWhole, ops) ? 'linearizable' : 'not-linearizable';
      const got = checkHistory(kvModel, ops).verdict;
      if (got !== want) expect.fail(`history ${t}: got ${got}, want ${want}: ${show(ops)}`);
      tally[want]++;
    }
    expect(tally.linearizable).toBeGreaterThan(250);
    expect(tally['not-linearizable']).toBeGreaterThan(250);
  });
});

describe('checkHistory on large linearizable histories', () => {
  it('accepts long concurrent register histories with unknown outcomes', () => {
    const r = rng(3);
    for (const [n, clients, unknownRate] of [
      [2000, 5, 0],
      [2000, 10, 0.05],
      [5000, 20, 0.01],
    ] as const) {
      const ops = randomHistory(r, n, clients, 6, registerExec([1, 2, 3, 4, 5]), {
        unknownRate,
        corruptRate: 0,
      });
      const res = checkHistory(registerModel, ops, {
        timeoutMs: 20_000,
        now: () => performance.now(),
      });
      expect(res.verdict, `${n} ops, ${clients} clients`).toBe('linearizable');
    }
  });
});

describe('LinearizedSet', () => {
  it('keeps its hash, leading-full and top words consistent with its bits', () => {
    const r = rng(4);
    const n = 300;
    const part = Array.from({ length: n }, (_, i) => ({
      client: 0,
      input: null,
      call: i,
      ret: r() < 0.1 ? Number.POSITIVE_INFINITY : i + 1,
    }));
    const set = new LinearizedSet(part);
    const members = new Set<number>();
    for (let t = 0; t < 20_000; t++) {
      // mostly fill from the front, like a search does, with some noise
      const op =
        r() < 0.7 ? Math.min(n - 1, members.size + Math.floor(r() * 8)) : Math.floor(r() * n);
      set.toggle(op);
      if (members.has(op)) members.delete(op);
      else members.add(op);
      let full = 0;
      while (full < set.knownWords && set.words[full] === 0xffffffff) full++;
      let top = set.knownWords;
      while (top > 0 && set.words[top - 1] === 0) top--;
      expect(set.full).toBe(full);
      expect(set.top).toBe(top);
    }
    // toggling everything off again returns to the empty set and hash 0
    for (const op of members) set.toggle(op);
    expect(set.hash).toBe(0);
    expect([...set.words].every((w) => w === 0)).toBe(true);
  });
});
