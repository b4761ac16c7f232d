import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CairnError, ErrorCode, FROM_KEY_END, prefixEnd, type KeyValue } from '@cairn/protocol';
import type { Member } from '../member.js';
import type { StoreEvent } from './store.js';
import { b, openMember, s, tempDir, codeOf } from '../testing/harness.js';

let dir: { dir: string; cleanup: () => void };
let m: Member;

beforeEach(async () => {
  dir = tempDir();
  m = await openMember(dir.dir);
  // Leases the tests attach keys to (a grant makes no revision).
  for (const id of [1n, 3n, 5n, 7n, 9n]) await m.leases.grant({ ttlSeconds: 3600, id });
});
afterEach(async () => {
  await m.close();
  dir.cleanup();
});

const put = (k: string, v: string, extra: object = {}) => m.propose({ put: { key: b(k), value: b(v), ...extra } });
const del = (k: string, end?: Uint8Array, extra: object = {}) =>
  m.propose({ deleteRange: end === undefined ? { key: b(k), ...extra } : { key: b(k), rangeEnd: end, ...extra } });
const keys = (kvs: KeyValue[]) => kvs.map((kv) => s(kv.key));
describe('revisions and versions', () => {
  it('starts at revision 1 like etcd and bumps main once per write', async () => {
    expect(m.revision).toBe(1n);
    expect(m.visibleRevision).toBe(1n);
    const empty = await m.range({ key: FROM_KEY_END, rangeEnd: FROM_KEY_END });
    expect(empty).toMatchObject({ kvs: [], count: 0 });
    expect(empty.header.revision).toBe(1n);
    const r1 = await put('a', '1');
    expect(r1.header.revision).toBe(2n);
    const r2 = await put('a', '2');
    expect(r2.header.revision).toBe(3n);
    const { kvs } = await m.range({ key: b('a') });
    expect(kvs[0]).toMatchObject({ createRevision: 2n, modRevision: 3n, version: 2n, lease: 0n });
    expect(s(kvs[0]!.value)).toBe('2');
  });

  it('resets version and create revision after delete and re-create', async () => {
    await put('k', 'v1'); // 2
    await put('k', 'v2'); // 3
    const d = await del('k'); // 4
    expect(d.deleted).toBe(1);
    expect(d.header.revision).toBe(4n);
    expect((await m.range({ key: b('k') })).kvs).toEqual([]);
    await put('k', 'v3'); // 5
    const kv = (await m.range({ key: b('k') })).kvs[0]!;
    expect(kv).toMatchObject({ createRevision: 5n, modRevision: 5n, version: 1n });
    // history is still readable
    const old = (await m.range({ key: b('k'), revision: 3n })).kvs[0]!;
    expect(old).toMatchObject({ createRevision: 2n, modRevision: 3n, version: 2n });
    expect((await m.range({ key: b('k'), revision: 4n })).kvs).toEqual([]);
    // revision 1, the empty store, is readable too
    expect((await m.range({ key: b('k'), revision: 1n })).kvs).toEqual([]);
  });

  it('a delete that deletes nothing does not bump the revision', async () => {
    await put('a', '1');
    const d = await del('zzz');
    expect(d.deleted).toBe(0);
    expect(d.header.revision).toBe(2n);
    expect(m.revision).toBe(2n);
  });

  it('put returns prevKv on request; delete returns prevKvs', async () => {
    await put('a', '1');
    const p = await put('a', '2', { prevKv: true });
    expect(s(p.prevKv!.value)).toBe('1');
    const fresh = await put('b', '1', { prevKv: true });
    expect(fresh.prevKv).toBeUndefined();
    const d = await del('a', b('c'), { prevKv: true });
    expect(d.deleted).toBe(2);
    expect(keys(d.prevKvs!)).toEqual(['a', 'b']);
  });

  it('ignoreValue and ignoreLease keep the current ones and need the key', async () => {
    await put('a', 'keep', { lease: 7n });
    await m.propose({ put: { key: b('a'), value: b(''), ignoreValue: true } });
    let kv = (await m.range({ key: b('a') })).kvs[0]!;
    expect(s(kv.value)).toBe('keep');
    expect(kv.lease).toBe(0n);
    await put('a', 'new', { lease: 9n });
    await m.propose({ put: { key: b('a'), value: b('newer'), ignoreLease: true } });
    kv = (await m.range({ key: b('a') })).kvs[0]!;
    expect(kv.lease).toBe(9n);
    expect(await codeOf(m.propose({ put: { key: b('nope'), ignoreValue: true } }))).toBe(ErrorCode.KeyNotFound);
    expect(await codeOf(m.propose({ put: { key: b('nope'), value: b('x'), ignoreLease: true } }))).toBe(ErrorCode.KeyNotFound);
    expect(await codeOf(m.propose({ put: { key: b('a'), value: b('x'), ignoreValue: true } }))).toBe(ErrorCode.InvalidArgument);
    expect(await codeOf(m.propose({ put: { key: b('a'), lease: 3n, ignoreLease: true } }))).toBe(ErrorCode.InvalidArgument);
    expect(await codeOf(m.propose({ put: { key: new Uint8Array(0), value: b('x') } }))).toBe(ErrorCode.EmptyKey);
  });
});

