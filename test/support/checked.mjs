// An instance with an HTTP health check, in its own process. Its /health answers 200 until
// told otherwise: GET /set?mode=fail makes it answer 503, mode=hang makes it never answer,
// mode=ok heals it. Prints `listening <port>`, `registered`, `status <status>` on each change
// and `deregistered <check>` when its check was critical for too long.
// Arguments: endpoints service id intervalMs timeoutMs deregisterAfterMs
import { createServer } from 'node:http';
import process from 'node:process';
import { URL } from 'node:url';
import { CairnClient } from '@cairn/client';
import { register } from '@cairn/registry';

const [endpoints, service, id, intervalMs, timeoutMs, deregisterAfterMs] = process.argv.slice(2);
let mode = 'ok';
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/set') {
    mode = url.searchParams.get('mode');
    return res.end(mode);
  }
  if (url.pathname !== '/health') return res.writeHead(404).end();
  if (mode === 'hang') return; // never answers: the check's timeout decides
  res.writeHead(mode === 'ok' ? 200 : 503).end(mode);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = server.address().port;
process.stdout.write(`listening ${port}\n`);
const client = new CairnClient({ endpoints: endpoints.split(',') });
const reg = await register(client, {
  service, id, address: '127.0.0.1', port, ttlSeconds: 10, deregisterOnSignal: true,
  checks: [{ http: `http://127.0.0.1:${port}/health`, intervalMs: Number(intervalMs), timeoutMs: Number(timeoutMs), deregisterAfterMs: Number(deregisterAfterMs) }],
});
reg.on('status', (status) => process.stdout.write(`status ${status}\n`));
reg.on('deregistered', (check) => process.stdout.write(`deregistered ${check.name}\n`));
process.stdout.write('registered\n');
