import { afterEach, describe, expect, it, vi } from 'vitest';
import { CairnError, ErrorCode, type WatchCreateRequest, type WatchResponse } from '@cairn/protocol';
import { systemScheduler } from '../clock.js';
import type { Member } from '../member.js';
import { b, openMember, s, tempDir } from '../testing/harness.js';
import { WatchHub } from './hub.js';

/** A watch stream's far end: records messages; `buffered` fakes a slow socket. */
class Sink {
  messages: WatchResponse[] = [];
  buffered = 0;
  ended = false;
  send(r: WatchResponse): void {
    this.messages.push(r);
  }
  end(): void {
    this.ended = true;
  }
  bufferedBytes(): number {
    return this.buffered;
  }
  /** Revisions of every delivered event, in delivery order. */
  get revisions(): bigint[] {
    return this.messages.flatMap((m) => m.events.map((e) => e.kv.modRevision));
  }
  get eventMessages(): WatchResponse[] {
    return this.messages.filter((m) => m.events.length > 0);
  }
}

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function setup(o: { maxBufferedBytes?: number; progressIntervalMs?: number } = {}): Promise<{ m: Member; hub: WatchHub; dir: string }> {
  const t = tempDir();
  const m = await openMember(t.dir);
  const hub = new WatchHub(
    m.watchSource(),
    { scheduler: systemScheduler, catchUpIntervalMs: 5, catchUpRevisions: 7, ...o },
  );
  cleanups.push(async () => {
    hub.close();
    await m.close();
    t.cleanup();
  });
  return { m, hub, dir: t.dir };
}

const watch = (hub: WatchHub, req: Partial<WatchCreateRequest> & { key: Uint8Array }): Sink => {
  const sink = new Sink();
  hub.open(req, sink);
  return sink;
};

const prefixEnd = (p: string): Uint8Array => {
  const e = b(p);
  e[e.length - 1]!++;
  return e;
};

