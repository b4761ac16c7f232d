#!/usr/bin/env node
// Server CPU per unary call on one Cairn member: etcd's gRPC (grpc-js server, driven by the
// etcd3 client) beside Cairn's WebSocket protocol (driven by @cairn/client). Reads the
// member's utime+stime from /proc, so Linux only. Usage: node scripts/grpc-cpu.mjs [calls]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const root = new URL('..', import.meta.url).pathname;
const req = createRequire(join(root, 'apps/bench/package.json'));
const { Etcd3 } = req('etcd3');
const { CairnClient } = await import(req.resolve('@cairn/client'));
const calls = Number(process.argv[2] ?? 4000);
const concurrency = 32;

const port = () => new Promise((r) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });
const [cp, pp] = [await port(), await port()];
const dir = mkdtempSync(join(tmpdir(), 'grpc-cpu-'));
const member = spawn(process.execPath, [join(root, 'apps/cairn/bin/cairn.js'), '--name=m', `--data-dir=${dir}/m`,
  `--listen-client-urls=http://127.0.0.1:${cp}`, `--advertise-client-urls=http://127.0.0.1:${cp}`,
  `--listen-peer-urls=http://127.0.0.1:${pp}`, `--initial-advertise-peer-urls=http://127.0.0.1:${pp}`,
  `--initial-cluster=m=http://127.0.0.1:${pp}`, '--log-level=error'], { stdio: 'ignore' });
const ticks = () => { const f = readFileSync(`/proc/${member.pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
const TICK_US = 1e6 / 100; // USER_HZ
for (let i = 0; i < 200; i++) { try { if ((await fetch(`http://127.0.0.1:${cp}/health`)).ok) break; } catch {} await new Promise((r) => setTimeout(r, 100)); }

async function measure(name, call) {
  for (let i = 0; i < 500; i++) await call(); // warm-up
  const t0 = ticks(); const w0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => { while (next++ < calls) await call(); }));
  const cpuUs = (ticks() - t0) * TICK_US; const wallMs = performance.now() - w0;
  console.log(`${name}: ${calls} calls, server CPU ${(cpuUs / calls).toFixed(0)} us/call, ${Math.round(calls / (wallMs / 1000))} calls/s`);
}

const etcd = new Etcd3({ hosts: `127.0.0.1:${cp}` });
const cairn = new CairnClient({ endpoints: [`127.0.0.1:${cp}`] });
await etcd.put('k').value('v');
for (const round of [1, 2]) {
  await measure(`round ${round} gRPC (etcd3) range`, () => etcd.get('k').string());
  await measure(`round ${round} WebSocket (@cairn/client) range`, () => cairn.kv.get('k'));
  await measure(`round ${round} gRPC (etcd3) put`, () => etcd.put('k').value('v'));
  await measure(`round ${round} WebSocket (@cairn/client) put`, () => cairn.kv.put('k', 'v'));
}
etcd.close(); await cairn.close?.();
member.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });
