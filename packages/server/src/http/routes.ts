import type { IncomingMessage, ServerResponse } from 'node:http';
import { CLUSTER_VERSION, SERVER_VERSION } from '../member.js';
import type { Metrics } from './metrics.js';
import { parseTarget, serveHealth, serveProbe, type HealthHost } from './health.js';
import { serveConsole, type ConsoleFiles } from './console.js';

export interface HttpHost {
  readonly metrics: Metrics;
  readonly health: HealthHost;
}

export interface HttpOptions {
  /** Answer /version (the client port does, the metrics listeners do not). */
  readonly version: boolean;
  /** Serve the web console at /ui/ (the client port only); its files, or undefined and why not. */
  readonly console?: { readonly files: ConsoleFiles | undefined; readonly unavailable: string; readonly peers: () => Iterable<string> };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Plain HTTP, as etcd serves it on the client port and on each --listen-metrics-urls listener:
 *   GET /metrics -> Prometheus text
 *   GET /health  -> {"health":"true","reason":""} (503 with "false" and a reason when unhealthy)
 *   GET /livez, /readyz (and /livez/<check>, /readyz/<check>) -> "ok" (health.ts)
 *   GET /version -> {"cairnserver":"0.1.0","cairncluster":"0.1.0"} (client port only)
 *   GET /ui/...  -> the web console (client port only; console.ts)
 */
export function httpHandler(host: HttpHost, options: HttpOptions = { version: true }): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET');
      json(res, 405, { message: 'method not allowed' });
      return;
    }
    let target: ReturnType<typeof parseTarget>;
    try {
      target = parseTarget(req);
    } catch {
      json(res, 400, { message: 'bad request target' });
      return;
    }
    const { path, query } = target;
    switch (path) {
      case '/health':
        serveHealth(host.health, query, res);
        return;
      case '/version':
        if (!options.version) break;
        json(res, 200, { cairnserver: SERVER_VERSION, cairncluster: CLUSTER_VERSION });
        return;
      case '/metrics':
        host.metrics.text().then(
          (text) => {
            res.writeHead(200, { 'content-type': host.metrics.contentType });
            res.end(text);
          },
          (err: unknown) => json(res, 500, { message: String(err) }),
        );
        return;
      default:
        if (serveProbe(host.health, path, query, res)) return;
        if (options.console !== undefined && serveConsole(options.console.files, options.console.unavailable, options.console.peers, path, req, res)) return;
    }
    json(res, 404, { message: 'not found' });
  };
}