describe('watch hub', () => {
  it('replays history from a start revision, then goes live: ordered, no gap, no duplicate', async () => {
    const { m, hub } = await setup();
    const base = m.revision; // an empty store is at revision 1
    for (let i = 1; i <= 30; i++) await m.propose({ put: { key: b(`k${i % 3}`), value: b(`v${i}`) } });
    const w = watch(hub, { key: b('k'), rangeEnd: prefixEnd('k'), startRevision: base + 5n });
    // Writes race with the catch-up.
    for (let i = 31; i <= 60; i++) await m.propose({ put: { key: b(`k${i % 3}`), value: b(`v${i}`) } });
    await vi.waitFor(() => expect(w.revisions.length).toBe(56), { timeout: 10_000 });
    expect(w.revisions).toEqual(Array.from({ length: 56 }, (_, i) => base + BigInt(i + 5)));
    expect(w.messages[0]!.created).toBe(true);
  });

  it('a history that cannot be read now (a snapshot being installed) is retried, never skipped', async () => {
    const { m } = await setup();
    const base = m.revision;
    for (let i = 1; i <= 10; i++) await m.propose({ put: { key: b('r'), value: b(`v${i}`) } });
    let refusals = 3;
    const hub = new WatchHub(
      {
        onChange: (l) => m.onChange(l),
        historyRange: (from, to) => {
          if (refusals-- > 0) throw new CairnError(ErrorCode.Unavailable, 'a snapshot is being installed');
          return m.historyRange(from, to);
        },
        readKvs: (revs) => m.applier.store.readKvs(revs),
        get visibleRevision() {
          return m.visibleRevision;
        },
        get compactRevision() {
          return 0n;
        },
        header: () => m.header(),
      },
      { scheduler: systemScheduler, catchUpIntervalMs: 5 },
    );
    cleanups.push(() => hub.close());
    const w = watch(hub, { key: b('r'), startRevision: base + 1n });
    await vi.waitFor(() => expect(w.revisions.length).toBe(10), { timeout: 5_000 });
    expect(w.revisions).toEqual(Array.from({ length: 10 }, (_, i) => base + BigInt(i + 1)));
    expect(refusals).toBeLessThan(0);
  });

  it('delivers all events of a transaction in one message; prevKv and filters', async () => {
    const { m, hub } = await setup();
    await m.propose({ put: { key: b('p/a'), value: b('1') } });
    const all = watch(hub, { key: b('p/'), rangeEnd: prefixEnd('p/'), prevKv: true });
    const alsoPrev = watch(hub, { key: b('p/b'), prevKv: true });
    const noDel = watch(hub, { key: b('p/'), rangeEnd: prefixEnd('p/'), filters: ['nodelete'] });
    const other = watch(hub, { key: b('q') });
    await m.propose({
      txn: {
        compare: [],
        success: [{ put: { key: b('p/a'), value: b('2') } }, { put: { key: b('p/b'), value: b('3') } }, { deleteRange: { key: b('p/c') } }],
        failure: [],
      },
    });
    await m.propose({ deleteRange: { key: b('p/'), rangeEnd: prefixEnd('p/') } });
    await vi.waitFor(() => expect(all.eventMessages.length).toBe(2));
    const [txn, del] = all.eventMessages;
    expect(txn!.events.map((e) => [e.type, s(e.kv.key)])).toEqual([
      ['put', 'p/a'],
      ['put', 'p/b'],
    ]);
    expect(s(txn!.events[0]!.prevKv!.value)).toBe('1');
    expect(txn!.events[1]!.prevKv).toBeUndefined();
    // The values the deletes replaced, read for the watchers that asked (both get the same).
    expect(del!.events.map((e) => `${e.type} ${s(e.kv.key)} prev=${s(e.prevKv!.value)}`)).toEqual(['delete p/a prev=2', 'delete p/b prev=3']);
    await vi.waitFor(() => expect(alsoPrev.eventMessages.length).toBe(2));
    expect(alsoPrev.eventMessages.map((r) => r.events.map((e) => `${e.type} prev=${e.prevKv === undefined ? '-' : s(e.prevKv.value)}`))).toEqual([['put prev=-'], ['delete prev=3']]);
    expect(noDel.eventMessages.length).toBe(1);
    // A watcher gets the event's own fields only: no prevKv it did not ask for, nothing internal.
    expect(noDel.eventMessages[0]!.events.map((e) => Object.keys(e).sort())).toEqual([
      ['kv', 'type'],
      ['kv', 'type'],
    ]);
    expect(other.eventMessages.length).toBe(0);
  });

  it('a start revision below the compaction point is canceled with the compact revision', async () => {
    const { m, hub } = await setup();
    const base = m.revision;
    for (let i = 0; i < 10; i++) await m.propose({ put: { key: b('c'), value: b(`${i}`) } });
    await m.propose({ compact: { revision: base + 6n } });
    const w = watch(hub, { key: b('c'), startRevision: base + 2n });
    const last = w.messages[w.messages.length - 1]!;
    expect(last.canceled).toBe(true);
    expect(last.compactRevision).toBe(base + 6n);
    expect(w.ended).toBe(true);
    const ok = watch(hub, { key: b('c'), startRevision: base + 6n });
    await vi.waitFor(() => expect(ok.revisions).toEqual([6n, 7n, 8n, 9n, 10n].map((r) => base + r)));
  });

  it('a slow watcher is moved aside and caught up from history; others are not held back', async () => {
    const { m, hub } = await setup({ maxBufferedBytes: 1000 });
    const slow = watch(hub, { key: b('s') });
    const fast = watch(hub, { key: b('s') });
    await m.propose({ put: { key: b('s'), value: b('0') } });
    await vi.waitFor(() => expect(slow.revisions.length).toBe(1));
    slow.buffered = 10_000;
    for (let i = 1; i <= 40; i++) await m.propose({ put: { key: b('s'), value: b(`${i}`) } });
    expect(fast.revisions.length).toBe(41);
    expect(hub.unsyncedCount).toBe(1);
    expect(slow.revisions.length).toBe(1);
    slow.buffered = 0;
    const more = (async () => {
      for (let i = 41; i <= 80; i++) await m.propose({ put: { key: b('s'), value: b(`${i}`) } });
    })();
    await more;
    await vi.waitFor(() => expect(slow.revisions.length).toBe(81), { timeout: 10_000 });
    expect(slow.revisions).toEqual(fast.revisions);
    expect(hub.unsyncedCount).toBe(0);
  });

  it('progress notifications on request and periodically', async () => {
    const { m, hub } = await setup({ progressIntervalMs: 50 });
    const r1 = (await m.propose({ put: { key: b('x'), value: b('1') } })).header.revision;
    const sink = new Sink();
    const h = hub.open({ key: b('y'), progressNotify: true }, sink);
    h.requestProgress();
    expect(sink.messages.some((r) => r.progress === true && r.header.revision === r1)).toBe(true);
    await m.propose({ put: { key: b('x'), value: b('2') } });
    await vi.waitFor(() => expect(sink.messages.filter((r) => r.progress === true && r.header.revision === r1 + 1n).length).toBeGreaterThan(0));
  });

  it('a closed watch gets nothing more', async () => {
    const { m, hub } = await setup();
    const sink = new Sink();
    const h = hub.open({ key: b('z') }, sink);
    await m.propose({ put: { key: b('z'), value: b('1') } });
    expect(sink.revisions.length).toBe(1);
    h.close();
    expect(hub.size).toBe(0);
    await m.propose({ put: { key: b('z'), value: b('2') } });
    expect(sink.revisions.length).toBe(1);
  });

  it('1,000 watchers on one key all see every revision once', async () => {
    const { m, hub } = await setup();
    const base = m.revision;
    const sinks = Array.from({ length: 1000 }, () => watch(hub, { key: b('hot') }));
    for (let i = 0; i < 20; i++) await m.propose({ put: { key: b('hot'), value: b(`${i}`) } });
    await vi.waitFor(() => expect(sinks.every((x) => x.revisions.length === 20)).toBe(true));
    const want = Array.from({ length: 20 }, (_, i) => base + BigInt(i + 1));
    for (const x of sinks) expect(x.revisions).toEqual(want);
  });
});