describe('range', () => {
  beforeEach(async () => {
    // rev 3..7: a=1 ab=2 b=3 c=4 d=5 (rev 2 is x, deleted at 8)
    await put('x', 'gone');
    await put('a', '1');
    await put('ab', '2');
    await put('b', '3');
    await put('c', '4');
    await put('d', '5');
    await del('x');
    await put('b', '33'); // rev 9, b version 2
  });

  it('single key, [key, end), prefix, from-key and all keys', async () => {
    expect(keys((await m.range({ key: b('b') })).kvs)).toEqual(['b']);
    expect(keys((await m.range({ key: b('a'), rangeEnd: b('c') })).kvs)).toEqual(['a', 'ab', 'b']);
    expect(keys((await m.range({ key: b('a'), rangeEnd: prefixEnd(b('a')) })).kvs)).toEqual(['a', 'ab']);
    expect(keys((await m.range({ key: b('b'), rangeEnd: FROM_KEY_END })).kvs)).toEqual(['b', 'c', 'd']);
    expect(keys((await m.range({ key: FROM_KEY_END, rangeEnd: FROM_KEY_END })).kvs)).toEqual(['a', 'ab', 'b', 'c', 'd']);
    expect((await m.range({ key: b('c'), rangeEnd: b('a') })).kvs).toEqual([]);
  });

  it('limit, more and count', async () => {
    const r = await m.range({ key: b('a'), rangeEnd: FROM_KEY_END, limit: 2 });
    expect(keys(r.kvs)).toEqual(['a', 'ab']);
    expect(r.more).toBe(true);
    expect(r.count).toBe(5);
    const all = await m.range({ key: b('a'), rangeEnd: FROM_KEY_END, limit: 5 });
    expect(all.more).toBe(false);
    const c = await m.range({ key: b('a'), rangeEnd: FROM_KEY_END, countOnly: true });
    expect(c).toMatchObject({ kvs: [], count: 5, more: false });
  });

  it('keysOnly drops values', async () => {
    const r = await m.range({ key: b('a'), rangeEnd: b('b'), keysOnly: true });
    expect(r.kvs.map((kv) => kv.value.length)).toEqual([0, 0]);
    expect(r.kvs[0]!.modRevision).toBe(3n);
  });

  it('sorts by every target; none with a non-key target ascends', async () => {
    const all = { key: FROM_KEY_END, rangeEnd: FROM_KEY_END };
    expect(keys((await m.range({ ...all, sortOrder: 'descend' })).kvs)).toEqual(['d', 'c', 'b', 'ab', 'a']);
    expect(keys((await m.range({ ...all, sortTarget: 'mod', sortOrder: 'descend' })).kvs)).toEqual(['b', 'd', 'c', 'ab', 'a']);
    expect(keys((await m.range({ ...all, sortTarget: 'mod' })).kvs)).toEqual(['a', 'ab', 'c', 'd', 'b']);
    expect(keys((await m.range({ ...all, sortTarget: 'create', sortOrder: 'ascend' })).kvs)).toEqual(['a', 'ab', 'b', 'c', 'd']);
    expect(keys((await m.range({ ...all, sortTarget: 'version', sortOrder: 'descend' })).kvs)[0]).toBe('b');
    expect(keys((await m.range({ ...all, sortTarget: 'value', sortOrder: 'descend' })).kvs)).toEqual(['d', 'c', 'b', 'ab', 'a']);
    const lim = await m.range({ ...all, sortTarget: 'mod', sortOrder: 'descend', limit: 2 });
    expect(keys(lim.kvs)).toEqual(['b', 'd']);
    expect(lim.more).toBe(true);
    expect(lim.count).toBe(5);
  });

  it('filters on min/max mod and create revision', async () => {
    const all = { key: FROM_KEY_END, rangeEnd: FROM_KEY_END };
    expect(keys((await m.range({ ...all, minModRevision: 6n })).kvs)).toEqual(['b', 'c', 'd']);
    expect(keys((await m.range({ ...all, maxModRevision: 4n })).kvs)).toEqual(['a', 'ab']);
    expect(keys((await m.range({ ...all, minCreateRevision: 5n, maxCreateRevision: 6n })).kvs)).toEqual(['b', 'c']);
    const r = await m.range({ ...all, minModRevision: 6n, limit: 1 });
    expect(keys(r.kvs)).toEqual(['b']);
    expect(r.more).toBe(true);
    expect(r.count).toBe(5);
  });

  it('reads at a past revision; header carries the current one', async () => {
    const r = await m.range({ key: FROM_KEY_END, rangeEnd: FROM_KEY_END, revision: 4n });
    expect(keys(r.kvs)).toEqual(['a', 'ab', 'x']);
    expect(r.header.revision).toBe(9n);
    const v1 = await m.range({ key: b('b'), revision: 8n });
    expect(s(v1.kvs[0]!.value)).toBe('3');
    expect(await codeOf(m.range({ key: b('a'), revision: 10n }))).toBe(ErrorCode.FutureRevision);
  });
});

