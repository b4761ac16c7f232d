import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/**
 * Which web pages may talk to the client port (etcd's `--cors`). A browser sends `Origin` on
 * every WebSocket upgrade and cross-site request, and lets any page open a WebSocket to
 * 127.0.0.1; without this check any page a user visits could write to a member on their
 * machine. Allowed:
 * - a request without `Origin` (cairnctl, the client library, curl: not a browser page);
 * - a same-origin request (the page was served by this very host and port);
 * - an origin listed in `--cors` (exact scheme://host[:port]), or any with `*`;
 * - the client URL of a member of this cluster (`clusterOrigins`): the web console a member
 *   serves at /ui/ talks to every member, as trusted as this member's own console.
 *
 * Not covered: a DNS-rebinding page whose name resolves to 127.0.0.1 looks same-origin (its
 * Host header is its own name); put authentication on a member a browser can reach.
 */
export class OriginPolicy {
  private readonly any: boolean;
  private readonly allowed: ReadonlySet<string>;
  private readonly clusterOrigins: () => Iterable<string>;

  /**
   * `origins` as given to --cors: '*' or origins like 'https://console.example.com'.
   * `clusterOrigins`: the members' client URLs now (asked on each request from another origin).
   */
  constructor(origins: readonly string[] = [], clusterOrigins: () => Iterable<string> = () => []) {
    this.any = origins.includes('*');
    this.allowed = new Set(origins.filter((o) => o !== '*').map(normalizeOrigin));
    this.clusterOrigins = clusterOrigins;
  }

  /** Whether the request may go on; false only for a browser page of another origin. */
  allows(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (this.any) return true;
    let normalized: string;
    try {
      normalized = normalizeOrigin(origin);
    } catch {
      // `null` (a sandboxed page, a file://) or garbage: no origin to compare.
      return false;
    }
    if (this.allowed.has(normalized)) return true;
    for (const url of this.clusterOrigins()) {
      try {
        if (normalizeOrigin(url) === normalized) return true;
      } catch {
        // A member's client URL that is not http(s) (none should be): no page comes from it.
      }
    }
    const host = req.headers.host;
    if (host === undefined) return false;
    const secure = (req.socket as Partial<TLSSocket>).encrypted === true;
    try {
      return normalizeOrigin(`${secure ? 'https' : 'http'}://${host}`) === normalized;
    } catch {
      return false;
    }
  }
}

/** scheme://host[:port], lower case, default ports dropped; throws for what is not an origin. */
export function normalizeOrigin(text: string): string {
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`not an http(s) origin: ${text}`);
  return url.origin;
}
