/**
 * etcd's JSON gateway on Cairn's client port (POST /v3/...), the answers compared with a real
 * etcd's for the same requests (ids and the cluster's identity aside).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cairnBesideEtcd, etcdToolsMissing } from './support/etcd.js';

const missing = etcdToolsMissing(['etcd', 'etcdctl']);
if (missing !== undefined) console.warn(`etcd-gateway.test.ts: no side-by-side comparison: ${missing}`);

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** The cluster's identity, lease ids and the raft term differ between any two clusters. */
function normalise(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v).replace(/"(cluster_id|member_id|raft_term|ID)":"\d+"/g, '"$1":"N"'));
}

async function post(endpoint: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://${endpoint}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers });
  return { status: res.status, body: await res.json() };
}

describe('the JSON gateway', () => {
  let cairn: string;
  let etcd: string | undefined;
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ cairn, etcd, stop } = await cairnBesideEtcd(missing === undefined));
  }, 60_000);
  afterAll(async () => {
    await stop?.();
  });

  /** Posts to Cairn (and etcd, when there is one) and expects the same answer from both. */
  async function same(path: string, body: unknown): Promise<unknown> {
    const a = await post(cairn, path, body);
    if (etcd !== undefined) {
      const b = await post(etcd, path, body);
      expect({ status: a.status, body: normalise(a.body) }, `POST ${path} ${JSON.stringify(body)}`).toEqual({ status: b.status, body: normalise(b.body) });
    }
    return a.body;
  }

  it('puts, ranges, runs a txn and deletes, as etcd answers', async () => {
    await same('/v3/kv/put', { key: b64('g/a'), value: b64('1') });
    await same('/v3/kv/put', { key: b64('g/b'), value: b64('2'), prev_kv: true });
    const r = (await same('/v3/kv/range', { key: b64('g/a') })) as { kvs: { value: string }[]; count: string };
    expect(r.count).toBe('1');
    expect(Buffer.from(r.kvs[0]!.value, 'base64').toString()).toBe('1');
    await same('/v3/kv/range', { key: b64('g/'), range_end: b64('g0'), keys_only: true });
    await same('/v3/kv/txn', {
      compare: [{ target: 'VALUE', result: 'EQUAL', key: b64('g/a'), value: b64('1') }],
      success: [{ request_put: { key: b64('g/c'), value: b64('3') } }],
      failure: [{ request_range: { key: b64('g/a') } }],
    });
    await same('/v3/kv/deleterange', { key: b64('g/'), range_end: b64('g0') });
    await same('/v3/kv/range', { key: b64('nothing') });
  });

  it('answers errors with etcd\'s words and codes', async () => {
    await same('/v3/kv/range', { key: b64('g/a'), revision: '100000' });
    await same('/v3/lease/revoke', { ID: '12345' });
    await same('/v3/auth/authenticate', { name: 'nobody', password: 'x' });
    const bad = await post(cairn, '/v3/kv/range', 'not json');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 3 });
  });

  it('grants a lease and reads its time to live', async () => {
    const g = (await post(cairn, '/v3/lease/grant', { TTL: '60' })).body as { ID: string; TTL: string };
    expect(g.TTL).toBe('60');
    const t = (await post(cairn, '/v3/lease/timetolive', { ID: g.ID })).body as { TTL: string; grantedTTL: string };
    expect(t.grantedTTL).toBe('60');
    expect(Number(t.TTL)).toBeGreaterThan(50);
  });

  it('streams a watch as {"result": ...} lines', async () => {
    const ctrl = new AbortController();
    const res = await fetch(`http://${cairn}/v3/watch`, { method: 'POST', body: JSON.stringify({ create_request: { key: b64('gw') } }), signal: ctrl.signal });
    const reader = res.body!.getReader();
    const lines: string[] = [];
    let buf = '';
    const readLine = async (): Promise<unknown> => {
      while (!buf.includes('\n')) {
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buf += new TextDecoder().decode(value);
      }
      const i = buf.indexOf('\n');
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      return JSON.parse(line);
    };
    expect(await readLine()).toMatchObject({ result: { created: true } });
    await post(cairn, '/v3/kv/put', { key: b64('gw'), value: b64('v') });
    expect(await readLine()).toMatchObject({ result: { events: [{ kv: { key: b64('gw'), value: b64('v') } }] } });
    ctrl.abort();
  });
});