describe('txn', () => {
  beforeEach(async () => {
    await put('k', 'v'); // rev 2: k version 1 create 2 mod 2
    await put('k', 'v2'); // rev 3
    await put('l', 'w', { lease: 5n }); // rev 4
  });

  const txn = (compare: object[], success: object[] = [{ put: { key: b('s'), value: b('1') } }], failure: object[] = [{ put: { key: b('f'), value: b('1') } }]) =>
    m.propose({ txn: { compare, success, failure } as never });

  it.each([
    ['value', b('v2'), 'equal', true],
    ['value', b('v2'), 'not_equal', false],
    ['value', b('v1'), 'greater', true],
    ['value', b('v3'), 'less', true],
    ['version', 2n, 'equal', true],
    ['version', 1n, 'greater', true],
    ['version', 3n, 'less', true],
    ['version', 2n, 'not_equal', false],
    ['create', 2n, 'equal', true],
    ['create', 2n, 'greater', false],
    ['create', 1n, 'greater', true],
    ['mod', 3n, 'equal', true],
    ['mod', 4n, 'less', true],
    ['mod', 3n, 'less', false],
    ['lease', 0n, 'equal', true],
    ['lease', 1n, 'less', true],
  ])('compare %s %s %s on k -> %s', async (target, value, result, expected) => {
    const r = await txn([{ key: b('k'), target, value, result }]);
    expect(r.succeeded).toBe(expected);
    expect((await m.range({ key: b(expected ? 's' : 'f') })).count).toBe(1);
  });

  it('compares on a missing key: value fails, others see zero', async () => {
    expect((await txn([{ key: b('none'), target: 'value', value: b(''), result: 'equal' }])).succeeded).toBe(false);
    expect((await txn([{ key: b('none'), target: 'version', value: 0n, result: 'equal' }])).succeeded).toBe(true);
    expect((await txn([{ key: b('none'), target: 'create', value: 0n, result: 'equal' }])).succeeded).toBe(true);
    expect((await txn([{ key: b('none'), target: 'lease', value: 0n, result: 'equal' }])).succeeded).toBe(true);
  });

  it('a range compare holds only if it holds for every key', async () => {
    // k (lease 0), l (lease 5)
    expect((await txn([{ key: b('k'), rangeEnd: b('m'), target: 'version', value: 0n, result: 'greater' }])).succeeded).toBe(true);
    expect((await txn([{ key: b('k'), rangeEnd: b('m'), target: 'lease', value: 0n, result: 'equal' }])).succeeded).toBe(false);
    expect((await txn([{ key: b('k'), rangeEnd: b('m'), target: 'lease', value: 5n, result: 'less' }])).succeeded).toBe(false);
  });

  it('is one revision; reads inside see earlier writes; responses per op', async () => {
    const r = await m.propose({
      txn: {
        compare: [],
        success: [
          { put: { key: b('t1'), value: b('a') } },
          { range: { key: b('t1') } },
          { deleteRange: { key: b('k'), prevKv: true } },
          { range: { key: b('k') } },
          { put: { key: b('t2'), value: b('b'), prevKv: true } },
        ],
        failure: [],
      },
    });
    expect(r.succeeded).toBe(true);
    expect(r.header.revision).toBe(5n);
    const [p1, r1, d1, r2] = r.responses as [{ put: object }, { range: { kvs: KeyValue[] } }, { deleteRange: { deleted: number; prevKvs: KeyValue[] } }, { range: { kvs: KeyValue[] } }];
    expect(p1.put).toBeDefined();
    expect(r1.range.kvs[0]).toMatchObject({ modRevision: 5n, version: 1n });
    expect(d1.deleteRange.deleted).toBe(1);
    expect(s(d1.deleteRange.prevKvs[0]!.value)).toBe('v2');
    expect(r2.range.kvs).toEqual([]);
    expect(m.revision).toBe(5n);
    const t2 = (await m.range({ key: b('t2') })).kvs[0]!;
    expect(t2.modRevision).toBe(5n);
  });

  it('a read-only txn does not bump the revision', async () => {
    const r = await m.propose({ txn: { compare: [], success: [{ range: { key: b('k') } }], failure: [] } });
    expect(r.header.revision).toBe(4n);
  });

  it('nested txns take their own branch, compares see the state before the txn', async () => {
    const r = await m.propose({
      txn: {
        compare: [{ key: b('k'), target: 'version', value: 2n, result: 'equal' }],
        success: [
          { put: { key: b('k'), value: b('v3') } },
          {
            txn: {
              // Evaluated against the state before the outer txn: k is still version 2.
              compare: [{ key: b('k'), target: 'version', value: 2n, result: 'equal' }],
              success: [{ put: { key: b('inner'), value: b('yes') } }],
              failure: [{ put: { key: b('inner'), value: b('no') } }],
            },
          },
        ],
        failure: [],
      },
    });
    expect(r.succeeded).toBe(true);
    const inner = r.responses[1] as { txn: { succeeded: boolean } };
    expect(inner.txn.succeeded).toBe(true);
    expect(s((await m.range({ key: b('inner') })).kvs[0]!.value)).toBe('yes');
  });

  it('refuses duplicate keys like etcd', async () => {
    const p = (k: string) => ({ put: { key: b(k), value: b('x') } });
    const d = (k: string, e?: string) => ({ deleteRange: e === undefined ? { key: b(k) } : { key: b(k), rangeEnd: b(e) } });
    const t = (success: object[], failure: object[] = []) => ({ txn: { compare: [], success, failure } });
    const dup = async (success: object[]) => codeOf(m.propose(t(success) as never));
    expect(await dup([p('a'), p('a')])).toBe(ErrorCode.DuplicateKey);
    expect(await dup([p('a'), d('a')])).toBe(ErrorCode.DuplicateKey);
    expect(await dup([d('a', 'c'), p('b')])).toBe(ErrorCode.DuplicateKey);
    expect(await dup([p('a'), t([p('a')])])).toBe(ErrorCode.DuplicateKey);
    expect(await dup([d('a'), t([], [p('a')])])).toBe(ErrorCode.DuplicateKey);
    expect(await dup([t([p('a')]), t([p('a')])])).toBe(ErrorCode.DuplicateKey);
    // allowed: overlapping deletes, the same key in both branches of one nested txn
    expect(await dup([d('a'), d('a', 'c')])).toBe('ok');
    expect(await dup([t([p('z')], [p('z')])])).toBe('ok');
    // the failure branch is checked too, independently
    expect(await codeOf(m.propose(t([p('q')], [p('q'), p('q')]) as never))).toBe(ErrorCode.DuplicateKey);
    expect(await codeOf(m.propose(t([p('q')], [p('q')]) as never))).toBe('ok');
  });

  it('an error inside a txn leaves nothing behind', async () => {
    const before = m.revision;
    const r = m.propose({
      txn: {
        compare: [],
        success: [{ put: { key: b('new'), value: b('x') } }, { deleteRange: { key: b('k') } }, { put: { key: b('missing'), ignoreValue: true } }],
        failure: [],
      },
    });
    expect(await codeOf(r)).toBe(ErrorCode.KeyNotFound);
    expect(m.revision).toBe(before);
    expect((await m.range({ key: b('new') })).count).toBe(0);
    expect((await m.range({ key: b('k') })).count).toBe(1);
    // the next write gets the next revision and the index is intact
    await put('new', 'y');
    expect((await m.range({ key: b('new') })).kvs[0]).toMatchObject({ modRevision: before + 1n, version: 1n });
  });
});

