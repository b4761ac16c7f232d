/**
 * `cairnctl service list` and `service get` against a 3-member cluster, with golden output:
 * instances registered by @cairn/registry with real checks (an HTTP server that answers, a
 * closed TCP port, a command that exits 1), read by the built cairnctl as a user runs it.
 * What changes from run to run (ports, lease ids, ids in the header, seconds left) is checked,
 * then replaced by a placeholder before the comparison.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register, type Registration } from '@cairn/registry';
import { ctl } from './support/process.js';
import { TestCluster } from './support/cluster.js';

const TTL_SECONDS = 30;
let cluster: TestCluster;
let server: Server;
let httpPort = 0;
let closedPort = 0;
const regs: Registration[] = [];
let endpoints = '';

beforeAll(async () => {
  server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  httpPort = (server.address() as AddressInfo).port;
  closedPort = await new Promise<number>((resolve) => {
    const s = createTcpServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  cluster = await TestCluster.create();
  await cluster.start();
  endpoints = `--endpoints=${cluster.endpoints.join(',')}`;
  const client = cluster.client();
  const check = { intervalMs: 5000, timeoutMs: 2000 };
  const base = { service: 'payments', port: 8080, ttlSeconds: TTL_SECONDS };
  regs.push(
    await register(client, { ...base, id: 'pay-1', address: '10.0.0.7', weight: 2, metadata: { zone: 'eu-1', version: '2.3.0' }, checks: [{ http: `http://127.0.0.1:${httpPort}/health`, ...check }] }),
    await register(client, { ...base, id: 'pay-2', address: '10.0.0.8', checks: [{ name: 'db', tcp: `127.0.0.1:${closedPort}`, ...check }] }),
    await register(client, { ...base, id: 'pay-3', address: '::1', metadata: { note: 'a, b' }, checks: [{ name: 'disk', run: [process.execPath, '-e', 'console.log("disk 91% full"); process.exit(1)'], ...check }] }),
    await register(client, { service: 'greeter', id: 'g-1', address: '127.0.0.1', port: 9000, ttlSeconds: TTL_SECONDS }),
  );
  // Written by hand, not by the registry: not on a lease, no checks (an older writer's record).
  await client.kv.put('services/legacy/l-1', '{"service":"legacy","id":"l-1","address":"10.0.0.1","port":80,"metadata":{},"weight":1,"registeredAt":"2026-12-01T00:00:00.000Z"}');
  await client.kv.put('services/payments/garbage', '{not json');
});

afterAll(async () => {
  for (const r of regs) await r.close().catch(() => undefined);
  await cluster?.cleanup();
  server?.close();
});

/** Seconds left on a fresh lease: at most its TTL, and not much less on a busy machine. */
function ttl(text: string): string {
  const n = Number(text);
  expect(n).toBeLessThanOrEqual(TTL_SECONDS);
  expect(n).toBeGreaterThan(TTL_SECONDS - 10);
  return '<ttl>';
}

const WARNING = 'warning: services/payments/garbage: not JSON; skipped\n';

