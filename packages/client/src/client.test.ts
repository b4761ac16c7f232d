import { afterEach, describe, expect, it } from 'vitest';
import { CairnError, ErrorCode, LeaseKeepAlive, Put, Range, Watch, bytesToString } from '@cairn/protocol';
import { NEVER, header, startFakeServer, type FakeServer } from '../test/fakeServer.js';
import { plain, rejectionOf } from '../test/helpers.js';
import { CairnClient, compare, connect, op } from './index.js';

const servers: FakeServer[] = [];
const clients: CairnClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(handlers: Parameters<typeof startFakeServer>[0] = {}): Promise<FakeServer> {
  const s = await startFakeServer(handlers);
  servers.push(s);
  return s;
}

function client(endpoints: string[], extra: Partial<ConstructorParameters<typeof CairnClient>[0]> = {}): CairnClient {
  const c = new CairnClient({ endpoints, dialTimeoutMs: 1000, requestTimeoutMs: 2000, ...extra });
  clients.push(c);
  return c;
}

const kv = (key: string, value: string, rev: bigint) => ({
  key: new TextEncoder().encode(key),
  createRevision: rev,
  modRevision: rev,
  version: 1n,
  value: new TextEncoder().encode(value),
  lease: 0n,
});

const rejection = (p: Promise<unknown>): Promise<CairnError> => rejectionOf(p, CairnError);