describe('compaction', () => {
  beforeEach(async () => {
    await put('a', '1'); // 2
    await put('a', '2'); // 3
    await put('b', '1'); // 4
    await del('b'); // 5
    await put('a', '3'); // 6
  });

  it('keeps the latest version at or below the compaction point', async () => {
    await m.propose({ compact: { revision: 4n } });
    expect(s((await m.range({ key: b('a'), revision: 4n })).kvs[0]!.value)).toBe('2');
    expect(s((await m.range({ key: b('b'), revision: 4n })).kvs[0]!.value)).toBe('1');
    const err = await m.range({ key: b('a'), revision: 3n }).catch((e: CairnError) => e);
    expect(err).toBeInstanceOf(CairnError);
    expect((err as CairnError).code).toBe(ErrorCode.Compacted);
    expect((err as CairnError).details).toEqual({ compactRevision: 4n });
    // the revision is unchanged by compaction
    expect(m.revision).toBe(6n);
  });

  it('at the current revision; refuses re-compaction and future revisions', async () => {
    expect(await codeOf(m.propose({ compact: { revision: 7n } }))).toBe(ErrorCode.FutureRevision);
    await m.propose({ compact: { revision: 6n } });
    expect(s((await m.range({ key: b('a') })).kvs[0]!.value)).toBe('3');
    expect((await m.range({ key: b('b') })).count).toBe(0);
    expect(await codeOf(m.propose({ compact: { revision: 6n } }))).toBe(ErrorCode.Compacted);
    expect(await codeOf(m.propose({ compact: { revision: 5n } }))).toBe(ErrorCode.Compacted);
    expect(await codeOf(m.range({ key: b('a'), revision: 5n }))).toBe(ErrorCode.Compacted);
    // version and create revision survive the dropped history
    expect((await m.range({ key: b('a') })).kvs[0]).toMatchObject({ createRevision: 2n, version: 3n, modRevision: 6n });
  });
});

