import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorCode, FROM_KEY_END, type KeyValue, type RequestOp } from '@cairn/protocol';
import type { Member } from '../member.js';
import { b, openMember, s, tempDir, codeOf } from '../testing/harness.js';

/**
 * The store against a model that keeps a full snapshot per revision, over random operation
 * sequences with restarts in between.
 */
interface MKv {
  key: string;
  value: string;
  create: number;
  mod: number;
  version: number;
  lease: number;
}
type Snapshot = Map<string, MKv>;

class Model {
  /** Like etcd, an empty store is at revision 1: the first write makes revision 2. */
  static readonly FIRST = 1;
  /** snaps[i] is the state at revision FIRST + i. */
  snaps: Snapshot[] = [new Map()];
  compacted = 0;
  get rev(): number {
    return Model.FIRST + this.snaps.length - 1;
  }
  get cur(): Snapshot {
    return this.at(this.rev);
  }
  at(rev: number): Snapshot {
    return this.snaps[rev - Model.FIRST]!;
  }
  commit(next: Snapshot, changed: boolean): void {
    if (changed) this.snaps.push(next);
  }
}

const KEYS = ['a', 'ab', 'b', 'c', 'd'];
const inRange = (k: string, start: string, end: string | undefined): boolean =>
  end === undefined ? k === start : end === '\0' ? k >= start : k >= start && k < end;

type Op =
  | { kind: 'put'; key: string; value: string; lease: number }
  | { kind: 'del'; key: string; end: string | undefined }
  | { kind: 'txn'; key: string; version: number; then: Sub[]; else: Sub[] }
  | { kind: 'compact'; back: number }
  | { kind: 'range'; key: string; end: string | undefined; back: number; limit: number }
  | { kind: 'restart' };
type Sub = { put: string; value: string } | { del: string };

const keyArb = fc.constantFrom(...KEYS);
const endArb = fc.option(fc.constantFrom('b', 'c', 'e', '\0'), { nil: undefined });
const subArb: fc.Arbitrary<Sub> = fc.oneof(
  fc.record({ put: keyArb, value: fc.constantFrom('x', 'y', 'z') }),
  fc.record({ del: keyArb }),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('put' as const), key: keyArb, value: fc.string({ maxLength: 3 }), lease: fc.constantFrom(0, 0, 7) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('del' as const), key: keyArb, end: endArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('txn' as const), key: keyArb, version: fc.nat(3), then: fc.array(subArb, { maxLength: 3 }), else: fc.array(subArb, { maxLength: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('compact' as const), back: fc.nat(4) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('range' as const), key: keyArb, end: endArb, back: fc.nat(6), limit: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'restart' as const }) },
);

function modelPut(m: Model, snap: Snapshot, key: string, value: string, lease: number, rev: number): void {
  const prev = snap.get(key);
  snap.set(key, { key, value, lease, mod: rev, create: prev ? prev.create : rev, version: prev ? prev.version + 1 : 1 });
  void m;
}

function dupInBranch(subs: Sub[]): boolean {
  const puts = subs.flatMap((x) => ('put' in x ? [x.put] : []));
  const dels = subs.flatMap((x) => ('del' in x ? [x.del] : []));
  return new Set(puts).size !== puts.length || puts.some((k) => dels.includes(k));
}

const view = (kv: KeyValue): MKv => ({
  key: s(kv.key),
  value: s(kv.value),
  create: Number(kv.createRevision),
  mod: Number(kv.modRevision),
  version: Number(kv.version),
  lease: Number(kv.lease),
});

