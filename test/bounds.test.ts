/**
 * Bounds on the client port, against the real daemon: a socket that never reads its replies,
 * sockets that never finish their handshake, the connection limit, lease TTLs past Node's
 * timer range, and a txn whose compares would cost too much.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnClient, compare, ErrorCode, op, type CairnError } from '@cairn/client';
import { PROTOCOL_VERSION, Range, Txn, type ClientFrame, type Compare, type TxnRequest } from '@cairn/protocol';
import { RawWs } from './support/rawWs.js';
import { singleMember, waitFor, type Member } from './support/process.js';

const HANDSHAKE_MS = 1500;
const MiB = 1024 * 1024;

let a: { member: Member; cleanup: () => Promise<void> };
let client: CairnClient;

beforeAll(async () => {
  a = await singleMember('bounds', { extraArgs: [`--client-handshake-timeout=${HANDSHAKE_MS}`, '--max-txn-compare-keys=10000'] });
  client = new CairnClient({ endpoints: [a.member.endpoint] });
});
afterAll(async () => {
  client?.close();
  await a?.cleanup();
});

/** The member's resident set size, in bytes (VmRSS of /proc/<pid>/status). */
function rssBytes(m: Member): number {
  const status = readFileSync(`/proc/${m.proc!.pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  if (kb === null) throw new Error('no VmRSS in /proc status');
  return Number(kb[1]) * 1024;
}

/** One sample of a Prometheus counter (summed over label sets that match `labels`). */
async function metric(m: Member, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://${m.endpoint}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (labels !== '' && !line.includes(labels))) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const hello: ClientFrame = { t: 'hello', version: PROTOCOL_VERSION };
const rangeOf = (id: number, key: string): ClientFrame => ({ t: 'req', id, method: Range.method, params: { key: new TextEncoder().encode(key) } });

/** Sends `count` range requests for `key` on a socket that has stopped reading. */
function flood(raw: RawWs, key: string, count: number): void {
  raw.stopReading();
  for (let first = 1; first <= count; first += 100) {
    const frames: ClientFrame[] = [];
    for (let id = first; id < first + 100 && id <= count; id++) frames.push(rangeOf(id, key));
    raw.sendMany(frames);
  }
}

describe('a socket that never reads its replies', () => {
  it('stops being read past the soft limit: the member stays small and serves others meanwhile', async () => {
    const m = a.member;
    await client.kv.put('big', new Uint8Array(MiB).fill(0x61));
    const before = rssBytes(m);
    const raw = await RawWs.open(m.endpoint);
    raw.send(hello);
    // 400 requests for a 1 MiB value: 400 MB of replies if they were all queued.
    flood(raw, 'big', 400);
    let maxRss = before;
    let slowestGetMs = 0;
    const t0 = Date.now();
    // Eight seconds of watching (the unbounded member grew by 2.4 GB in six), with a client
    // served all along.
    while (Date.now() - t0 < 8000) {
      const s = performance.now();
      expect(await client.kv.getString('small-missing', { timeoutMs: 5000 })).toBeUndefined();
      slowestGetMs = Math.max(slowestGetMs, performance.now() - s);
      maxRss = Math.max(maxRss, rssBytes(m));
      // The sampling interval.
      await new Promise((r) => setTimeout(r, 50));
    }
    const pauses = await metric(m, 'cairn_server_client_socket_pauses_total');
    const closedForUnsent = await metric(m, 'cairn_server_client_connections_refused_total', 'reason="unsent_bytes"');
    console.log(
      `never-reading socket: RSS ${(before / MiB).toFixed(0)} MB -> max ${(maxRss / MiB).toFixed(0)} MB over 8 s; ` +
        `slowest get meanwhile ${slowestGetMs.toFixed(0)} ms; pauses ${pauses}, closed for unsent bytes ${closedForUnsent}`,
    );
    expect(pauses).toBeGreaterThanOrEqual(1);
    expect(closedForUnsent).toBe(0);
    // Unbounded, the member grew by 2.4 GB in 6 s; now by about the soft limit.
    expect(maxRss - before).toBeLessThan(150 * MiB);
    expect(slowestGetMs).toBeLessThan(2000);
    // Nothing was lost: once the client reads, every request is answered.
    raw.socket.resume();
    await waitFor('all 400 replies', () => (raw.counts.get('res') ?? 0) + (raw.counts.get('err') ?? 0) >= 400, 60_000, 100);
    expect(raw.counts.get('res')).toBe(400);
    raw.destroy();
  });
});

describe('handshakes', () => {
  it('closes a socket that never says hello after --client-handshake-timeout (4408), not one that did', async () => {
    const m = a.member;
    const t0 = Date.now();
    const silent = await RawWs.open(m.endpoint);
    const polite = await RawWs.open(m.endpoint);
    polite.send(hello);
    const bare = await RawWs.tcp(m.endpoint);
    const bareClosed = new Promise<number>((resolve) => bare.on('close', () => resolve(Date.now() - t0)));
    bare.on('error', () => undefined);
    const closed = await Promise.race([
      silent.closed,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the silent socket was not closed within 10 s')), 10_000)),
    ]);
    const afterMs = Date.now() - t0;
    expect(closed.code).toBe(4408);
    expect(closed.reason).toMatch(/no hello frame within 1500 ms/);
    expect(afterMs).toBeGreaterThanOrEqual(HANDSHAKE_MS - 100);
    // A TCP connection that never sends an HTTP request is dropped after the same timeout.
    const bareMs = await Promise.race([bareClosed, new Promise<number>((r) => setTimeout(() => r(-1), 10_000))]);
    expect(bareMs).toBeGreaterThanOrEqual(HANDSHAKE_MS - 100);
    // The socket that said hello is still served.
    polite.send(rangeOf(7, 'nothing'));
    await waitFor('an answer on the socket that said hello', () => polite.frames.some((f) => f.t === 'res' && f.id === 7), 5000);
    polite.destroy();
    expect(m.log).toMatch(/sent no hello frame within the handshake timeout/);
    expect(m.log).toMatch(/sent no complete HTTP request within the handshake timeout/);
    expect(await metric(m, 'cairn_server_client_connections_refused_total', 'reason="handshake_timeout"')).toBeGreaterThanOrEqual(1);
  });
});

describe('a member with small client-port limits', () => {
  let b: { member: Member; cleanup: () => Promise<void> };
  beforeAll(async () => {
    b = await singleMember('bounded', {
      extraArgs: ['--max-client-connections=3', `--client-unsent-soft-bytes=${MiB}`, `--client-unsent-hard-bytes=${4 * MiB}`],
    });
  });
  afterAll(async () => b?.cleanup());

  it('refuses connections past --max-client-connections with HTTP 503 and says why', async () => {
    const m = b.member;
    const open = [await RawWs.open(m.endpoint), await RawWs.open(m.endpoint), await RawWs.open(m.endpoint)];
    for (const s of open) s.send(hello);
    const refused = await RawWs.upgradeResponse(m.endpoint);
    expect(refused).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(refused).toMatch(/too many client connections \(--max-client-connections=3\)/);
    await waitFor('the refusal log line', () => /the connection limit is reached/.test(m.log), 5000);
    open[0]!.destroy();
    // Once one is gone a new one gets in.
    let again: RawWs | undefined;
    await waitFor('a connection after one closed', async () => {
      again = await RawWs.open(m.endpoint);
      return true;
    }, 5000, 100);
    again!.destroy();
    for (const s of open) s.destroy();
    expect(await metric(m, 'cairn_server_client_connections_refused_total', 'reason="connection_limit"')).toBe(1);
  });

  it('closes a socket whose unsent replies pass --client-unsent-hard-bytes, with a log line', async () => {
    const m = b.member;
    const c = new CairnClient({ endpoints: [m.endpoint] });
    try {
      // The earlier test's sockets must be gone first (the limit is 3).
      await waitFor('a free connection', async () => (await c.kv.put('big', new Uint8Array(MiB).fill(0x62)), true), 10_000, 200);
      const raw = await RawWs.open(m.endpoint);
      raw.send(hello);
      flood(raw, 'big', 500);
      await waitFor('the member to close the socket that does not read', () => /does not read its replies/.test(m.log), 20_000);
      raw.socket.resume();
      await raw.closed;
      expect(await metric(m, 'cairn_server_client_connections_refused_total', 'reason="unsent_bytes"')).toBe(1);
      // The member goes on serving.
      expect((await c.kv.get('big'))?.value.length).toBe(MiB);
    } finally {
      c.close();
    }
  });
});

describe('leases of any valid length', () => {
  it('grants, keeps, reports and revokes a lease of 9e9 s without timer overflow warnings', async () => {
    const m = a.member;
    const ttl = 9_000_000_000;
    const { id } = await client.lease.grant(ttl);
    const second = await client.lease.grant(2_200_000);
    let t = await client.lease.timeToLive(id);
    expect(t.grantedTtlSeconds).toBe(ttl);
    expect(t.ttlSeconds).toBeGreaterThan(ttl - 10);
    // Keep-alives for a second (the broken timer printed a warning per millisecond).
    const t0 = Date.now();
    let kept = 0;
    while (Date.now() - t0 < 1500) {
      const r = await client.lease.keepAliveOnce(id);
      expect(r.ttlSeconds).toBe(ttl);
      kept++;
    }
    expect(kept).toBeGreaterThan(0);
    t = await client.lease.timeToLive(id);
    expect(t.ttlSeconds).toBeGreaterThan(ttl - 10);
    await client.lease.revoke(id);
    await client.lease.revoke(second.id);
    expect((await client.lease.timeToLive(id)).ttlSeconds).toBe(-1);
    expect(m.log).not.toMatch(/TimeoutOverflowWarning/);
  });
});

describe('the work of one txn\'s compares', () => {
  /** 127 nested txns, each guarded by 128 whole-keyspace compares that all hold. */
  function pathological(): TxnRequest {
    const everything: Compare = compare.mod('\0', '>', 0, { rangeEnd: '\0' });
    let txn: TxnRequest = { compare: Array(128).fill(everything), success: [op.put('reached', 'yes')], failure: [] };
    for (let level = 0; level < 126; level++) txn = { compare: Array(128).fill(everything), success: [op.txn(txn)], failure: [] };
    return txn;
  }

  it('refuses the pathological txn and one over --max-txn-compare-keys with too_many_ops; a serializable get meanwhile answers within 100 ms', async () => {
    await Promise.all(Array.from({ length: 150 }, (_, i) => client.kv.put(`cmp/${String(i).padStart(3, '0')}`, 'v')));
    const reader = new CairnClient({ endpoints: [a.member.endpoint] });
    try {
      await reader.kv.get('cmp/000', { serializable: true });
      const idle: number[] = [];
      for (let i = 0; i < 5; i++) {
        const s = performance.now();
        await reader.kv.get('cmp/000', { serializable: true });
        idle.push(performance.now() - s);
      }
      // The txn goes out as bytes encoded beforehand on a raw socket, so that what is timed is
      // the member, not this process encoding 450 KB.
      const raw = await RawWs.open(a.member.endpoint);
      raw.send(hello);
      const gets: number[] = [];
      const txnMs: number[] = [];
      for (let round = 0; round < 5; round++) {
        const id = 100 + round;
        const frame = RawWs.encode({ t: 'req', id, method: Txn.method, params: pathological() });
        const t0 = performance.now();
        raw.socket.write(frame);
        const s = performance.now();
        await reader.kv.get('cmp/000', { serializable: true });
        gets.push(performance.now() - s);
        await waitFor('the txn answer', () => raw.frames.some((f) => 'id' in f && f.id === id), 10_000, 5);
        txnMs.push(performance.now() - t0);
        const answer = raw.frames.find((f) => 'id' in f && f.id === id)!;
        expect(answer).toMatchObject({ t: 'err', code: ErrorCode.TooManyOps, details: { maxTxnOps: 128 } });
        expect((answer as { message: string }).message).toMatch(/compares, nested txns included \(--max-txn-ops\)/);
      }
      raw.destroy();
      const ms = (xs: number[]): string => xs.map((x) => x.toFixed(1)).join(', ');
      console.log(`serializable get idle: ${ms(idle)} ms; while the pathological txn was refused: ${ms(gets)} ms; txn refused after ${ms(txnMs)} ms`);
      expect(Math.min(...gets)).toBeLessThan(100);
      expect(Math.max(...gets)).toBeLessThan(1000);
      // 128 whole-keyspace compares over 150+ keys would visit more than --max-txn-compare-keys=10000.
      const wide = await client
        .txn()
        .if(...Array<Compare>(128).fill(compare.mod('\0', '>', 0, { rangeEnd: '\0' })))
        .then(op.put('reached', 'yes'))
        .commit()
        .then(
          () => undefined,
          (e: unknown) => e as CairnError,
        );
      expect(wide?.code).toBe(ErrorCode.TooManyOps);
      expect(wide?.details).toMatchObject({ maxTxnCompareKeys: 10_000 });
      expect(wide?.message).toMatch(/would visit more than 10000 keys \(--max-txn-compare-keys\)/);
      expect(await metric(a.member, 'cairn_server_txn_compare_keys_refused_total')).toBe(1);
      // Range compares inside the bound still work, and a failing one stops at its first key.
      const s = performance.now();
      const ok = await client
        .txn()
        .if(...Array<Compare>(60).fill(compare.mod('cmp/', '>', 0, { prefix: true })))
        .then(op.put('inside-bound', 'yes'))
        .commit();
      console.log(`txn with 60 range compares over 150 keys (9,000 key visits): ${(performance.now() - s).toFixed(0)} ms`);
      expect(ok.succeeded).toBe(true);
      const fails = await client
        .txn()
        .if(compare.value('cmp/', '=', 'other', { prefix: true }))
        .then(op.put('never', 'x'))
        .commit();
      expect(fails.succeeded).toBe(false);
      expect(await client.kv.get('reached')).toBeUndefined();
      expect(a.member.log).toMatch(/compares would visit too many keys/);
    } finally {
      reader.close();
    }
  });
});