describe('leases on a member', () => {
  it('revoke deletes every attached key in one revision; watchers see one batch', async () => {
    const { m, hub } = await setup();
    const g = await m.leases.grant({ ttlSeconds: 60 });
    expect(g.ttlSeconds).toBe(60);
    for (const k of ['l/a', 'l/b', 'l/c']) await m.propose({ put: { key: b(k), value: b('v'), lease: g.id } });
    await m.propose({ put: { key: b('l/b'), value: b('no lease') } });
    const w = watch(hub, { key: b('l/'), rangeEnd: prefixEnd('l/') });
    const ttl = await m.leases.timeToLive({ id: g.id, keys: true });
    expect(ttl.keys.map(s)).toEqual(['l/a', 'l/c']);
    await m.leases.revoke(g.id);
    await vi.waitFor(() => expect(w.eventMessages.length).toBe(1));
    expect(w.eventMessages[0]!.events.map((e) => [e.type, s(e.kv.key)])).toEqual([
      ['delete', 'l/a'],
      ['delete', 'l/c'],
    ]);
    expect((await m.range({ key: b('l/b') })).count).toBe(1);
    expect((await m.leases.timeToLive({ id: g.id })).ttlSeconds).toBe(-1);
    await expect(m.leases.revoke(g.id)).rejects.toMatchObject({ code: ErrorCode.LeaseNotFound });
  });

  it('refuses unknown leases, too-large TTLs, duplicate ids; raises small TTLs to the minimum', async () => {
    const { m } = await setup();
    await expect(m.propose({ put: { key: b('k'), value: b('v'), lease: 12345n } })).rejects.toMatchObject({ code: ErrorCode.LeaseNotFound });
    await expect(m.leases.grant({ ttlSeconds: 9_000_000_001 })).rejects.toMatchObject({ code: ErrorCode.LeaseTtlTooLarge });
    // The harness's 100 ms election timeout makes the minimum 1 s (member/leases.test.ts raises one).
    expect((await m.leases.grant({ ttlSeconds: 1, id: 77n })).ttlSeconds).toBe(1);
    await expect(m.leases.grant({ ttlSeconds: 5, id: 77n })).rejects.toMatchObject({ code: ErrorCode.LeaseExists });
    await expect(m.leases.grant({ ttlSeconds: 5, id: -3n })).rejects.toBeInstanceOf(CairnError);
    // ignoreLease keeps the key's lease.
    await m.propose({ put: { key: b('k'), value: b('v'), lease: 77n } });
    await m.propose({ put: { key: b('k'), value: b('w'), ignoreLease: true } });
    expect((await m.range({ key: b('k') })).kvs[0]!.lease).toBe(77n);
    expect((await m.leases.leases()).leases).toEqual([{ id: 77n }]);
  });

  it('leases and their keys survive a restart (records in RocksDB, attachments rebuilt)', async () => {
    const t = tempDir();
    cleanups.push(() => t.cleanup());
    let m = await openMember(t.dir);
    await m.leases.grant({ ttlSeconds: 100, id: 5n });
    await m.propose({ put: { key: b('a'), value: b('1'), lease: 5n } });
    await m.propose({ put: { key: b('b'), value: b('2'), lease: 5n } });
    await m.close();
    m = await openMember(t.dir);
    try {
      const ttl = await m.leases.timeToLive({ id: 5n, keys: true });
      expect(ttl.grantedTtlSeconds).toBe(100);
      expect(ttl.ttlSeconds).toBe(100); // full TTL again after the restart
      expect(ttl.keys.map(s)).toEqual(['a', 'b']);
      await m.leases.revoke(5n);
      expect((await m.range({ key: b('a'), rangeEnd: b('c') })).count).toBe(0);
    } finally {
      await m.close();
    }
    m = await openMember(t.dir);
    expect((await m.leases.leases()).leases).toEqual([]);
    await m.close();
  });

  it('expires a lease with keys: one revoke revision', async () => {
    const { m, hub } = await setup();
    const g = await m.leases.grant({ ttlSeconds: 2 });
    await m.propose({ put: { key: b('e/1'), value: b('v'), lease: g.id } });
    await m.propose({ put: { key: b('e/2'), value: b('v'), lease: g.id } });
    const w = watch(hub, { key: b('e/'), rangeEnd: prefixEnd('e/') });
    const t0 = performance.now();
    await vi.waitFor(() => expect(w.eventMessages.length).toBe(1), { timeout: 10_000, interval: 20 });
    const took = performance.now() - t0;
    expect(took).toBeGreaterThan(1500);
    expect(took).toBeLessThan(4000);
    expect(w.eventMessages[0]!.events.map((e) => e.type)).toEqual(['delete', 'delete']);
  });
});

