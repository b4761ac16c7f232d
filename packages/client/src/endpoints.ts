import { CairnError, ErrorCode } from '@cairn/protocol';

/**
 * Turns an endpoint as a user writes it into the WebSocket URL of the member's client port.
 * Accepted: `host:port`, `http://host:port`, `https://host:port`, `ws://…`, `wss://…`
 * (a path, if any, is dropped: the API lives at `/`).
 *
 *   '127.0.0.1:2379'        -> 'ws://127.0.0.1:2379/'
 *   'http://10.0.0.5:2379'  -> 'ws://10.0.0.5:2379/'
 *   'https://db.example'    -> 'wss://db.example/'
 */
export function endpointToUrl(endpoint: string, secure = false): string {
  const raw = endpoint.trim();
  if (raw === '') throw new CairnError(ErrorCode.InvalidArgument, 'empty endpoint');
  // A bare host:port is wss:// when the client was given TLS settings.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `${secure ? 'wss' : 'ws'}://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new CairnError(ErrorCode.InvalidArgument, `invalid endpoint ${JSON.stringify(endpoint)}`);
  }
  const scheme = url.protocol.toLowerCase();
  const wsScheme =
    scheme === 'http:' || scheme === 'ws:' ? 'ws:' : scheme === 'https:' || scheme === 'wss:' ? 'wss:' : undefined;
  if (wsScheme === undefined || url.host === '') {
    throw new CairnError(ErrorCode.InvalidArgument, `invalid endpoint ${JSON.stringify(endpoint)}`);
  }
  return `${wsScheme}//${url.host}/`;
}