async function run(ops: Op[]): Promise<void> {
  const dir = tempDir();
  let member: Member = await openMember(dir.dir);
  // Puts use lease 7; leases are durable, so it outlives the restarts below.
  await member.leases.grant({ ttlSeconds: 3600, id: 7n });
  const model = new Model();
  try {
    expect(member.revision).toBe(BigInt(model.rev));
    for (const op of ops) {
      switch (op.kind) {
        case 'put': {
          const r = await member.propose({ put: { key: b(op.key), value: b(op.value), lease: BigInt(op.lease) } });
          const next = new Map(model.cur);
          modelPut(model, next, op.key, op.value, op.lease, model.rev + 1);
          model.commit(next, true);
          expect(r.header.revision).toBe(BigInt(model.rev));
          break;
        }
        case 'del': {
          const req = op.end === undefined ? { key: b(op.key) } : { key: b(op.key), rangeEnd: op.end === '\0' ? FROM_KEY_END : b(op.end) };
          const r = await member.propose({ deleteRange: req });
          const gone = [...model.cur.keys()].filter((k) => inRange(k, op.key, op.end));
          const next = new Map(model.cur);
          for (const k of gone) next.delete(k);
          model.commit(next, gone.length > 0);
          expect(r.deleted).toBe(gone.length);
          expect(r.header.revision).toBe(BigInt(model.rev));
          break;
        }
        case 'txn': {
          const toOp = (x: Sub): RequestOp => ('put' in x ? { put: { key: b(x.put), value: b(x.value) } } : { deleteRange: { key: b(x.del) } });
          const p = member.propose({
            txn: {
              compare: [{ key: b(op.key), target: 'version', value: BigInt(op.version), result: 'equal' }],
              success: op.then.map(toOp),
              failure: op.else.map(toOp),
            },
          });
          if (dupInBranch(op.then) || dupInBranch(op.else)) {
            expect(await codeOf(p)).toBe(ErrorCode.DuplicateKey);
            break;
          }
          const r = await p;
          const succeeded = (model.cur.get(op.key)?.version ?? 0) === op.version;
          expect(r.succeeded).toBe(succeeded);
          const next = new Map(model.cur);
          let changed = false;
          for (const x of succeeded ? op.then : op.else) {
            if ('put' in x) {
              modelPut(model, next, x.put, x.value, 0, model.rev + 1);
              changed = true;
            } else if (next.delete(x.del)) changed = true;
          }
          model.commit(next, changed);
          expect(r.header.revision).toBe(BigInt(model.rev));
          break;
        }
        case 'compact': {
          const at = model.rev - op.back;
          const code = await codeOf(member.propose({ compact: { revision: BigInt(at) } }));
          const expected = at <= model.compacted ? ErrorCode.Compacted : 'ok';
          expect(code).toBe(expected);
          if (expected === 'ok') model.compacted = at;
          break;
        }
        case 'range': {
          const at = model.rev + 1 - op.back; // may be the future, or 0 = current
          const req = {
            key: b(op.key),
            ...(op.end === undefined ? {} : { rangeEnd: op.end === '\0' ? FROM_KEY_END : b(op.end) }),
            revision: BigInt(Math.max(at, 0)),
            limit: op.limit,
          };
          const p = member.range(req);
          if (at > model.rev) {
            expect(await codeOf(p)).toBe(ErrorCode.FutureRevision);
            break;
          }
          const readAt = at <= 0 ? model.rev : at;
          if (at > 0 && at < model.compacted) {
            expect(await codeOf(p)).toBe(ErrorCode.Compacted);
            break;
          }
          const r = await p;
          const all = [...model.at(readAt).values()].filter((kv) => inRange(kv.key, op.key, op.end)).sort((x, y) => (x.key < y.key ? -1 : 1));
          const expectKvs = op.limit > 0 ? all.slice(0, op.limit) : all;
          expect(r.kvs.map(view)).toEqual(expectKvs);
          expect(r.count).toBe(all.length);
          expect(r.more).toBe(op.limit > 0 && all.length > op.limit);
          expect(r.header.revision).toBe(BigInt(model.rev));
          break;
        }
        case 'restart': {
          await member.close();
          member = await openMember(dir.dir);
          expect(member.revision).toBe(BigInt(model.rev));
          break;
        }
      }
    }
  } finally {
    await member.close();
    dir.cleanup();
  }
}

describe('store vs model', () => {
  it('agrees over random operation sequences with restarts', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 60, size: 'max' }), run), { numRuns: 100 });
    // 100 runs, each on a real RocksDB with fsyncs and restarts: ~10 s alone, 30 s or more
    // when the machine's two cores are busy with the rest of the suite.
  }, 180_000);
});
