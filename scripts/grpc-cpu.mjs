#!/usr/bin/env node
// Server CPU per unary call and per delivered watch event on one Cairn member: etcd's gRPC API
// (driven by the etcd3 client) beside Cairn's WebSocket protocol (driven by @cairn/client).
// Reads the member's utime+stime from /proc, so Linux only.
//
// Usage: node scripts/grpc-cpu.mjs [calls] [--rounds=N] [--only=range,put,txn,watch]
//          [--side=grpc|ws] [--watchers=N] [--watch-puts=N] [--watch-inflight=N]
//          [--prof=DIR] [--member=PATH]
//   calls        unary calls per measurement (4000), 32 in flight, after 500 to warm up
//   --side=grpc  only the gRPC side (or =ws only the WebSocket one), e.g. to profile it alone
//   --prof=DIR   the member runs with --cpu-prof into DIR (written when it exits on SIGTERM)
//   --member     another member entry point (a spike build); default apps/cairn/bin/cairn.js
//
// Watch: W watchers (--watchers, 32) of one key on one connection (etcd3 puts them on one gRPC
// stream), then --watch-puts (1000) puts through @cairn/client, one at a time unless
// --watch-inflight says more (one at a time, each event is a response of its own; with more in
// flight the watch hub batches revisions). The CPU of the same puts with no watcher is taken
// off, so what is left is the cost of delivering puts*W events.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';

const root = new URL('..', import.meta.url).pathname;
const req = createRequire(join(root, 'apps/bench/package.json'));
const { Etcd3 } = req('etcd3');
const { CairnClient } = await import(req.resolve('@cairn/client'));
const args = process.argv.slice(2);
const flag = (name, dflt) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const calls = Number(args.find((a) => !a.startsWith('--')) ?? 4000);
const rounds = Number(flag('rounds', 2));
const only = new Set(flag('only', 'range,put,watch').split(','));
const watchers = Number(flag('watchers', 32));
const watchInFlight = Number(flag('watch-inflight', 1));
const watchPuts = Number(flag('watch-puts', 1000));
const prof = flag('prof', undefined);
const side = flag('side', 'both');
const grpcSide = side !== 'ws';
const wsSide = side !== 'grpc';
const entry = resolve(flag('member', join(root, 'apps/cairn/bin/cairn.js')));
const concurrency = 32;
const DEADLINE_MS = 120_000;

const port = () => new Promise((r) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });
const [cp, pp] = [await port(), await port()];
const dir = mkdtempSync(join(tmpdir(), 'grpc-cpu-'));
const member = spawn(process.execPath, [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${resolve(prof)}`] : []), entry, '--name=m', `--data-dir=${dir}/m`,
  `--listen-client-urls=http://127.0.0.1:${cp}`, `--advertise-client-urls=http://127.0.0.1:${cp}`,
  `--listen-peer-urls=http://127.0.0.1:${pp}`, `--initial-advertise-peer-urls=http://127.0.0.1:${pp}`,
  `--initial-cluster=m=http://127.0.0.1:${pp}`, '--log-level=error'], { stdio: 'ignore' });
const exited = new Promise((r) => member.on('exit', r));
const ticks = () => { const f = readFileSync(`/proc/${member.pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
const TICK_US = 1e6 / 100; // USER_HZ
for (let i = 0; i < 200; i++) { try { if ((await fetch(`http://127.0.0.1:${cp}/health`)).ok) break; } catch {} await new Promise((r) => setTimeout(r, 100)); }

const load = () => `load ${loadavg()[0].toFixed(1)}`;

/** `calls` calls of `call`, 32 in flight, after a warm-up: [server CPU in µs, wall ms]. */
async function run(call, inFlight = concurrency, n = calls) {
  const t0 = ticks(); const w0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => { while (next++ < n) await call(); }));
  return [(ticks() - t0) * TICK_US, performance.now() - w0];
}