describe('cairnctl service commands on three members', () => {
  it('service list: simple (the default), table, json', async () => {
    const simple = await ctl([endpoints, 'service', 'list']);
    expect(simple).toEqual({ code: 0, stdout: 'greeter, 1, 1, 0, 0\nlegacy, 1, 1, 0, 0\npayments, 3, 1, 1, 1\n', stderr: WARNING });

    const table = await ctl([endpoints, 'service', 'list', '-w', 'table']);
    expect(table.code).toBe(0);
    expect(table.stdout).toBe(
      [
        '+----------+-----------+---------+---------+----------+',
        '| SERVICE  | INSTANCES | PASSING | WARNING | CRITICAL |',
        '+----------+-----------+---------+---------+----------+',
        '|  greeter |         1 |       1 |       0 |        0 |',
        '|   legacy |         1 |       1 |       0 |        0 |',
        '| payments |         3 |       1 |       1 |        1 |',
        '+----------+-----------+---------+---------+----------+',
        '',
      ].join('\n'),
    );

    const json = await ctl([endpoints, '-w', 'json', 'service', 'list']);
    expect(json.code).toBe(0);
    const header = /^\{"header":\{"cluster_id":\d+,"member_id":\d+,"revision":\d+,"raft_term":\d+\},/;
    expect(json.stdout).toMatch(header);
    expect(json.stdout.replace(header, '{"header":<header>,')).toBe(
      '{"header":<header>,"services":[{"name":"greeter","instances":1,"passing":1,"warning":0,"critical":0},' +
        '{"name":"legacy","instances":1,"passing":1,"warning":0,"critical":0},' +
        '{"name":"payments","instances":3,"passing":1,"warning":1,"critical":1}]}\n',
    );
  });

  it('service get: simple, the same from each member alone, table', async () => {
    const golden = 'pay-1, passing, 10.0.0.7:8080, 2, <ttl>, version=2.3.0 zone=eu-1\npay-2, critical, 10.0.0.8:8080, 1, <ttl>, \npay-3, warning, [::1]:8080, 1, <ttl>, note="a, b"\n';
    const simple = await ctl([endpoints, 'service', 'get', 'payments']);
    expect(simple.code, simple.stderr).toBe(0);
    expect(simple.stderr).toBe(WARNING);
    expect(simple.stdout.replace(/, (\d+)s, /g, (_m, n: string) => `, ${ttl(n)}, `)).toBe(golden);
    for (const ep of cluster.endpoints) {
      const alone = await ctl([`--endpoints=${ep}`, 'service', 'get', 'payments']);
      expect(alone.stdout.replace(/, (\d+)s, /g, (_m, n: string) => `, ${ttl(n)}, `), `through ${ep}`).toBe(golden);
    }
    expect((await ctl([endpoints, 'service', 'get', 'legacy'])).stdout).toBe('l-1, passing, 10.0.0.1:80, 1, -, \n');

    const table = await ctl([endpoints, 'service', 'get', 'payments', '-w', 'table']);
    expect(table.code).toBe(0);
    expect(table.stdout.replace(/ {2,}(\d+)s \|/g, (_m, n: string) => `${' '.repeat(_m.length - 7)}${ttl(n)} |`)).toBe(
      [
        '+-------+----------+---------------+--------+----------+-------------------------+',
        '|  ID   |  STATUS  |    ADDRESS    | WEIGHT | TTL LEFT |        METADATA         |',
        '+-------+----------+---------------+--------+----------+-------------------------+',
        '| pay-1 |  passing | 10.0.0.7:8080 |      2 |    <ttl> | version=2.3.0 zone=eu-1 |',
        '| pay-2 | critical | 10.0.0.8:8080 |      1 |    <ttl> |                         |',
        '| pay-3 |  warning |    [::1]:8080 |      1 |    <ttl> |             note="a, b" |',
        '+-------+----------+---------------+--------+----------+-------------------------+',
        '',
      ].join('\n'),
    );
  });

  it('service get -w json: each record with its lease, TTL left and the output of its checks', async () => {
    const res = await ctl([endpoints, 'service', 'get', 'payments', '-w', 'json']);
    expect(res.code).toBe(0);
    const doc = JSON.parse(res.stdout) as { header: Record<string, unknown>; service: string; instances: Record<string, unknown>[] };
    expect(Object.keys(doc.header)).toEqual(['cluster_id', 'member_id', 'revision', 'raft_term']);
    const leases = new Map(regs.map((r) => [r.instance.id, r.lease!.toString(16).padStart(16, '0')]));
    for (const i of doc.instances) {
      expect(i['lease']).toBe(leases.get(i['id'] as string));
      expect(i['granted_ttl_seconds']).toBe(TTL_SECONDS);
      i['ttl_left_seconds'] = ttl(String(i['ttl_left_seconds']));
      expect(Date.parse(i['registered_at'] as string)).toBeGreaterThan(Date.now() - 120_000);
      expect(i['mod_revision']).toBeGreaterThan(0);
      i['lease'] = i['registered_at'] = i['mod_revision'] = '<varies>';
    }
    const v = { lease: '<varies>', ttl_left_seconds: '<ttl>', granted_ttl_seconds: TTL_SECONDS };
    expect(doc.service).toBe('payments');
    expect(doc.instances).toEqual([
      { id: 'pay-1', status: 'passing', address: '10.0.0.7', port: 8080, weight: 2, metadata: { zone: 'eu-1', version: '2.3.0' }, registered_at: '<varies>', ...v, checks: [{ name: `http http://127.0.0.1:${httpPort}/health`, status: 'passing', output: 'HTTP 200 OK' }], key: 'services/payments/pay-1', mod_revision: '<varies>' },
      { id: 'pay-2', status: 'critical', address: '10.0.0.8', port: 8080, weight: 1, metadata: {}, registered_at: '<varies>', ...v, checks: [{ name: 'db', status: 'critical', output: `connect ECONNREFUSED 127.0.0.1:${closedPort}` }], key: 'services/payments/pay-2', mod_revision: '<varies>' },
      { id: 'pay-3', status: 'warning', address: '::1', port: 8080, weight: 1, metadata: { note: 'a, b' }, registered_at: '<varies>', ...v, checks: [{ name: 'disk', status: 'warning', output: 'disk 91% full' }], key: 'services/payments/pay-3', mod_revision: '<varies>' },
    ]);
  });

  it('errors: an unknown service, a name with a slash, no name, -w fields, a dead cluster', async () => {
    expect(await ctl([endpoints, 'service', 'get', 'nosuch'])).toEqual({ code: 1, stdout: '', stderr: 'Error: service "nosuch" has no instances under services/nosuch/\n' });
    expect(await ctl([endpoints, 'service', 'get', 'a/b'])).toEqual({ code: 128, stdout: '', stderr: 'Error: a service name has no \'/\', got "a/b"\n' });
    expect(await ctl([endpoints, 'service', 'get'])).toEqual({ code: 128, stdout: '', stderr: 'Error: service get command needs a service name\n' });
    expect(await ctl([endpoints, 'service', 'list', '-w', 'fields'])).toEqual({ code: 4, stdout: '', stderr: 'Error: fields not supported as output format\n' });
    // Another prefix: nothing there, an empty list.
    expect(await ctl([endpoints, 'service', 'list', '--prefix', 'elsewhere'])).toEqual({ code: 0, stdout: '', stderr: '' });
    const down = await ctl(['--endpoints=127.0.0.1:1', '--dial-timeout=500ms', 'service', 'list']);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/^Error: .*127\.0\.0\.1:1/);
  });
});
