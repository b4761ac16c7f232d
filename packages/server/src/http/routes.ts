import type { IncomingMessage, ServerResponse } from 'node:http';
import { CLUSTER_VERSION, SERVER_VERSION } from '../member.js';
import type { Metrics } from './metrics.js';

export interface HttpHost {
  readonly metrics: Metrics;
  /** Empty when healthy, else why not. */
  healthProblem(): string;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Plain HTTP on the client port, as etcd serves it:
 *   GET /health  -> {"health":"true","reason":""} (503 with "false" and a reason when unhealthy)
 *   GET /version -> {"cairnserver":"0.1.0","cairncluster":"0.1.0"}
 *   GET /metrics -> Prometheus text
 */
export function httpHandler(host: HttpHost): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(res, 405, { message: 'method not allowed' });
      return;
    }
    switch (path) {
      case '/health': {
        const problem = host.healthProblem();
        json(res, problem === '' ? 200 : 503, { health: problem === '' ? 'true' : 'false', reason: problem });
        return;
      }
      case '/version':
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
        json(res, 404, { message: 'not found' });
    }
  };
}
