/**
 * docs/monitoring.md with real processes: a 3-member cluster under a bounded load, scraped the
 * way Prometheus scrapes it. Every metric etcd's published alerting rules use is there with
 * etcd's type and moves when it should (a kill -9 of the leader is a leader change seen by the
 * survivors; a member left alone has no leader); /health, /livez and /readyz answer as etcd
 * 3.5's do, on the client port and on a --listen-metrics-urls listener; promtool accepts a scrape.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, waitFor } from './support/process.js';
import { TestCluster } from './support/cluster.js';

let cluster: TestCluster | undefined;
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && cluster !== undefined) console.log(`member warnings and errors:\n${cluster.warnings()}`);
  await cluster?.cleanup();
  cluster = undefined;
});

interface Scrape {
  readonly text: string;
  /** Metric family -> its TYPE line's type. */
  readonly types: Map<string, string>;
  /** Sample name with labels as written (`name{a="b"}`) -> value. */
  readonly samples: Map<string, number>;
}

function parse(text: string): Scrape {
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t !== null) types.set(t[1]!, t[2]!);
    else if (line !== '' && !line.startsWith('#')) {
      const at = line.lastIndexOf(' ');
      samples.set(line.slice(0, at), Number(line.slice(at + 1)));
    }
  }
  return { text, types, samples };
}

async function scrape(base: string): Promise<Scrape> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}

/** The value of one sample: `name` alone, or `name{labels}` as the exposition writes them. */
function value(s: Scrape, name: string): number {
  const v = s.samples.get(name);
  if (v === undefined) throw new Error(`no sample ${name} in the scrape`);
  return v;
}

/** Sum of every sample of `name` whose labels contain all of `labels` (`k="v"` pieces). */
function sum(s: Scrape, name: string, ...labels: string[]): number {
  let total = 0;
  for (const [k, v] of s.samples) {
    if (k !== name && !k.startsWith(`${name}{`)) continue;
    if (labels.every((l) => k.includes(l))) total += v;
  }
  return total;
}

/** What etcd's alerting rules (etcd-io/etcd contrib/mixin) read, with etcd's type for each. */
const ALERTED: readonly (readonly [string, string])[] = [
  ['etcd_server_has_leader', 'gauge'],
  ['etcd_server_leader_changes_seen_total', 'counter'],
  ['etcd_server_proposals_failed_total', 'counter'],
  ['etcd_server_proposals_pending', 'gauge'],
  ['etcd_disk_wal_fsync_duration_seconds', 'histogram'],
  ['etcd_disk_backend_commit_duration_seconds', 'histogram'],
  ['etcd_mvcc_db_total_size_in_bytes', 'gauge'],
  ['etcd_server_quota_backend_bytes', 'gauge'],
  ['etcd_network_peer_round_trip_time_seconds', 'histogram'],
  ['grpc_server_handled_total', 'counter'],
];

const promtool = spawnSync('promtool', ['--version']).status === 0;

