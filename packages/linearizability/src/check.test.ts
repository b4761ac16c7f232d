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

type RegOp = Operation<RegisterInput, RegisterOutput>;
const U = Number.POSITIVE_INFINITY;

// Tiny constructors: [call, ret]; ret = U for an unknown outcome.
const write = (value: RegisterValue, call: number, ret: number, client = 0): RegOp => ({
  client,
  input: { kind: 'write', value },
  call,
  ret,
});
const read = (value: RegisterValue, call: number, ret: number, client = 1): RegOp => ({
  client,
  input: { kind: 'read' },
  call,
  ret,
  output: value,
});
const cas = (
  from: RegisterValue,
  to: RegisterValue,
  ok: boolean | undefined,
  call: number,
  ret: number,
  client = 2,
): RegOp =>
  ok === undefined
    ? { client, input: { kind: 'cas', from, to }, call, ret }
    : { client, input: { kind: 'cas', from, to }, call, ret, output: ok };

const verdict = (ops: RegOp[]): string => checkHistory(registerModel, ops).verdict;

describe('checkHistory on a register', () => {
  it('accepts the empty history', () => {
    expect(checkHistory(registerModel, [])).toMatchObject({
      verdict: 'linearizable',
      partitions: 1,
    });
  });

  it('accepts a sequential history and rejects a wrong read in it', () => {
    expect(verdict([write(1, 0, 1), read(1, 2, 3), write(2, 4, 5), read(2, 6, 7)])).toBe(
      'linearizable',
    );
    expect(verdict([write(1, 0, 1), read(1, 2, 3), write(2, 4, 5), read(1, 6, 7)])).toBe(
      'not-linearizable',
    );
  });

  it('rejects a stale read after a completed write', () => {
    expect(verdict([write(1, 0, 1), read(null, 2, 3)])).toBe('not-linearizable');
    expect(verdict([write(1, 0, 1), write(2, 2, 3), read(1, 4, 5)])).toBe('not-linearizable');
  });

  it('accepts a read overlapping a write in either order', () => {
    expect(verdict([write(1, 0, 3), read(null, 1, 2)])).toBe('linearizable');
    expect(verdict([write(1, 0, 3), read(1, 1, 2)])).toBe('linearizable');
    expect(verdict([read(1, 0, 3), write(1, 1, 2)])).toBe('linearizable');
  });

  it('rejects a read of a value nobody wrote', () => {
    expect(verdict([write(1, 0, 3), read(7, 1, 2)])).toBe('not-linearizable');
  });

  it('rejects reads that see two overlapping writes take effect in both orders', () => {
    const ops = [
      write(1, 0, 10, 0),
      write(2, 0, 10, 1),
      read(1, 1, 2, 2),
      read(2, 3, 4, 2),
      read(1, 5, 6, 3),
    ];
    expect(verdict(ops)).toBe('not-linearizable');
    expect(verdict(ops.slice(0, 4))).toBe('linearizable');
    // once both writes have returned, the value cannot change any more
    expect(verdict([...ops.slice(0, 4), read(1, 11, 12, 3)])).toBe('not-linearizable');
    expect(verdict([...ops.slice(0, 4), read(2, 11, 12, 3)])).toBe('linearizable');
  });

  it('lets an unknown-outcome write take effect later, when it is observed', () => {
    expect(verdict([write(1, 0, U), read(null, 5, 6), read(1, 7, 8)])).toBe('linearizable');
    expect(verdict([write(1, 0, U), read(1, 100, 101)])).toBe('linearizable');
  });

  it('lets an unknown-outcome write never take effect', () => {
    expect(verdict([write(1, 0, U), read(null, 5, 6), read(null, 50, 60)])).toBe('linearizable');
  });

  it('does not let an unknown-outcome write take effect before its call, or be undone', () => {
    expect(verdict([read(1, 0, 1), write(1, 2, U)])).toBe('not-linearizable');
    expect(verdict([write(1, 0, U), read(1, 5, 6), read(null, 7, 8)])).toBe('not-linearizable');
  });

  it('requires a completed operation with no recorded output to take effect', () => {
    expect(verdict([write(1, 0, 1), read(null, 2, 3)])).toBe('not-linearizable');
  });

  it('checks cas results', () => {
    expect(verdict([write(1, 0, 1), cas(1, 2, true, 2, 3), read(2, 4, 5)])).toBe('linearizable');
    expect(verdict([write(1, 0, 1), cas(1, 2, false, 2, 3)])).toBe('not-linearizable');
    expect(verdict([write(1, 0, 1), cas(0, 2, false, 2, 3), read(1, 4, 5)])).toBe('linearizable');
    expect(verdict([write(1, 0, 1), cas(0, 2, true, 2, 3)])).toBe('not-linearizable');
    expect(verdict([cas(null, 5, true, 0, 1), read(5, 2, 3)])).toBe('linearizable');
  });

  it('treats an unknown cas as swapping (if the value matches) at some point, or never', () => {
    expect(verdict([write(1, 0, 1), cas(1, 2, undefined, 2, U), read(2, 4, 5)])).toBe(
      'linearizable',
    );
    expect(
      verdict([write(1, 0, 1), cas(1, 2, undefined, 2, U), read(1, 4, 5), read(2, 6, 7)]),
    ).toBe('linearizable');
    expect(verdict([write(1, 0, 1), cas(1, 2, undefined, 2, U), read(1, 4, 5)])).toBe(
      'linearizable',
    );
    expect(
      verdict([write(1, 0, 1), cas(1, 2, undefined, 2, U), read(2, 4, 5), read(1, 6, 7)]),
    ).toBe('not-linearizable');
    // the register never held 1 after the cas was called: it cannot have swapped
    expect(verdict([write(3, 0, 1), cas(1, 2, undefined, 2, U), read(2, 4, 5)])).toBe(
      'not-linearizable',
    );
    // ... unless an unknown write of 1 took effect first
    expect(
      verdict([write(3, 0, 1), write(1, 0, U, 5), cas(1, 2, undefined, 2, U), read(2, 4, 5)]),
    ).toBe('linearizable');
  });

  it('treats equal timestamps as overlapping', () => {
    expect(verdict([write(1, 0, 5), read(null, 5, 6)])).toBe('linearizable');
    expect(verdict([write(1, 0, 4), read(null, 5, 6)])).toBe('not-linearizable');
    expect(verdict([write(1, 3, 3), read(null, 3, 3)])).toBe('linearizable');
  });

  it('reports the longest linearizable prefix and the operation that could not follow it', () => {
    const ops = [write(1, 0, 1), read(1, 2, 3), write(2, 4, 5), read(1, 6, 7)];
    const r = checkHistory(registerModel, ops);
    expect(r.verdict).toBe('not-linearizable');
    expect(r.failure?.partition).toBe(0);
    expect(r.failure?.longestPrefixIndices).toEqual([0, 1, 2]);
    expect(r.failure?.longestPrefix).toEqual([
      'client 0: write 1 [0, 1]',
      'client 1: read -> 1 [2, 3]',
      'client 0: write 2 [4, 5]',
    ]);
    expect(r.failure?.blockedBy).toBe('client 1: read -> 1 [6, 7]');
  });

  it('returns unknown when the step budget or the time runs out, not a wrong verdict', () => {
    // 14 concurrent writes, then a read of a value none of them wrote: refuting it means
    // exploring every subset of the writes.
    const ops: RegOp[] = Array.from({ length: 14 }, (_, i) => write(i, 0, 10, i));
    ops.push(read(99, 11, 12, 99));
    const full = checkHistory(registerModel, ops);
    expect(full.verdict).toBe('not-linearizable');
    expect(full.steps).toBeGreaterThan(10_000);

    const capped = checkHistory(registerModel, ops, { maxSteps: 1000 });
    expect(capped).toMatchObject({ verdict: 'unknown', steps: 1000 });
    expect(capped.failure).toBeUndefined();

    let t = 0;
    const slow = checkHistory(registerModel, ops, { timeoutMs: 3, now: () => t++ });
    expect(slow.verdict).toBe('unknown');
    expect(slow.elapsedMs).toBeGreaterThanOrEqual(3);

    const roomy = checkHistory(registerModel, ops, {
      timeoutMs: 60_000,
      now: () => performance.now(),
    });
    expect(roomy.verdict).toBe('not-linearizable');
    expect(roomy.elapsedMs).toBeTypeOf('number');
  });

  it('insists on a clock for a timeout, and on sane times', () => {
    expect(() => checkHistory(registerModel, [], { timeoutMs: 10 })).toThrow(/options.now/);
    expect(() => checkHistory(registerModel, [write(1, 5, 4)])).toThrow(RangeError);
    expect(() => checkHistory(registerModel, [write(1, Number.NaN, 4)])).toThrow(RangeError);
    expect(() => checkHistory(registerModel, [write(1, U, U)])).toThrow(RangeError);
  });

  it('handles a deep sequential history iteratively', () => {
    const ops: RegOp[] = [];
    for (let i = 0; i < 50_000; i++)
      ops.push(i % 2 === 0 ? write(i, 2 * i, 2 * i + 1) : read(i - 1, 2 * i, 2 * i + 1));
    expect(verdict(ops)).toBe('linearizable');
    ops.push(read(0, 200_000, 200_001));
    const r = checkHistory(registerModel, ops);
    expect(r.verdict).toBe('not-linearizable');
    expect(r.failure?.longestPrefix).toHaveLength(50_000);
  });

  it('works with a model that has no partition or describe', () => {
    const counter: Model<number, 'inc' | 'get', number> = {
      init: () => 0,
      step: (s, input, out) =>
        input === 'inc' ? s + 1 : out === undefined || out === s ? s : undefined,
      key: (s) => String(s),
    };
    const ops: Operation<'inc' | 'get', number>[] = [
      { client: 0, input: 'inc', call: 0, ret: 2 },
      { client: 1, input: 'inc', call: 1, ret: 3 },
      { client: 2, input: 'get', call: 4, ret: 5, output: 1 },
    ];
    const r = checkHistory(counter, ops);
    expect(r.verdict).toBe('not-linearizable');
    expect(r.failure?.blockedBy).toBe('client 2: "get" -> 1 [4, 5]');
    expect(
      checkHistory(counter, [
        ...ops.slice(0, 2),
        { client: 2, input: 'get', call: 4, ret: 5, output: 2 },
      ]).verdict,
    ).toBe('linearizable');
  });
});