describe('compaction of an empty store', () => {
  it('at revision 1, the current one, like etcd; 2 is the future; the first write is 2', async () => {
    expect(await codeOf(m.propose({ compact: { revision: 2n } }))).toBe(ErrorCode.FutureRevision);
    expect(await codeOf(m.propose({ compact: { revision: 1n } }))).toBe('ok');
    expect(m.revision).toBe(1n);
    expect(await codeOf(m.propose({ compact: { revision: 1n } }))).toBe(ErrorCode.Compacted);
    expect((await m.range({ key: FROM_KEY_END, rangeEnd: FROM_KEY_END, revision: 1n })).count).toBe(0);
    expect(m.history(1n)).toEqual([]);
    expect((await put('a', '1')).header.revision).toBe(2n);
    await m.close();
    m = await openMember(dir.dir);
    expect(m.revision).toBe(2n);
    expect(await codeOf(m.propose({ compact: { revision: 1n } }))).toBe(ErrorCode.Compacted);
    expect((await m.range({ key: b('a') })).kvs[0]).toMatchObject({ createRevision: 2n, modRevision: 2n, version: 1n });
  });

  it('restarts an untouched store at revision 1', async () => {
    await m.close();
    m = await openMember(dir.dir);
    expect(m.revision).toBe(1n);
    expect((await put('a', '1')).header.revision).toBe(2n);
  });
});