describe('CairnClient', () => {
  it('says hello, then sends typed requests and keeps 64-bit integers exact', async () => {
    const big = 18446744073709551615n;
    const s = await server({
      'kv.range': () => ({ header: { ...header(big), memberId: big }, kvs: [kv('foo', 'bar', 9007199254740993n)], more: false, count: 1 }),
    });
    const c = client([s.endpoint]);
    const got = await c.kv.get('foo');
    expect(s.frames[0]).toEqual({ t: 'hello', version: 1 });
    expect(s.frames[1]).toMatchObject({ t: 'req', method: 'kv.range' });
    expect(bytesToString((s.frames[1] as { params: { key: Uint8Array } }).params.key)).toBe('foo');
    expect(got?.createRevision).toBe(9007199254740993n);
    const res = await c.kv.range({ key: 'foo' });
    expect(res.header.revision).toBe(big);
    expect(res.header.memberId).toBe(big);
    expect(await c.kv.getString('foo')).toBe('bar');
  });

  it('accepts host:port, http:// and ws:// endpoints', async () => {
    const s = await server({ 'maintenance.status': () => ({ header: header(), version: 'x' }) });
    for (const ep of [s.endpoint, `http://${s.endpoint}`, `ws://${s.endpoint}`]) {
      const c = client([ep]);
      expect((await c.maintenance.status()).version).toBe('x');
    }
  });

  it('maintenance.hashKv sends the revision (none for the newest) and refuses a negative one locally', async () => {
    const s = await server({ 'maintenance.hashKv': () => ({ header: header(), hash: 42, compactRevision: 0n, hashRevision: 9n }) });
    const c = client([s.endpoint]);
    expect(await c.maintenance.hashKv()).toMatchObject({ hash: 42, hashRevision: 9n });
    await c.maintenance.hashKv(9);
    const reqs = s.frames.filter((f) => f.t === 'req') as { params: unknown }[];
    expect(reqs.map((f) => f.params)).toEqual([{}, { revision: 9n }]);
    await expect(c.maintenance.hashKv(-1n)).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(s.frames.filter((f) => f.t === 'req')).toHaveLength(2);
  });

  it('multiplexes requests on one socket and matches answers by id', async () => {
    const s = await server({
      'kv.range': async (req) => {
        const key = bytesToString((req.params as { key: Uint8Array }).key);
        // Answer in reverse order of arrival.
        await new Promise((r) => setTimeout(r, key === 'a' ? 60 : key === 'b' ? 30 : 0));
        return { header: header(), kvs: [kv(key, key.toUpperCase(), 1n)], more: false, count: 1 };
      },
    });
    const c = client([s.endpoint]);
    const values = await Promise.all(['a', 'b', 'c'].map((k) => c.kv.getString(k)));
    expect(values).toEqual(['A', 'B', 'C']);
    expect(s.frames.filter((f) => f.t === 'hello')).toHaveLength(1);
  });

  it('sends the requests made in one turn in one TCP write', async () => {
    const s = await server({ 'kv.put': () => ({ header: header() }) });
    const c = client([s.endpoint]);
    await c.kv.put('warm', 'up');
    const before = { reads: s.tcpReads, frames: s.frames.length };
    await Promise.all(Array.from({ length: 16 }, (_, i) => c.kv.put(`k${i}`, 'v')));
    expect(s.frames.length - before.frames).toBe(16);
    expect(s.tcpReads - before.reads).toBe(1);
  });

  it('maps err frames to CairnError with code, message and details', async () => {
    const s = await server({
      'kv.range': () => {
        throw new CairnError(ErrorCode.Compacted, 'mvcc: required revision has been compacted', { compactRevision: 5n });
      },
    });
    const c = client([s.endpoint]);
    const err = await rejection(c.kv.range({ key: 'a', revision: 2 }));
    expect(err.code).toBe('compacted');
    expect(err.message).toBe('mvcc: required revision has been compacted');
    expect(err.details).toEqual({ compactRevision: 5n });
  });

  it('keeps an unknown error code of a newer member in details', async () => {
    const s = await server({
      'kv.range': () => {
        throw new CairnError('brand_new' as ErrorCode, 'something new');
      },
    });
    const err = await rejection(client([s.endpoint]).kv.get('a'));
    expect(err.code).toBe(ErrorCode.Internal);
    expect(err.message).toBe('something new');
    expect(err.details).toEqual({ serverCode: 'brand_new' });
  });

  it('times out a request, and tells the server with a close frame', async () => {
    const s = await server({ 'kv.put': () => NEVER });
    const c = client([s.endpoint]);
    const err = await rejection(c.kv.put('k', 'v', { timeoutMs: 50 }));
    expect(err.code).toBe(ErrorCode.Timeout);
    expect(err.message).toBe('context deadline exceeded');
    await new Promise((r) => setTimeout(r, 20));
    const req = s.frames.find((f) => f.t === 'req') as { id: number };
    expect(s.frames).toContainEqual({ t: 'close', id: req.id });
  });

  it('cancels on abort with `canceled` and a close frame', async () => {
    const s = await server({ 'kv.range': () => NEVER });
    const c = client([s.endpoint]);
    const ac = new AbortController();
    const p = c.kv.get('k', { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 30));
    ac.abort();
    const err = await rejection(p);
    expect(err.code).toBe(ErrorCode.Canceled);
    await new Promise((r) => setTimeout(r, 20));
    expect(s.frames.some((f) => f.t === 'close')).toBe(true);
    // An already aborted signal fails at once.
    expect((await rejection(c.kv.get('k', { signal: AbortSignal.abort() }))).code).toBe(ErrorCode.Canceled);
  });

  it('fails to connect with one clear error', async () => {
    // Port 1: nothing listens there, and no other test can take it (a port just closed could be).
    const c = client(['127.0.0.1:1'], { dialTimeoutMs: 1500, requestTimeoutMs: 5000 });
    const err = await rejection(c.kv.get('k'));
    expect(err.code).toBe(ErrorCode.Unavailable);
    expect(err.message).toBe('cannot connect to 127.0.0.1:1: connection refused');
  });

  it('does not try other endpoints when the member refuses the handshake', async () => {
    const s = await server();
    s.helloError = { code: 'auth_failed', message: 'authentication failed, invalid user ID or password' };
    const err = await rejection(connect({ endpoints: [s.endpoint], dialTimeoutMs: 500 }));
    expect(err.code).toBe(ErrorCode.AuthFailed);
  });

  it('fails over to the next endpoint and resends idempotent requests in flight', async () => {
    let firstCalls = 0;
    const a = await server({
      'kv.range': () => {
        firstCalls++;
        setTimeout(() => a.dropAll(), 20);
        return NEVER;
      },
    });
    const b = await server({ 'kv.range': () => ({ header: header(), kvs: [kv('k', 'from-b', 1n)], more: false, count: 1 }) });
    b.memberId = 2n;
    const c = client([a.endpoint, b.endpoint]);
    expect(await c.kv.getString('k')).toBe('from-b');
    expect(firstCalls).toBe(1);
    expect(c.activeEndpoint).toBe(b.endpoint);
  });

  it('fails a non-idempotent request in flight when the socket is lost, unless retry is set', async () => {
    let puts = 0;
    const a = await server({
      'kv.put': () => {
        puts++;
        if (puts === 1 || puts === 2) {
          setTimeout(() => a.dropAll(), 10);
          return NEVER;
        }
        return { header: header(7n) };
      },
    });
    const c = client([a.endpoint]);
    const err = await rejection(c.kv.put('k', 'v'));
    expect(err.code).toBe(ErrorCode.ConnectionClosed);
    expect(puts).toBe(1);
    const res = await c.kv.put('k', 'v', { retry: true });
    expect(res.header.revision).toBe(7n);
    expect(puts).toBe(3);
  });

  it('retries a write that a live member refuses during an election soon after the new leader is up', async () => {
    // The member says "no leader" for 800 ms (an election), then takes the write. A back-off
    // that kept doubling to maxBackoffMs would retry only ~750 ms after that.
    const startedAt = Date.now();
    let attempts = 0;
    const s = await server({
      'kv.put': () => {
        attempts++;
        if (Date.now() - startedAt < 800) throw new CairnError(ErrorCode.NoLeader);
        return { header: header(5n) };
      },
    });
    const c = client([s.endpoint], { requestTimeoutMs: 5000 });
    const res = await c.kv.put('k', 'v');
    expect(res.header.revision).toBe(5n);
    expect(Date.now() - startedAt - 800).toBeLessThan(400);
    expect(attempts).toBeGreaterThan(3);
  });

  it('refuses a member of another cluster on reconnect', async () => {
    const a = await server({ 'kv.range': () => ({ header: header(), kvs: [], more: false, count: 0 }) });
    const c = client([a.endpoint]);
    await c.kv.get('x');
    a.clusterId = 99n;
    a.dropAll();
    await new Promise((r) => setTimeout(r, 20));
    const err = await rejection(c.kv.get('x'));
    expect(err.code).toBe(ErrorCode.ClusterIdMismatch);
  });

  it('rejects pending requests on close, and every later call', async () => {
    const s = await server({ 'kv.range': () => NEVER });
    const c = client([s.endpoint]);
    const p = c.kv.get('k');
    await new Promise((r) => setTimeout(r, 30));
    c.close();
    expect((await rejection(p)).code).toBe(ErrorCode.ConnectionClosed);
    expect((await rejection(c.kv.get('k'))).code).toBe(ErrorCode.ConnectionClosed);
  });

  it('authenticates with username and password on each connection', async () => {
    const s = await server({
      'auth.authenticate': (req) => {
        const p = req.params as { name: string; password: string };
        if (p.password !== 'pw') throw new CairnError(ErrorCode.AuthFailed);
        return { header: header(), token: `tok-${p.name}` };
      },
      'kv.range': (req) => ({ header: header(), kvs: [kv('who', req.token ?? '', 1n)], more: false, count: 1 }),
    });
    const c = client([s.endpoint], { username: 'u', password: 'pw' });
    expect(await c.kv.getString('who')).toBe('tok-u');
    const bad = client([s.endpoint], { username: 'u', password: 'no' });
    expect((await rejection(bad.kv.get('who'))).code).toBe(ErrorCode.AuthFailed);
  });

  it('sends exactly the requests the typed API describes', async () => {
    const s = await server({
      'kv.put': () => ({ header: header() }),
      'kv.range': () => ({ header: header(), kvs: [], more: false, count: 0 }),
      'kv.deleteRange': () => ({ header: header(), deleted: 2 }),
      'kv.txn': () => ({ header: header(), succeeded: true, responses: [] }),
      'kv.compact': () => ({ header: header() }),
    });
    const c = client([s.endpoint]);
    await c.kv.put('k', 'v', { lease: 0x2be7547fbc6a5afan, prevKv: true });
    await c.kv.getPrefix('k', { limit: 2, sortTarget: 'mod' });
    expect((await c.kv.delete('k', { prefix: true })).deleted).toBe(2);
    await c.kv.delete('', { fromKey: true });
    await c.kv.compact(5, { physical: true });
    await c
      .txn()
      .if(compare.value('k', '=', 'v'), compare.version('k', '>', 0))
      .then(op.put('k', 'w'), op.get('a'), op.delete('b', { prefix: true }))
      .else(op.get('k', { keysOnly: true }))
      .commit();
    const params = s.frames.filter((f) => f.t === 'req').map((f) => plain((f as { params: unknown }).params));
    const enc = (x: string) => new TextEncoder().encode(x);
    expect(params).toEqual([
      { key: enc('k'), value: enc('v'), lease: 0x2be7547fbc6a5afan, prevKv: true },
      { key: enc('k'), rangeEnd: enc('l'), limit: 2, sortTarget: 'mod', sortOrder: 'ascend' },
      { key: enc('k'), rangeEnd: enc('l') },
      { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) },
      { revision: 5n, physical: true },
      {
        compare: [
          { key: enc('k'), target: 'value', result: 'equal', value: enc('v') },
          { key: enc('k'), target: 'version', result: 'greater', value: 0n },
        ],
        success: [
          { put: { key: enc('k'), value: enc('w') } },
          { range: { key: enc('a') } },
          { deleteRange: { key: enc('b'), rangeEnd: enc('c') } },
        ],
        failure: [{ range: { key: enc('k'), keysOnly: true } }],
      },
    ]);
  });

  it('rejects an awaited txn builder instead of hanging', async () => {
    const c = client(['127.0.0.1:1']);
    const builder = c.txn().then(op.put('a', 'b'));
    const err = await rejection(Promise.resolve(builder as unknown));
    expect(err.message).toMatch(/commit\(\)/);
  });

  it('uses the generic request() with a descriptor', async () => {
    const s = await server({ 'kv.put': () => ({ header: header(3n) }) });
    const c = client([s.endpoint]);
    const res = await c.request(Put, { key: new Uint8Array([1]), value: new Uint8Array([2]) });
    expect(res.header.revision).toBe(3n);
    expect(Range.idempotent).toBe(true);
  });
});

