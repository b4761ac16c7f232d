// Temporary probe (not committed): leader kill -9 -> new leader seen -> first acked write, N trials.
import { CairnClient } from '@cairn/client';
import { startCluster } from './dist/clusterBench.js';
const trials = Number(process.argv[2] ?? '5');
const cluster = await startCluster('cairn');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
try {
  const rows = [];
  for (let t = 0; t < trials; t++) {
    const endpoints = cluster.nodes.map((n) => n.endpoint);
    const w = new CairnClient({ endpoints, dialTimeoutMs: 2000, requestTimeoutMs: 10_000 });
    const acks = [];
    let stopped = false;
    let n = 0;
    const loops = Array.from({ length: 16 }, async () => {
      while (!stopped) {
        const startedMs = Date.now();
        try { await w.kv.put(`failover/${n++}`, 'v'); acks.push({ startedMs, ackedMs: Date.now() }); } catch { await sleep(10); }
      }
    });
    await sleep(1000);
    const leader = await cluster.leader();
    const killedAt = Date.now();
    await cluster.nodes[leader].kill();
    const watchers = cluster.nodes.map((nd, i) => i === leader ? undefined : new CairnClient({ endpoints: [nd.endpoint], dialTimeoutMs: 1000, requestTimeoutMs: 1000 })).filter(Boolean);
    let electedMs;
    const deadline = killedAt + 30_000;
    const after = () => acks.find((a) => a.startedMs > killedAt);
    while (Date.now() < deadline && after() === undefined) {
      if (electedMs === undefined) {
        for (const c of watchers) { try { const st = await c.maintenance.status(); if (st.leader !== 0n && st.leader === st.header.memberId) { electedMs = Date.now() - killedAt; } } catch {} }
      }
      await sleep(5);
    }
    stopped = true; await Promise.all(loops); w.close(); for (const c of watchers) c.close();
    const first = after();
    rows.push({ elected: electedMs, firstAck: first ? first.ackedMs - killedAt : Infinity, firstAckStartedAfterKill: first ? first.startedMs - killedAt : undefined });
    console.log(JSON.stringify(rows[rows.length - 1]));
    cluster.nodes[leader].start();
    await sleep(3000);
  }
  const s = rows.map((r) => r.firstAck).sort((a, b) => a - b);
  console.log('median firstAck', s[Math.floor(s.length / 2)], 'all', rows.map((r) => r.firstAck).join(' '));
} finally {
  await cluster.stop();
}