async function text(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

describe('metrics and health endpoints', () => {
  it("a loaded 3-member cluster exposes etcd's alerting metrics, typed as etcd's, and they move", async () => {
    const metricsPorts = [await freePort(), await freePort(), await freePort()];
    cluster = await TestCluster.create({ extraYaml: (name) => [`listen-metrics-urls: http://127.0.0.1:${metricsPorts[Number(name.slice(4)) - 1]!}`] });
    await cluster.start();
    const c = cluster;
    const metricsUrl = (i: number): string => `http://127.0.0.1:${metricsPorts[i]!}`;
    const clientUrl = (i: number): string => `http://${c.endpoints[i]!}`;

    // A bounded load: 300 puts from 3 writers, a watch that sees them all, and some reads.
    const client = c.client();
    let seen = 0;
    const watch = client.watch('load/', { prefix: true });
    const reading = (async () => {
      for await (const r of watch) seen += r.events.length;
    })().catch(() => undefined);
    await watch.created;
    for (let w = 0; w < 3; w++) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => client.kv.put(`load/${w}/${i}`, 'x'.repeat(100))));
    }
    for (let i = 0; i < 20; i++) await client.kv.get(`load/0/${i}`);
    await waitFor('the watch to see all 300 puts', () => seen >= 300, 20_000);
    await c.converged();
    const leader = await c.leader();

    const ids = (await c.statuses()).map((st) => st!.header.memberId.toString(16));
    const scrapes = await Promise.all([0, 1, 2].map((i) => scrape(metricsUrl(i))));
    for (const [i, s] of scrapes.entries()) {
      for (const [name, type] of ALERTED) expect(s.types.get(name), `${name} on member ${i}`).toBe(type);
      expect(value(s, 'etcd_server_has_leader')).toBe(1);
      expect(value(s, 'etcd_server_is_leader')).toBe(i === leader ? 1 : 0);
      expect(value(s, 'etcd_server_leader_changes_seen_total')).toBeGreaterThanOrEqual(1);
      expect(value(s, 'etcd_server_proposals_failed_total')).toBe(0);
      expect(value(s, 'etcd_server_proposals_applied_total')).toBeGreaterThanOrEqual(300);
      expect(value(s, 'etcd_server_quota_backend_bytes')).toBe(2 * 1024 ** 3);
      expect(value(s, 'etcd_mvcc_db_total_size_in_bytes')).toBeGreaterThan(0);
      expect(value(s, 'etcd_debugging_mvcc_keys_total')).toBe(300);
      // Every member fsyncs the entries it acknowledges.
      expect(value(s, 'etcd_disk_wal_fsync_duration_seconds_count')).toBeGreaterThan(0);
      expect(value(s, 'etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"}')).toBe(value(s, 'etcd_disk_wal_fsync_duration_seconds_count'));
      expect(value(s, 'etcd_disk_backend_commit_duration_seconds_count')).toBeGreaterThan(0);
      // Links are dialled by the first message: the leader reaches both followers, a follower the leader.
      const probed = i === leader ? ids.filter((_, j) => j !== i) : [ids[leader]!];
      for (const to of probed) expect(value(s, `etcd_network_peer_round_trip_time_seconds_count{To="${to}"}`), `RTT ${i} -> ${to}`).toBeGreaterThanOrEqual(1);
      expect(sum(s, 'etcd_network_peer_sent_bytes_total')).toBeGreaterThan(0);
      expect(sum(s, 'etcd_network_peer_received_bytes_total')).toBeGreaterThan(0);
    }
    // The 300 puts were answered by the members the client talked to, as etcd's KV/Put.
    const puts = scrapes.reduce((n, s) => n + sum(s, 'grpc_server_handled_total', 'grpc_service="etcdserverpb.KV"', 'grpc_method="Put"', 'grpc_code="OK"'), 0);
    expect(puts).toBe(300);
    const ranges = scrapes.reduce((n, s) => n + sum(s, 'grpc_server_handled_total', 'grpc_method="Range"', 'grpc_code="OK"'), 0);
    expect(ranges).toBeGreaterThanOrEqual(20);
    const watching = scrapes.find((s) => value(s, 'etcd_debugging_mvcc_watcher_total') === 1);
    expect(watching, 'the member holding the watch').toBeDefined();
    expect(value(watching!, 'etcd_debugging_mvcc_watch_stream_total')).toBe(1);
    expect(value(watching!, 'etcd_debugging_mvcc_events_total')).toBeGreaterThanOrEqual(300);
    expect(scrapes.reduce((n, s) => n + value(s, 'etcd_network_client_grpc_received_bytes_total'), 0)).toBeGreaterThan(300 * 100);

    // The client port serves the same families.
    expect((await scrape(clientUrl(0))).types.get('etcd_server_has_leader')).toBe('gauge');

    if (promtool) {
      const check = spawnSync('promtool', ['check', 'metrics'], { input: scrapes[0]!.text, encoding: 'utf8' });
      // Exit 3 is lint findings only (1 would be a format error). The only finding allowed is
      // the one etcd's own names draw: gauges named *_total (and prom-client's nodejs_*_total).
      expect([0, 3], check.stderr + check.stdout).toContain(check.status);
      const findings = (check.stderr + check.stdout).split('\n').filter((l) => l.trim() !== '');
      for (const f of findings) expect(f).toMatch(/^(etcd_debugging_mvcc_\w+_total|etcd_server_proposals_(applied|committed)_total|nodejs_\w+_total) non-counter metrics should not have "_total" suffix$/);
    } else {
      console.log('promtool check metrics skipped: promtool is not installed (apt-get install prometheus provides it)');
    }
    watch.cancel();
    await reading;

    // kill -9 the leader: both survivors see a leader change.
    const survivors = [0, 1, 2].filter((i) => i !== leader);
    const before = survivors.map((i) => value(scrapes[i]!, 'etcd_server_leader_changes_seen_total'));
    await c.members[leader]!.kill();
    for (const [k, i] of survivors.entries()) {
      await waitFor(
        `member ${i} to see a new leader`,
        async () => {
          const s = await scrape(metricsUrl(i));
          return value(s, 'etcd_server_has_leader') === 1 && value(s, 'etcd_server_leader_changes_seen_total') > before[k]!;
        },
        30_000,
        200,
      );
    }

    // Stop one more: the last member has no leader once check-quorum deposes it (or it never leads).
    const [alone, other] = survivors as [number, number];
    await c.members[other]!.kill();
    await waitFor('the lone member to report has_leader 0', async () => value(await scrape(metricsUrl(alone)), 'etcd_server_has_leader') === 0, 30_000, 200);
    const lone = await scrape(metricsUrl(alone));
    expect(value(lone, 'etcd_server_is_leader')).toBe(0);
    expect(sum(lone, 'etcd_network_peer_sent_failures_total')).toBeGreaterThan(0);

    // Its health, as etcd 3.5 answers it: alive, not ready, healthy only serializably.
    for (const base of [clientUrl(alone), metricsUrl(alone)]) {
      const h = await fetch(`${base}/health`);
      expect(h.status).toBe(503);
      expect(await h.json()).toEqual({ health: 'false', reason: 'RAFT NO LEADER' });
      const hs = await fetch(`${base}/health?serializable=true`);
      expect(hs.status).toBe(200);
      expect(await hs.json()).toEqual({ health: 'true', reason: '' });
      expect(await text(`${base}/livez`)).toEqual({ status: 200, body: 'ok\n' });
      expect(await text(`${base}/livez?verbose`)).toEqual({ status: 200, body: '[+]serializable_read ok\nok\n' });
      const ready = await text(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.body).toMatch(/^\[\+\]data_corruption ok\n\[\+\]serializable_read ok\n\[-\]linearizable_read failed: .+\n$/);
      expect(await text(`${base}/readyz?exclude=linearizable_read`)).toEqual({ status: 200, body: 'ok\n' });
      expect(await text(`${base}/readyz?exclude=linearizable_read&verbose`)).toEqual({ status: 200, body: '[+]data_corruption ok\n[+]serializable_read ok\nok\n' });
      // Excluding a check that does not exist is not an error (etcd's compatibility rule).
      expect((await text(`${base}/readyz?exclude=linearizable_read&exclude=nope`)).status).toBe(200);
      expect(await text(`${base}/readyz/serializable_read`)).toEqual({ status: 200, body: 'ok\n' });
      expect((await text(`${base}/readyz/linearizable_read`)).status).toBe(503);
      expect((await text(`${base}/readyz/nope`)).status).toBe(404);
    }
    // The metrics listener serves only the metrics and health endpoints.
    expect((await fetch(`${metricsUrl(alone)}/version`)).status).toBe(404);
    expect((await fetch(`${clientUrl(alone)}/version`)).status).toBe(200);

    // A peer back: ready again, on both ports.
    await c.start([other]);
    await waitFor('the member to be ready again', async () => (await text(`${metricsUrl(alone)}/readyz`)).status === 200, 30_000, 200);
    expect(await text(`${clientUrl(alone)}/readyz?verbose`)).toEqual({ status: 200, body: '[+]data_corruption ok\n[+]serializable_read ok\n[+]linearizable_read ok\nok\n' });
  });
});