describe('checkHistory on the kv model', () => {
  type KvOp = Operation<KvInput, KvOutput>;
  const op = (
    client: number,
    input: KvInput,
    call: number,
    ret: number,
    output?: KvOutput,
  ): KvOp =>
    output === undefined ? { client, input, call, ret } : { client, input, call, ret, output };

  it('checks each key on its own, starting from the empty string', () => {
    const ops: KvOp[] = [
      op(0, { kind: 'get', key: 'a' }, 0, 1, ''),
      op(0, { kind: 'append', key: 'a', value: 'x' }, 2, 3),
      op(1, { kind: 'put', key: 'b', value: 'p' }, 2, 6),
      op(0, { kind: 'append', key: 'a', value: 'y' }, 4, 5),
      op(1, { kind: 'get', key: 'a' }, 6, 7, 'xy'),
      op(2, { kind: 'get', key: 'b' }, 3, 4, 'p'),
    ];
    expect(checkHistory(kvModel, ops)).toMatchObject({ verdict: 'linearizable', partitions: 2 });
    const bad = [...ops, op(2, { kind: 'get', key: 'b' }, 7, 8, '')];
    const r = checkHistory(kvModel, bad);
    expect(r.verdict).toBe('not-linearizable');
    expect(r.failure?.partition).toBe(1);
    expect(r.failure?.blockedBy).toBe('client 2: get "b" -> "" [7, 8]');
  });

  it('supports delete and cas', () => {
    const ops: KvOp[] = [
      op(0, { kind: 'put', key: 'k', value: 'v' }, 0, 1),
      op(0, { kind: 'cas', key: 'k', from: 'v', to: 'w' }, 2, 3, true),
      op(0, { kind: 'cas', key: 'k', from: 'v', to: 'z' }, 4, 5, false),
      op(0, { kind: 'delete', key: 'k' }, 6, 7),
      op(0, { kind: 'get', key: 'k' }, 8, 9, ''),
    ];
    expect(checkHistory(kvModel, ops).verdict).toBe('linearizable');
    expect(
      checkHistory(kvModel, ops.slice(0, 2).concat(op(1, { kind: 'get', key: 'k' }, 4, 5, 'v')))
        .verdict,
    ).toBe('not-linearizable');
  });

  it('has no partitions for an empty history', () => {
    expect(checkHistory(kvModel, [])).toMatchObject({ verdict: 'linearizable', partitions: 0 });
  });
});

