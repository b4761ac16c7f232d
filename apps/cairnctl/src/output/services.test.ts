// Golden output of `service list` and `service get` for fixed data, in every format.
import { describe, expect, it } from 'vitest';
import type { Instance } from '@cairn/registry';
import { metadataText, serviceGetJson, serviceGetTable, serviceGetText, serviceListJson, serviceListTable, serviceListText, summarise, type InstanceRow } from './services.js';

const header = { clusterId: 4743318255719025844n, memberId: 10057029971166822686n, revision: 12n, raftTerm: 2n };
const base = { service: 'payments', port: 8080, weight: 1, metadata: {}, registeredAt: '2026-12-07T10:00:00.000Z', checks: [] } as const;
const pay1: Instance = { ...base, id: 'pay-1', address: '10.0.0.7', weight: 2, metadata: { zone: 'eu-1', version: '2.3.0' }, status: 'passing', checks: [{ name: 'http http://10.0.0.7:8080/health', status: 'passing', output: 'HTTP 200 OK' }] };
const pay2: Instance = { ...base, id: 'pay-2', address: '::1', status: 'critical', checks: [{ name: 'http http://[::1]:8080/health', status: 'critical', output: 'HTTP 503 Service Unavailable' }] };
const pay3: Instance = { ...base, id: 'pay-3', address: '10.0.0.9', metadata: { note: 'a, b' }, status: 'warning' };
const rows: InstanceRow[] = [
  { instance: pay1, key: 'services/payments/pay-1', modRevision: 10n, lease: 0x694d77aa9e38260fn, ttlSeconds: 9, grantedTtlSeconds: 10 },
  { instance: pay2, key: 'services/payments/pay-2', modRevision: 11n, lease: 0x694d77aa9e382610n, ttlSeconds: 10, grantedTtlSeconds: 10 },
  { instance: pay3, key: 'services/payments/pay-3', modRevision: 12n, lease: 0n, ttlSeconds: undefined, grantedTtlSeconds: undefined },
];
const list = [summarise('greeter', [{ ...pay1, service: 'greeter' }]), summarise('payments', [pay1, pay2, pay3])];

describe('service list', () => {
  it('simple: the table cells, comma-separated', () => {
    expect(serviceListText(list)).toBe('greeter, 1, 1, 0, 0\npayments, 3, 1, 1, 1\n');
    expect(serviceListText([])).toBe('');
  });
  it('table', () => {
    expect(serviceListTable(list)).toBe(
      [
        '+----------+-----------+---------+---------+----------+',
        '| SERVICE  | INSTANCES | PASSING | WARNING | CRITICAL |',
        '+----------+-----------+---------+---------+----------+',
        '|  greeter |         1 |       1 |       0 |        0 |',
        '| payments |         3 |       1 |       1 |        1 |',
        '+----------+-----------+---------+---------+----------+',
        '',
      ].join('\n'),
    );
  });
  it('json: zero counts printed', () => {
    expect(serviceListJson(header, list)).toBe(
      '{"header":{"cluster_id":4743318255719025844,"member_id":10057029971166822686,"revision":12,"raft_term":2},"services":[' +
        '{"name":"greeter","instances":1,"passing":1,"warning":0,"critical":0},{"name":"payments","instances":3,"passing":1,"warning":1,"critical":1}]}\n',
    );
  });
});

describe('service get', () => {
  it('simple: one line per instance; IPv6 bracketed; no lease is -; ambiguous metadata quoted', () => {
    expect(serviceGetText(rows)).toBe(
      'pay-1, passing, 10.0.0.7:8080, 2, 9s, version=2.3.0 zone=eu-1\n' +
        'pay-2, critical, [::1]:8080, 1, 10s, \n' +
        'pay-3, warning, 10.0.0.9:8080, 1, -, note="a, b"\n',
    );
    expect(serviceGetText([{ ...rows[0]!, ttlSeconds: -1 }])).toContain(', expired, ');
    expect(metadataText({ 'a=b': '', z: 'x"y', ok: 'é' })).toBe('"a=b"="" ok="é" z="x\\"y"');
  });
  it('table', () => {
    expect(serviceGetTable(rows)).toBe(
      [
        '+-------+----------+---------------+--------+----------+-------------------------+',
        '|  ID   |  STATUS  |    ADDRESS    | WEIGHT | TTL LEFT |        METADATA         |',
        '+-------+----------+---------------+--------+----------+-------------------------+',
        '| pay-1 |  passing | 10.0.0.7:8080 |      2 |       9s | version=2.3.0 zone=eu-1 |',
        '| pay-2 | critical |    [::1]:8080 |      1 |      10s |                         |',
        '| pay-3 |  warning | 10.0.0.9:8080 |      1 |        - |             note="a, b" |',
        '+-------+----------+---------------+--------+----------+-------------------------+',
        '',
      ].join('\n'),
    );
  });
  it('json: the record, its lease in hex, TTL left, the checks with their output', () => {
    const json = JSON.parse(serviceGetJson(header, 'payments', rows)) as { service: string; instances: Record<string, unknown>[] };
    expect(json.service).toBe('payments');
    expect(json.instances[0]).toEqual({
      id: 'pay-1',
      status: 'passing',
      address: '10.0.0.7',
      port: 8080,
      weight: 2,
      metadata: { zone: 'eu-1', version: '2.3.0' },
      registered_at: '2026-12-07T10:00:00.000Z',
      lease: '694d77aa9e38260f',
      ttl_left_seconds: 9,
      granted_ttl_seconds: 10,
      checks: [{ name: 'http http://10.0.0.7:8080/health', status: 'passing', output: 'HTTP 200 OK' }],
      key: 'services/payments/pay-1',
      mod_revision: 10,
    });
    // Not on a lease: no lease and TTL fields at all.
    expect(Object.keys(json.instances[2]!)).toEqual(['id', 'status', 'address', 'port', 'weight', 'metadata', 'registered_at', 'checks', 'key', 'mod_revision']);
  });
});