describe('restart', () => {
  it('keeps keys, revisions, compaction point and applied index', async () => {
    await put('a', '1');
    await put('b', '1');
    await put('a', '2');
    await del('b');
    await m.propose({ compact: { revision: 3n } });
    await put('c', '1');
    const applied = m.appliedIndex;
    await m.close();
    m = await openMember(dir.dir);
    expect(m.revision).toBe(6n);
    // Nothing replayed twice or lost: the index goes on from where it was, plus the empty entry
    // the re-elected leader appends.
    expect(m.appliedIndex).toBe(applied + 1n);
    expect((await m.range({ key: b('a') })).kvs[0]).toMatchObject({ createRevision: 2n, version: 2n, modRevision: 4n });
    expect(await codeOf(m.range({ key: b('a'), revision: 2n }))).toBe(ErrorCode.Compacted);
    expect(keys((await m.range({ key: b('a'), rangeEnd: FROM_KEY_END, revision: 3n })).kvs)).toEqual(['a', 'b']);
    expect(await codeOf(m.propose({ compact: { revision: 3n } }))).toBe(ErrorCode.Compacted);
    const r = await put('a', '3');
    expect(r.header.revision).toBe(7n);
    expect((await m.range({ key: b('a') })).kvs[0]).toMatchObject({ createRevision: 2n, version: 3n, modRevision: 7n });
    // the refused compaction consumed an index too (it was applied, as an error)
    expect(m.appliedIndex).toBe(applied + 3n);
  });

  it('keeps create revision and version when compaction dropped the creating put', async () => {
    await put('a', '1'); // 2
    await put('a', '2'); // 3
    await put('a', '3'); // 4
    await m.propose({ compact: { revision: 4n } });
    await m.close();
    m = await openMember(dir.dir);
    await put('a', '4');
    expect((await m.range({ key: b('a') })).kvs[0]).toMatchObject({ createRevision: 2n, version: 4n, modRevision: 5n });
  });

  it('keeps the revision when compaction emptied the history', async () => {
    await put('a', '1'); // 2
    await del('a'); // 3
    await m.propose({ compact: { revision: 3n } });
    await m.close();
    m = await openMember(dir.dir);
    expect(m.revision).toBe(3n);
    expect((await put('a', 'x')).header.revision).toBe(4n);
  });
});

describe('group commit', () => {
  it('answers concurrent proposals in order with consecutive revisions', async () => {
    const rs = await Promise.all(Array.from({ length: 200 }, (_, i) => put(`k${i}`, String(i))));
    expect(rs.map((r) => r.header.revision)).toEqual(Array.from({ length: 200 }, (_, i) => BigInt(i + 2)));
    expect((await m.range({ key: b('k'), rangeEnd: b('l'), countOnly: true })).count).toBe(200);
  });

  it('emits the events of each revision together, after they are durable', async () => {
    const seen: { revision: bigint; types: string[]; prev: (string | undefined)[] }[] = [];
    // A change that replaced a value names its revision; it can be read while listeners run.
    const prevOf = (e: StoreEvent) => (e.prevRev === undefined ? undefined : s(m.watchSource().readKvs([e.prevRev])[0]!.value));
    m.onChange((revs) => {
      for (const r of revs) seen.push({ revision: r.revision, types: r.events.map((e) => e.type), prev: r.events.map(prevOf) });
    });
    await put('a', '1');
    await m.propose({ txn: { compare: [], success: [{ put: { key: b('a'), value: b('2') } }, { put: { key: b('b'), value: b('1') } }], failure: [] } });
    await del('a', b('c'));
    expect(seen).toEqual([
      { revision: 2n, types: ['put'], prev: [undefined] },
      { revision: 3n, types: ['put', 'put'], prev: ['1', undefined] },
      { revision: 4n, types: ['delete', 'delete'], prev: ['2', '1'] },
    ]);
  });
});

