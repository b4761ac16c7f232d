#!/usr/bin/env node
/**
 * greeter: a small HTTP service that shows the four recipes together.
 *
 *   - it registers itself as an instance of the `greeter` service (@cairn/registry), with an
 *     HTTP health check on its own `GET /health`, so peers stop calling it if it stops answering;
 *   - it discovers its peers and can call one (`GET /peer`);
 *   - its greeting and job interval come from `config/greeter/` and reload live (@cairn/config);
 *   - one greeter at a time, elected (@cairn/concurrency), runs a background job that counts
 *     its runs in `greeter/job/runs`, each write fenced by its leadership.
 *
 *   node examples/greeter/dist/main.js --id=a --endpoints=127.0.0.1:2379,127.0.0.1:22379
 *   curl 127.0.0.1:<port>/hello   # "hello from a"
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { Backoff, CairnClient, op } from '@cairn/client';
import { Election, Session } from '@cairn/concurrency';
import { watchConfig } from '@cairn/config';
import { discover, register } from '@cairn/registry';

const { values: flags } = parseArgs({
  options: {
    id: { type: 'string', default: `greeter-${process.pid}` },
    port: { type: 'string', default: '0' },
    endpoints: { type: 'string', default: process.env['CAIRN_ENDPOINTS'] ?? '127.0.0.1:2379' },
    'ttl-seconds': { type: 'string', default: '5' },
  },
});
const id = flags.id;
const ttlSeconds = Number(flags['ttl-seconds']);
const log = (msg: string): void => void process.stdout.write(`greeter ${id}: ${msg}\n`);

const client = new CairnClient({ endpoints: flags.endpoints.split(',') });

// 1. Configuration: typed, with defaults, hot-reloaded.
const schema = z.object({
  greeting: z.string().min(1).default('hello'),
  jobIntervalMs: z.number().int().min(50).default(1000),
});
const config = await watchConfig(client, { prefix: 'config/greeter/', schema });
config.on('change', ({ current }: { current: z.infer<typeof schema> }) => log(`config: greeting=${JSON.stringify(current.greeting)} jobIntervalMs=${current.jobIntervalMs}`));
config.on('invalid', (err: Error) => log(`config refused: ${err.message}`));

// 2. Peers: a live view of every greeter.
const peers = await discover(client, 'greeter');
peers.on('added', (i: { id: string }) => log(`peer up: ${i.id}`));
peers.on('removed', (i: { id: string }) => log(`peer down: ${i.id}`));

// 3. Leadership: one greeter runs the job.
let leading = false;
let jobRuns = 0;
const stopping = new AbortController();
/** Waits `ms` or until `signal` aborts; its abort listener goes away either way (one signal serves a whole term of job runs). */
const pause = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/** One run of the job; false if this greeter turned out not to lead any more. */
async function runJob(election: Election): Promise<boolean> {
  // Fenced: if this greeter lost its leadership, the write does not happen.
  const runs = Number((await client.kv.getString('greeter/job/runs')) ?? '0');
  const res = await client
    .txn()
    .if(election.isLeaderCompare())
    .then(op.put('greeter/job/runs', String(runs + 1)), op.put('greeter/job/last', id))
    .commit();
  if (res.succeeded) jobRuns++;
  return res.succeeded;
}

async function leadForever(): Promise<void> {
  // Between failed campaigns (no member reachable, say): 250 ms doubling to 5 s, jittered.
  const retry = new Backoff({ initialMs: 250, maxMs: 5000 });
  while (!stopping.signal.aborted) {
    let session: Session | undefined;
    try {
      session = await Session.create(client, { ttlSeconds });
      const election = new Election(session, 'greeter/leader');
      await election.campaign(id, { signal: stopping.signal });
      leading = true;
      retry.reset();
      log('elected leader');
      const lost = AbortSignal.any([session.signal, stopping.signal]);
      while (!lost.aborted) {
        try {
          if (!(await runJob(election))) break;
        } catch (err) {
          // A member going away or an election in the cluster: the session outlives it; try again.
          log(`job: ${(err as Error).message}; retrying`);
          await pause(200, lost);
          continue;
        }
        await pause(config.current.jobIntervalMs, lost);
      }
      if (!stopping.signal.aborted) log('lost leadership');
      await election.resign().catch(() => undefined);
    } catch (err) {
      if (!stopping.signal.aborted) log(`election: ${(err as Error).message}; retrying`);
      await pause(retry.next(), stopping.signal);
    } finally {
      leading = false;
      await session?.close().catch(() => undefined);
    }
  }
}
const leader = leadForever();

// 4. The HTTP service.
async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const send = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  switch (req.url ?? '') {
    case '/hello':
      return send(200, `${config.current.greeting} from ${id}`);
    case '/health':
      // What the registry's check asks every 2 s: a greeter that is shutting down says so.
      return stopping.signal.aborted ? send(503, 'stopping') : send(200, 'ok');
    case '/status':
      return send(200, { id, config: config.current, configRevision: String(config.revision), leader: leading, jobRuns, peers: peers.instances().map((i) => i.id) });
    case '/peer': {
      const others = peers.instances().filter((i) => i.id !== id);
      const peer = others[Math.floor(Math.random() * others.length)];
      if (peer === undefined) return send(503, 'no peer');
      const answer = await fetch(`http://${peer.address}:${peer.port}/hello`, { signal: AbortSignal.timeout(2000) });
      return send(200, `${peer.id} says: ${await answer.text()}`);
    }
    default:
      return send(404, 'not found');
  }
}
const server = createServer((req, res) => {
  handle(req, res).catch((err: unknown) => {
    if (!res.headersSent) res.writeHead(502);
    res.end(String((err as Error).message));
  });
});
await new Promise<void>((resolve) => server.listen(Number(flags.port), '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;

const registration = await register(client, {
  service: 'greeter',
  id,
  address: '127.0.0.1',
  port,
  ttlSeconds,
  // Run by this process: not answering /health within 1 s makes this greeter critical, and
  // peers (healthy views) drop it; critical for a minute, it deregisters itself.
  checks: [{ http: `http://127.0.0.1:${port}/health`, intervalMs: 2000, timeoutMs: 1000, deregisterAfterMs: 60_000 }],
});
registration.on('status', (status: string) => log(`health: ${status}`));
registration.on('lost', (err: Error) => log(`registration lost (${err.message}); registering again`));
log(`listening on 127.0.0.1:${port}`);

// Shut down in order: leave the registry and the election first, so nobody calls a greeter
// that is going away and the next leader takes over at once.
async function shutdown(): Promise<void> {
  stopping.abort();
  await registration.close().catch(() => undefined);
  await leader;
  peers.close();
  config.close();
  server.close();
  client.close();
  log('stopped');
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());