describe('the example in docs/linearizability.md', () => {
  it('gives the documented result', () => {
    const ops: Operation<KvInput, KvOutput>[] = [
      { client: 1, input: { kind: 'put', key: 'a', value: '1' }, call: 0, ret: 10 },
      { client: 2, input: { kind: 'get', key: 'a' }, call: 5, ret: 8, output: '' },
      { client: 2, input: { kind: 'get', key: 'a' }, call: 12, ret: 13, output: '' },
      {
        client: 3,
        input: { kind: 'put', key: 'b', value: 'x' },
        call: 1,
        ret: Number.POSITIVE_INFINITY,
      },
    ];
    const result = checkHistory(kvModel, ops, { timeoutMs: 10_000, now: () => performance.now() });
    expect(result).toMatchObject({ verdict: 'not-linearizable', partitions: 2 });
    expect(result.failure?.longestPrefix).toEqual([
      'client 2: get "a" -> "" [5, 8]',
      'client 1: put "a" "1" [0, 10]',
    ]);
    expect(result.failure?.longestPrefixIndices).toEqual([1, 0]);
    expect(result.failure?.blockedBy).toBe('client 2: get "a" -> "" [12, 13]');
  });
});

describe('the time budget across partitions', () => {
  it('runs out between many small partitions too', () => {
    const ops: Operation<KvInput, KvOutput>[] = [];
    for (let k = 0; k < 100; k++) {
      ops.push({
        client: 0,
        input: { kind: 'put', key: `k${k}`, value: 'v' },
        call: 2 * k,
        ret: 2 * k + 1,
      });
    }
    let t = 0;
    const r = checkHistory(kvModel, ops, { timeoutMs: 10, now: () => t++ });
    expect(r).toMatchObject({ verdict: 'unknown', partitions: 100 });
    expect(checkHistory(kvModel, ops, { timeoutMs: 1000, now: () => t++ }).verdict).toBe(
      'linearizable',
    );
  });
});
