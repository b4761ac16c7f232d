/**
 * client.watchPrefix against a real member: the snapshot, then every later change once and in
 * order (each transaction whole), through a cut connection without a reload, through a
 * compaction with one, and nothing after close().
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CairnClient, ErrorCode, bytesToString, op, type CairnError, type PrefixSnapshot, type WatchEvent } from '@cairn/client';
import { Gate, singleMember, waitFor, type Member } from './support/process.js';

let member: Member;
let cleanup: () => Promise<void>;
const closers: (() => unknown)[] = [];
beforeAll(async () => ({ member, cleanup } = await singleMember()));
afterAll(async () => cleanup?.());
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function client(endpoint = member.endpoint): CairnClient {
  const c = new CairnClient({ endpoints: [endpoint] });
  closers.push(() => c.close());
  return c;
}

/** Everything a prefix watch told its consumer, and the view it lets the consumer build. */
class Recorder {
  readonly snapshots: PrefixSnapshot[] = [];
  readonly batches: (readonly WatchEvent[])[] = [];
  readonly errors: CairnError[] = [];
  readonly view = new Map<string, string>();
  /** The revision of every change delivered, in delivery order. */
  readonly revisions: bigint[] = [];

  readonly handlers = {
    snapshot: (s: PrefixSnapshot): void => {
      this.snapshots.push(s);
      this.view.clear();
      for (const kv of s.kvs) this.view.set(bytesToString(kv.key), bytesToString(kv.value));
    },
    events: (events: readonly WatchEvent[]): void => {
      this.batches.push(events);
      for (const e of events) {
        this.revisions.push(e.kv.modRevision);
        if (e.type === 'delete') this.view.delete(bytesToString(e.kv.key));
        else this.view.set(bytesToString(e.kv.key), bytesToString(e.kv.value));
      }
    },
    error: (err: CairnError): void => void this.errors.push(err),
  };

  get events(): string[] {
    return this.batches.flat().map((e) => `${e.type} ${bytesToString(e.kv.key)}${e.type === 'put' ? `=${bytesToString(e.kv.value)}` : ''}`);
  }
}

async function stored(c: CairnClient, prefix: string): Promise<Map<string, string>> {
  const res = await c.kv.range({ key: prefix, prefix: true });
  return new Map(res.kvs.map((kv) => [bytesToString(kv.key), bytesToString(kv.value)]));
}