async function measure(name, call) {
  for (let i = 0; i < 500; i++) await call(); // warm-up
  const [cpuUs, wallMs] = await run(call);
  console.log(`${name}: ${calls} calls, server CPU ${(cpuUs / calls).toFixed(0)} us/call, ${Math.round(calls / (wallMs / 1000))} calls/s (${load()})`);
}

/** Resolves once `count()` reaches `n`, or fails after the deadline. */
async function until(count, n) {
  const end = Date.now() + DEADLINE_MS;
  while (count() < n) { if (Date.now() > end) throw new Error(`only ${count()} of ${n} events arrived`); await new Promise((r) => setTimeout(r, 5)); }
}

/** Opens W watchers of `key`: counters of delivered events and responses, and close. */
async function openWatchers(kind, key) {
  const n = { events: 0, responses: 0 };
  if (kind === 'gRPC') {
    const ws = await Promise.all(Array.from({ length: watchers }, () => etcd.watch().key(key).create()));
    for (const w of ws) w.on('data', (r) => { n.responses++; n.events += r.events.length; });
    return [n, () => Promise.all(ws.map((w) => w.cancel()))];
  }
  const ws = Array.from({ length: watchers }, () => cairn.watch(key));
  await Promise.all(ws.map((w) => w.created));
  for (const w of ws) void (async () => { for await (const b of w) { n.responses++; n.events += b.events.length; } })();
  return [n, async () => { for (const w of ws) w.cancel(); }];
}

async function measureWatch(name, kind) {
  const key = `w-${kind}-${name}`;
  const put = () => cairn.kv.put(key, 'v');
  for (let i = 0; i < 500; i++) await put(); // warm-up
  const [baseUs] = await run(put, watchInFlight, watchPuts);
  const [seen, close] = await openWatchers(kind, key);
  const t0 = ticks(); const w0 = performance.now();
  await run(put, watchInFlight, watchPuts);
  const n = watchPuts * watchers;
  await until(() => seen.events, n);
  const cpuUs = (ticks() - t0) * TICK_US; const wallMs = performance.now() - w0;
  await close();
  console.log(`${name}: ${n} events in ${seen.responses} responses (${watchers} watchers), server CPU ${((cpuUs - baseUs) / n).toFixed(1)} us/event over the puts' ${(baseUs / watchPuts).toFixed(0)} us/put, ${Math.round(n / (wallMs / 1000))} events/s (${load()})`);
}

const etcd = new Etcd3({ hosts: `127.0.0.1:${cp}` });
const cairn = new CairnClient({ endpoints: [`127.0.0.1:${cp}`] });
await etcd.put('k').value('v');
const txn = () => etcd.if('k', 'Value', '==', 'v').then(etcd.put('k').value('v')).else(etcd.get('k')).commit();
for (let round = 1; round <= rounds; round++) {
  if (only.has('range')) {
    if (grpcSide) await measure(`round ${round} gRPC (etcd3) range`, () => etcd.get('k').string());
    if (wsSide) await measure(`round ${round} WebSocket (@cairn/client) range`, () => cairn.kv.get('k'));
  }
  if (only.has('put')) {
    if (grpcSide) await measure(`round ${round} gRPC (etcd3) put`, () => etcd.put('k').value('v'));
    if (wsSide) await measure(`round ${round} WebSocket (@cairn/client) put`, () => cairn.kv.put('k', 'v'));
  }
  if (only.has('txn') && grpcSide) await measure(`round ${round} gRPC (etcd3) txn`, txn);
  if (only.has('watch')) {
    if (grpcSide) await measureWatch(`round ${round} gRPC (etcd3) watch`, 'gRPC');
    if (wsSide) await measureWatch(`round ${round} WebSocket (@cairn/client) watch`, 'WebSocket');
  }
}
etcd.close(); await cairn.close?.();
member.kill(prof ? 'SIGTERM' : 'SIGKILL');
await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
rmSync(dir, { recursive: true, force: true });
