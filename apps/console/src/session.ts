// The console's connection to the cluster: one CairnClient to the member that served the page.
// Credentials live only in this object, in memory: never in localStorage, cookies or the URL;
// reloading the page logs out.
import { CairnClient, ErrorCode, toCairnError } from '@cairn/client';

export interface Session {
  readonly client: CairnClient;
  /** The endpoint the page came from, e.g. http://127.0.0.1:2379. */
  readonly endpoint: string;
  readonly authEnabled: boolean;
  /** The logged-in user (undefined: auth is off, or not logged in yet). */
  readonly user: string | undefined;
  /** Root sees users and roles; with auth off everyone is. */
  readonly isRoot: boolean;
  /** A client of one other member (the cluster page asks each directly), same credentials. */
  readonly clientOf: (endpoint: string, timeoutMs: number) => CairnClient;
}

function clientFactory(credentials: { username: string; password: string } | undefined): (endpoint: string, timeoutMs: number) => CairnClient {
  return (endpoint, timeoutMs) => new CairnClient({ endpoints: [endpoint], dialTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs, maxBackoffMs: 200, ...credentials });
}

const AUTH_NEEDED: ReadonlySet<string> = new Set([ErrorCode.UserEmpty, ErrorCode.InvalidAuthToken, ErrorCode.PermissionDenied]);

export const selfEndpoint = (): string => `${location.protocol}//${location.host}`;


/**
 * A client of the page's member first, then of every other member's client URL, so that the
 * page goes on (the client fails over) when the member that served it goes down.
 */
async function clusterClient(endpoint: string, make: (endpoints: string[]) => CairnClient): Promise<CairnClient> {
  const first = make([endpoint]);
  let others: string[];
  try {
    const list = await first.cluster.memberList();
    others = list.members.flatMap((m) => m.clientUrls.slice(0, 1)).filter((u) => u.replace(/\/$/, '') !== endpoint);
  } catch (err) {
    // Not allowed to list members (or auth needed first): this member alone. Anything else
    // (unreachable, wrong password) is the caller's error.
    if (AUTH_NEEDED.has(toCairnError(err).code)) return first;
    first.close();
    throw err;
  }
  if (others.length === 0) return first;
  first.close();
  return make([endpoint, ...others]);
}

/**
 * Connects without credentials. Resolves to a session when auth is off, or to 'login' when
 * the cluster asks for a user.
 */
export async function anonymous(endpoint: string): Promise<Session | 'login'> {
  const client = await clusterClient(endpoint, (endpoints) => new CairnClient({ endpoints, dialTimeoutMs: 5000, requestTimeoutMs: 5000 }));
  try {
    const status = await client.auth.status();
    if (!status.enabled) return { client, endpoint, authEnabled: false, user: undefined, isRoot: true, clientOf: clientFactory(undefined) };
  } catch (err) {
    if (!AUTH_NEEDED.has(toCairnError(err).code)) {
      client.close();
      throw err;
    }
  }
  client.close();
  return 'login';
}

/** Logs in: the client authenticates now, and again on each reconnect or expired token. */
export async function login(endpoint: string, username: string, password: string): Promise<Session> {
  const client = await clusterClient(endpoint, (endpoints) => new CairnClient({ endpoints, dialTimeoutMs: 5000, requestTimeoutMs: 5000, username, password }));
  try {
    await client.connect();
    let isRoot = username === 'root';
    if (!isRoot) {
      try {
        isRoot = (await client.auth.userGet(username)).roles.includes('root');
      } catch {
        // A user without root cannot read even its own roles: not root.
      }
    }
    return { client, endpoint, authEnabled: true, user: username, isRoot, clientOf: clientFactory({ username, password }) };
  } catch (err) {
    client.close();
    throw err;
  }
}