describe('client.watchPrefix', () => {
  it('delivers the snapshot, then every later change under the prefix once, in order, each transaction whole', async () => {
    const c = client();
    await c.kv.put('wp1/a', '1');
    const b = await c.kv.put('wp1/b', '2');
    await c.kv.put('wp1x', 'outside');
    const rec = new Recorder();
    const w = await c.watchPrefix('wp1/', rec.handlers);
    closers.push(() => w.close());

    expect(rec.snapshots).toHaveLength(1);
    expect(rec.snapshots[0]!.reload).toBe(false);
    expect(rec.snapshots[0]!.revision).toBeGreaterThan(b.header.revision);
    expect([...rec.view]).toEqual([
      ['wp1/a', '1'],
      ['wp1/b', '2'],
    ]);
    expect(w.revision).toBe(rec.snapshots[0]!.revision);

    await c.kv.put('wp1/c', '3');
    await c.kv.put('wp1y', 'outside');
    await c.kv.delete('wp1/a');
    const txn = await c.txn().then(op.put('wp1/b', '22'), op.put('wp1/d', '4')).commit();
    await waitFor('four events', () => rec.events.length >= 4);
    expect(rec.events).toEqual(['put wp1/c=3', 'delete wp1/a', 'put wp1/b=22', 'put wp1/d=4']);
    // The transaction's two changes came in one call, at one revision.
    const last = rec.batches.find((batch) => batch.some((e) => bytesToString(e.kv.key) === 'wp1/d'))!;
    expect(last.map((e) => bytesToString(e.kv.key))).toEqual(['wp1/b', 'wp1/d']);
    expect(last.every((e) => e.kv.modRevision === txn.header.revision)).toBe(true);
    await waitFor('the handle at the transaction revision', () => w.revision >= txn.header.revision);
    expect(rec.view).toEqual(await stored(c, 'wp1/'));
    expect(rec.errors).toEqual([]);
  });

  it('resumes a cut connection from the last revision it delivered: no gap, no duplicate, no reload', async () => {
    const writer = client();
    const gate = await Gate.to(member.endpoint);
    closers.push(() => gate.close());
    const behind = client(gate.endpoint);
    const rec = new Recorder();
    const w = await behind.watchPrefix('wp2/', rec.handlers);
    closers.push(() => w.close());

    const written: bigint[] = [];
    for (let i = 0; i < 60; i++) {
      if (i === 20) gate.cut();
      if (i === 40) gate.reopen();
      written.push((await writer.kv.put(`wp2/k${i % 7}`, String(i))).header.revision);
    }
    await waitFor('all 60 changes delivered', () => rec.revisions.length >= 60, 20_000);
    expect(rec.revisions).toEqual(written);
    expect(rec.snapshots).toHaveLength(1);
    expect(rec.view).toEqual(await stored(writer, 'wp2/'));
  });

  it('reloads after the history it needs was compacted, says why, and goes on from the fresh snapshot', async () => {
    const writer = client();
    await writer.kv.put('wp3/stay', 's');
    await writer.kv.put('wp3/goes', 'g');
    const gate = await Gate.to(member.endpoint);
    closers.push(() => gate.close());
    const behind = client(gate.endpoint);
    const rec = new Recorder();
    const w = await behind.watchPrefix('wp3/', rec.handlers);
    closers.push(() => w.close());

    gate.cut();
    await writer.kv.delete('wp3/goes');
    await writer.kv.put('wp3/comes', 'c');
    const last = await writer.kv.put('wp3-unrelated', 'x');
    await writer.kv.compact(last.header.revision, { physical: true });
    gate.reopen();

    await waitFor('the reload', () => rec.snapshots.length === 2, 20_000);
    const reload = rec.snapshots[1]!;
    expect(reload.reload).toBe(true);
    expect(reload.reason?.code).toBe(ErrorCode.Compacted);
    expect(reload.revision).toBeGreaterThanOrEqual(last.header.revision);
    expect([...rec.view].sort()).toEqual([
      ['wp3/comes', 'c'],
      ['wp3/stay', 's'],
    ]);
    // The missed changes were not replayed as events; the consumer was told why it reloaded.
    expect(rec.events).toEqual([]);
    expect(rec.errors.map((e) => e.code)).toContain(ErrorCode.Compacted);

    // And it follows on from the reload.
    await writer.kv.put('wp3/after', 'a');
    await waitFor('the change after the reload', () => rec.events.length === 1, 10_000);
    expect(rec.events).toEqual(['put wp3/after=a']);
    expect(rec.view).toEqual(await stored(writer, 'wp3/'));
  });

  it('calls nothing after close(), and closes when its signal aborts', async () => {
    const c = client();
    const closed = new Recorder();
    const w = await c.watchPrefix('wp4/', closed.handlers);
    const aborter = new AbortController();
    const aborted = new Recorder();
    const wa = await c.watchPrefix('wp4/', aborted.handlers, { signal: aborter.signal });
    const witness = new Recorder();
    const ww = await c.watchPrefix('wp4/', witness.handlers);
    closers.push(() => ww.close());

    await c.kv.put('wp4/before', '1');
    await waitFor('all three see the first change', () => [closed, aborted, witness].every((r) => r.events.length === 1));
    w.close();
    aborter.abort();
    expect(w.isClosed).toBe(true);
    expect(wa.isClosed).toBe(true);
    await c.kv.put('wp4/after', '2');
    // The witness on the same connection got the second change: the others would have by now.
    await waitFor('the witness to see the second change', () => witness.events.length === 2);
    expect(closed.events).toEqual(['put wp4/before=1']);
    expect(aborted.events).toEqual(['put wp4/before=1']);
  });

  it('fails with what went wrong when the first snapshot cannot be had', async () => {
    const c = client();
    const aborter = new AbortController();
    aborter.abort();
    await expect(c.watchPrefix('wp5/', new Recorder().handlers, { signal: aborter.signal })).rejects.toMatchObject({ code: ErrorCode.Canceled });
    const refusing = {
      snapshot: (): void => {
        throw new Error('cannot use this snapshot');
      },
      events: (): void => undefined,
    };
    await expect(c.watchPrefix('wp5/', refusing)).rejects.toMatchObject({ message: 'cannot use this snapshot' });
  });
});