describe('streams', () => {
  it('delivers data, sends messages, and ends on the server end frame', async () => {
    const s = await server({
      'lease.keepAlive': (req) => {
        let n = 0;
        req.onSend((params) => {
          n++;
          const msg = params as { id: bigint };
          req.reply({ t: 'data', id: req.id, result: { header: header(), id: msg.id, ttlSeconds: 10 } });
          if (n === 2) req.reply({ t: 'err', id: req.id });
        });
        return NEVER;
      },
    });
    const c = client([s.endpoint]);
    const stream = await c.openStream(LeaseKeepAlive, {});
    stream.send({ id: 5n });
    stream.send({ id: 6n });
    const got: bigint[] = [];
    for await (const m of stream) got.push(m.id);
    expect(got).toEqual([5n, 6n]);
    expect(stream.closed).toBe(true);
  });

  it('fails the iteration with the stream error, and closes with a close frame', async () => {
    const s = await server({
      watch: (req) => {
        setTimeout(() => req.reply({ t: 'err', id: req.id, code: 'compacted', message: 'mvcc: required revision has been compacted' }), 10);
        return NEVER;
      },
      'lease.keepAlive': () => NEVER,
    });
    const c = client([s.endpoint]);
    const w = await c.openStream(Watch, { key: new Uint8Array([1]) });
    const err = await rejection((async () => {
      for await (const _ of w) void _;
    })());
    expect(err.code).toBe('compacted');
    const k = await c.openStream(LeaseKeepAlive, {});
    k.close();
    await new Promise((r) => setTimeout(r, 20));
    expect(s.frames).toContainEqual({ t: 'close', id: k.id });
    expect(() => k.send({ id: 1n })).toThrow(CairnError);
  });
});
