import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCheck } from './options.js';
import { exitStatusOf, httpStatusOf, realProbe } from './probes.js';

const timing = { intervalMs: 1000, timeoutMs: 500 };

describe('probes', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2000);
      res.writeHead(Number(req.url!.slice(1)) || 200);
      res.end('body');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('http: 2xx passing, 429 warning, 5xx and 3xx critical, no answer in time critical', async () => {
    const http = (path: string) => realProbe(parseCheck({ http: `http://127.0.0.1:${port}${path}`, ...timing }, 0));
    expect(await http('/200')).toEqual({ status: 'passing', output: 'HTTP 200 OK' });
    expect(await http('/204')).toMatchObject({ status: 'passing' });
    expect(await http('/429')).toEqual({ status: 'warning', output: 'HTTP 429 Too Many Requests' });
    expect(await http('/503')).toEqual({ status: 'critical', output: 'HTTP 503 Service Unavailable' });
    expect(await http('/302')).toMatchObject({ status: 'critical' });
    const t0 = performance.now();
    expect(await http('/slow')).toEqual({ status: 'critical', output: 'timed out after 500 ms' });
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(httpStatusOf(299)).toBe('passing');
    expect(httpStatusOf(404)).toBe('critical');
  });

  it('http and tcp: a closed port is critical with the reason', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createTcpServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    expect(await realProbe(parseCheck({ http: `http://127.0.0.1:${closed}/`, ...timing }, 0))).toEqual({ status: 'critical', output: expect.stringMatching(/ECONNREFUSED/) });
    expect(await realProbe(parseCheck({ tcp: `127.0.0.1:${closed}`, ...timing }, 0))).toEqual({ status: 'critical', output: expect.stringMatching(/ECONNREFUSED/) });
    expect(await realProbe(parseCheck({ tcp: `127.0.0.1:${port}`, ...timing }, 0))).toEqual({ status: 'passing', output: `connected to 127.0.0.1:${port}` });
  });

  it("run: Consul's exit codes (0 passing, 1 warning, else critical), output kept, too slow killed", async () => {
    const node = (code: string, timeoutMs = 2000) => realProbe(parseCheck({ run: [process.execPath, '-e', code], intervalMs: 5000, timeoutMs }, 0));
    expect(await node('console.log("disk 40% full")')).toEqual({ status: 'passing', output: 'disk 40% full' });
    expect(await node('console.error("disk 85% full"); process.exit(1)')).toEqual({ status: 'warning', output: 'disk 85% full' });
    expect(await node('process.exit(2)')).toEqual({ status: 'critical', output: 'exit 2' });
    expect(await node('console.log("x".repeat(10000))')).toMatchObject({ status: 'passing', output: expect.stringMatching(/^x{255}…$/) });
    expect(await node('setTimeout(() => {}, 10000)', 300)).toEqual({ status: 'critical', output: 'timed out after 300 ms' });
    expect(await realProbe(parseCheck({ run: ['/no/such/program'], ...timing }, 0))).toEqual({ status: 'critical', output: expect.stringMatching(/ENOENT/) });
    expect([0, 1, 2, 127, null].map(exitStatusOf)).toEqual(['passing', 'warning', 'critical', 'critical', 'critical']);
  });
});
