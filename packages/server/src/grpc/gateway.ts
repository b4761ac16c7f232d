import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SessionHost } from '../api/session.js';

/** etcd's JSON gateway (POST /v3/...): not served yet; everything goes to the plain routes. */
export function gatewayHandler(_host: SessionHost, routes: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
  return routes;
}