describe('what a change replaced', () => {
  it('is read only when asked for; a compaction in the same batch leaves it readable for the listeners', async () => {
    await put('a', '1'); // 2
    await m.written();
    const heard: string[] = [];
    m.onChange((revs) => {
      for (const r of revs) {
        for (const e of r.events) {
          expect(e.prevKv).toBeUndefined();
          const prev = e.prevRev === undefined ? '-' : s(m.watchSource().readKvs([e.prevRev])[0]!.value);
          heard.push(`${r.revision} ${e.type} prev=${prev} compacted to ${m.applier.store.compactRevision}`);
        }
      }
    });
    // Proposed in one turn: applied in one round, so the compaction that drops a@2 comes before
    // the listeners hear of revision 3 and before anything is written.
    await Promise.all([put('a', '2'), m.propose({ compact: { revision: 3n } })]);
    expect(heard).toEqual(['3 put prev=1 compacted to 3']);
    expect(await codeOf(m.range({ key: b('a'), revision: 2n }))).toBe(ErrorCode.Compacted);
  });

  it("moves a key's lease attachment without reading its old value, undone with a failed txn, rebuilt on restart", async () => {
    const attached = (id: bigint) => m.leases.keys(id).map(s).sort();
    await put('a', '1', { lease: 1n });
    await put('b', '1', { lease: 1n });
    await put('a', '2', { lease: 3n });
    await put('b', '2', { ignoreLease: true });
    expect([attached(1n), attached(3n)]).toEqual([['b'], ['a']]);
    // Moved to lease 5 and then refused: the whole txn is undone, a stays on lease 3.
    const txn = { compare: [], success: [{ put: { key: b('a'), value: b('x'), lease: 5n } }, { put: { key: b('c'), value: b('x'), lease: 404n } }], failure: [] };
    expect(await codeOf(m.propose({ txn }))).toBe(ErrorCode.LeaseNotFound);
    expect([attached(3n), attached(5n)]).toEqual([['a'], []]);
    expect(s((await m.range({ key: b('a') })).kvs[0]!.value)).toBe('2');
    await del('b');
    await put('b', '3', { lease: 7n });
    await put('c', '1', { lease: 7n });
    await put('c', '2');
    expect([attached(1n), attached(7n)]).toEqual([[], ['b']]);
    await m.close();
    m = await openMember(dir.dir);
    expect([attached(1n), attached(3n), attached(7n)]).toEqual([[], ['a'], ['b']]);
    // The rebuilt attachments are the ones a revoke deletes.
    await m.leases.revoke(3n);
    expect(keys((await m.range({ key: b('a'), rangeEnd: FROM_KEY_END })).kvs)).toEqual(['b', 'c']);
  });
});

describe('history (watch catch-up)', () => {
  it('replays the events of each revision with prevKv', async () => {
    await put('a', '1'); // 2
    await put('a', '2'); // 3
    await m.propose({ txn: { compare: [], success: [{ put: { key: b('b'), value: b('1') } }, { deleteRange: { key: b('a') } }], failure: [] } }); // 4
    await put('a', '3'); // 5
    expect(m.visibleRevision).toBe(5n);
    const h = m.history(3n).map((r) => ({
      revision: r.revision,
      events: r.events.map((e) => `${e.type} ${s(e.kv.key)}=${s(e.kv.value)}@${e.kv.modRevision} prev=${e.prevKv ? s(e.prevKv.value) : '-'}`),
    }));
    expect(h).toEqual([
      { revision: 3n, events: ['put a=2@3 prev=1'] },
      { revision: 4n, events: ['put b=1@4 prev=-', 'delete a=@4 prev=2'] },
      { revision: 5n, events: ['put a=3@5 prev=-'] },
    ]);
    expect(m.history(1n).map((r) => r.revision)).toEqual([2n, 3n, 4n, 5n]);
    expect(m.history(6n)).toEqual([]);
    await m.propose({ compact: { revision: 4n } });
    expect(await codeOf(Promise.resolve().then(() => m.history(3n)))).toBe(ErrorCode.Compacted);
    expect(m.history(4n).map((r) => r.revision)).toEqual([4n, 5n]);
  });

  it('reads revisions not yet in the state tables from memory, each exactly once', async () => {
    await put('a', '1'); // 2
    await put('a', '2'); // 3
    await m.written();
    await put('a', '3'); // 4
    await put('b', '1'); // 5: answered once committed; the state write comes a little later
    const seen = () => m.history(2n).map((r) => `${r.revision}:${r.events.map((e) => `${s(e.kv.key)}=${s(e.kv.value)} prev=${e.prevKv ? s(e.prevKv.value) : '-'}`).join(',')}`);
    const expected = ['2:a=1 prev=-', '3:a=2 prev=1', '4:a=3 prev=2', '5:b=1 prev=-'];
    expect(m.writtenRevision).toBeLessThan(5n);
    expect(seen()).toEqual(expected);
    await m.written();
    expect(m.writtenRevision).toBe(5n);
    expect(seen()).toEqual(expected);
  });
});