describe('watch hub: auth changes', () => {
  it('ends the watches whose check fails with its error, after the auth change is written; the others go on', async () => {
    const { m, hub } = await setup();
    let allowed = true;
    const denied = new Sink();
    const errors: (CairnError | undefined)[] = [];
    denied.end = (err?: CairnError) => {
      denied.ended = true;
      errors.push(err);
    };
    const kept = new Sink();
    hub.open({ key: b('a') }, denied, () => (allowed ? undefined : new CairnError(ErrorCode.PermissionDenied, 'watch canceled: test')));
    hub.open({ key: b('a') }, kept, () => undefined);
    m.onAuthChange(() => hub.recheckAuth());
    await m.propose({ auth: { op: 'roleAdd', name: 'r1' } });
    expect(denied.ended).toBe(false);
    allowed = false;
    await m.propose({ auth: { op: 'roleAdd', name: 'r2' } });
    expect(denied.ended).toBe(true);
    expect(errors[0]).toMatchObject({ code: ErrorCode.PermissionDenied, message: 'watch canceled: test' });
    expect(hub.size).toBe(1);
    await m.propose({ put: { key: b('a'), value: b('v') } });
    await vi.waitFor(() => expect(kept.revisions.length).toBe(1));
    expect(denied.revisions).toEqual([]);
  });
});
