/**
 * Discovery bootstrap: `cairn --discovery cairn://HOST:PORT/discovery/TOKEN` turns a token made
 * by `cairnctl discovery new --size=N` into this member's initial cluster, before the server
 * starts. Each member registers its name and peer URLs under the token on the discovery
 * cluster (an existing Cairn cluster), waits until N members have registered, and takes the
 * first N by create_revision: every member computes the same list. The key layout is
 * @cairn/client's discoveryKeys.
 */
import { existsSync, readdirSync } from 'node:fs';
import {
  CairnClient,
  CairnError,
  ErrorCode,
  compare,
  discoveryKeys,
  op,
  parseDiscoveryUrl,
  traitsOf,
  type DiscoveryKeys,
  type KeyValue,
  type WatchEvent,
} from '@cairn/client';

/** Why a discovery failed; `DiscoveryError.failure`. */
export const DiscoveryFailure = {
  InvalidUrl: 'invalid_url',
  TokenNotFound: 'token_not_found',
  BadSize: 'bad_size',
  /** `size` members registered before this one: the token is used up. */
  ClusterFull: 'cluster_full',
  /** This name is registered with other peer URLs. */
  NameTaken: 'name_taken',
  DuplicatePeerUrl: 'duplicate_peer_url',
  BadRegistration: 'bad_registration',
  Unreachable: 'unreachable',
  /** The discovery cluster answered with an error (e.g. permission denied). */
  Refused: 'refused',
  Timeout: 'timeout',
} as const;
export type DiscoveryFailure = (typeof DiscoveryFailure)[keyof typeof DiscoveryFailure];

/** A discovery that cannot succeed; the message is one line starting with `discovery: `. */
export class DiscoveryError extends Error {
  override readonly name = 'DiscoveryError';
  readonly failure: DiscoveryFailure;
  constructor(failure: DiscoveryFailure, message: string, cause?: unknown) {
    super(`discovery: ${message}`, cause === undefined ? undefined : { cause });
    this.failure = failure;
  }
}

export interface DiscoveryLogger {
  info(message: string, fields?: Record<string, unknown>): void;
}

export interface DiscoveryOptions {
  /** `cairn://HOST:PORT[,HOST:PORT...]/discovery/TOKEN`. */
  readonly url: string;
  /** This member's name (`--name`). */
  readonly name: string;
  /** This member's advertised peer URLs (`--initial-advertise-peer-urls`). */
  readonly peerUrls: readonly string[];
  /** Deadline of the whole resolution, waiting for the other members included. */
  readonly timeoutMs: number;
  readonly logger?: DiscoveryLogger;
  /** Deadline of each request to the discovery cluster (and of the dial). Default 5000. */
  readonly requestTimeoutMs?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 5000;

/** What every step talks to: the discovery cluster, the token's keys, the deadline, the log. */
interface Talk {
  readonly client: CairnClient;
  readonly keys: DiscoveryKeys;
  readonly signal: AbortSignal;
  readonly logger: DiscoveryLogger | undefined;
}

/** A member's registration: its peer URLs, and when it registered (its key's create revision). */
interface Registration {
  readonly peerUrls: string[];
  readonly createRevision: bigint;
}

/** What the token holds: name -> registration, as of `revision`. */
interface Registry {
  readonly members: Map<string, Registration>;
  revision: bigint;
}

const text = new TextDecoder();
const normalise = (urls: readonly string[]): string[] => urls.map((u) => new URL(u).href.replace(/\/$/, '')).sort();
const sameUrls = (a: readonly string[], b: readonly string[]): boolean => normalise(a).join(',') === normalise(b).join(',');

/**
 * Resolves the discovery URL to the initial cluster, name -> peer URLs, of exactly `size`
 * members in registration order, this member among them. Registering again with the same
 * name and URLs (a restart during bootstrap) is harmless. Throws DiscoveryError.
 */
export async function resolveDiscovery(options: DiscoveryOptions): Promise<Map<string, string[]>> {
  const { name, peerUrls, logger } = options;
  let token: string;
  let endpoints: string[];
  try {
    ({ token, endpoints } = parseDiscoveryUrl(options.url));
  } catch (err) {
    throw new DiscoveryError(DiscoveryFailure.InvalidUrl, (err as Error).message);
  }
  const keys = discoveryKeys(token);
  const where = endpoints.join(',');
  const requestTimeoutMs = Math.min(options.timeoutMs, options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
  const client = new CairnClient({ endpoints, dialTimeoutMs: requestTimeoutMs, requestTimeoutMs });
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), options.timeoutMs);
  const t: Talk = { client, keys, signal: deadline.signal, logger };
  let registry: Registry | undefined;
  let size = 0;
  try {
    // Connect first, so that an unreachable cluster says why rather than "deadline exceeded".
    await client.connect({ signal: deadline.signal });
    size = await readSize(t, token, where);
    registry = await list(t);
    // Refuse before registering when the token is used up without us.
    if (registry.members.size >= size && !firstBySize(registry, size).has(name)) throw full(size, registry, token);
    await register(t, name, peerUrls);
    registry = await list(t);
    await waitForMembers(t, registry, size);
    const chosen = firstBySize(registry, size);
    if (!chosen.has(name)) throw full(size, registry, token);
    checkDistinctUrls(chosen);
    logger?.info(`discovery: initial cluster of ${size} resolved`, { initialCluster: initialClusterText(chosen) });
    return chosen;
  } catch (err) {
    if (err instanceof DiscoveryError) throw err;
    if (deadline.signal.aborted) {
      const have = registry === undefined ? '' : ` (${registry.members.size} of ${size} registered)`;
      throw new DiscoveryError(DiscoveryFailure.Timeout, `timed out after ${options.timeoutMs} ms waiting for the members of token ${token}${have}`, err);
    }
    throw clientFailure(err, where);
  } finally {
    clearTimeout(timer);
    client.close();
  }
}

/** `name=url,...`, the form of --initial-cluster. */
export function initialClusterText(cluster: ReadonlyMap<string, readonly string[]>): string {
  return [...cluster].flatMap(([n, urls]) => urls.map((u) => `${n}=${u}`)).join(',');
}

/**
 * Whether the data dir already holds a member (not missing, not empty). Like etcd, a member
 * that was bootstrapped before restarts from its data and does not ask the discovery cluster.
 */
export function dataDirInitialized(dataDir: string): boolean {
  return existsSync(dataDir) && readdirSync(dataDir).length > 0;
}

/**
 * Whether a failure says the discovery cluster could not be reached (nothing answered, it is
 * not a Cairn cluster of this version, or it has no leader) rather than that it refused us.
 */
function unreachable(code: string): boolean {
  const t = traitsOf(code);
  return t.resumable || t.tryNextEndpoint || code === ErrorCode.UnsupportedVersion;
}

function clientFailure(err: unknown, where: string): DiscoveryError {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof CairnError && !unreachable(err.code)) {
    return new DiscoveryError(DiscoveryFailure.Refused, `the discovery cluster at ${where} refused: ${message}`, err);
  }
  return new DiscoveryError(DiscoveryFailure.Unreachable, `cannot reach the discovery cluster at ${where}: ${message}`, err);
}

function full(size: number, registry: Registry, token: string): DiscoveryError {
  const names = [...firstBySize(registry, size).keys()].join(', ');
  return new DiscoveryError(DiscoveryFailure.ClusterFull, `cluster is full (size ${size}); token ${token} already bootstrapped ${names}`);
}

async function readSize({ client, keys, signal }: Talk, token: string, where: string): Promise<number> {
  const raw = await client.kv.getString(keys.size, { signal });
  if (raw === undefined) throw new DiscoveryError(DiscoveryFailure.TokenNotFound, `token ${token} not found on the discovery cluster at ${where}`);
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new DiscoveryError(DiscoveryFailure.BadSize, `token ${token} has a malformed size ${JSON.stringify(raw)}`);
  return Number(raw);
}

function registration(name: string, kv: KeyValue): Registration {
  const peerUrls = text.decode(kv.value).split(',');
  try {
    normalise(peerUrls);
  } catch {
    throw new DiscoveryError(DiscoveryFailure.BadRegistration, `member ${JSON.stringify(name)} registered malformed peer URLs ${JSON.stringify(text.decode(kv.value))}`);
  }
  return { peerUrls, createRevision: kv.createRevision };
}

async function list({ client, keys, signal }: Talk): Promise<Registry> {
  const res = await client.kv.range({ key: keys.members, prefix: true, signal });
  const members = new Map<string, Registration>();
  for (const kv of res.kvs) {
    const n = text.decode(kv.key).slice(keys.members.length);
    members.set(n, registration(n, kv));
  }
  return { members, revision: res.header.revision };
}

/** Creates this member's key only if absent; an existing one must hold the same URLs. */
async function register({ client, keys, signal, logger }: Talk, name: string, peerUrls: readonly string[]): Promise<void> {
  const key = keys.member(name);
  for (;;) {
    const res = await client
      .txn()
      .if(compare.create(key, '=', 0))
      .then(op.put(key, peerUrls.join(',')))
      .else(op.get(key))
      .commit({ signal });
    if (res.succeeded) {
      logger?.info(`discovery: registered ${name}`, { peerUrls });
      return;
    }
    const got = res.responses[0];
    const kv = got !== undefined && 'range' in got ? got.range.kvs[0] : undefined;
    // Deleted between the compare and the get: try again.
    if (kv === undefined) continue;
    const theirs = registration(name, kv).peerUrls;
    if (!sameUrls(theirs, peerUrls)) {
      throw new DiscoveryError(
        DiscoveryFailure.NameTaken,
        `member name ${JSON.stringify(name)} is already registered with peer URLs ${theirs.join(',')}, not ${peerUrls.join(',')}`,
      );
    }
    logger?.info(`discovery: ${name} was registered before with the same peer URLs; continuing`, { peerUrls });
    return;
  }
}

function apply(registry: Registry, keys: DiscoveryKeys, e: WatchEvent): void {
  const n = text.decode(e.kv.key).slice(keys.members.length);
  if (e.type === 'delete') registry.members.delete(n);
  else registry.members.set(n, registration(n, e.kv));
}

/** Follows the registrations with a watch until `size` are there (or the deadline aborts it). */
async function waitForMembers(t: Talk, registry: Registry, size: number): Promise<void> {
  const { client, keys, signal, logger } = t;
  let said = -1;
  const progress = (): void => {
    const have = registry.members.size;
    if (have === said || have >= size) return;
    said = have;
    logger?.info(`discovery: ${have} of ${size} members registered; waiting for ${size - have} more`, { registered: [...registry.members.keys()] });
  };
  while (registry.members.size < size) {
    progress();
    const watch = client.watch(keys.members, { prefix: true, startRevision: registry.revision + 1n, signal });
    try {
      for await (const batch of watch) {
        for (const e of batch.events) apply(registry, keys, e);
        if (batch.header.revision > registry.revision) registry.revision = batch.header.revision;
        if (registry.members.size >= size) break;
        progress();
      }
    } catch (err) {
      // History gone: read the registrations afresh and watch from there.
      if (!(err instanceof CairnError && err.code === ErrorCode.Compacted)) throw err;
      const fresh = await list(t);
      registry.members.clear();
      for (const [n, r] of fresh.members) registry.members.set(n, r);
      registry.revision = fresh.revision;
    } finally {
      watch.cancel();
    }
    if (signal.aborted) throw new CairnError(ErrorCode.Canceled, 'deadline');
  }
}

/** The first `size` registrations by create revision, in that order. */
function firstBySize(registry: Registry, size: number): Map<string, string[]> {
  const ordered = [...registry.members].sort(([, a], [, b]) => (a.createRevision < b.createRevision ? -1 : a.createRevision > b.createRevision ? 1 : 0));
  return new Map(ordered.slice(0, size).map(([n, r]) => [n, r.peerUrls]));
}

function checkDistinctUrls(cluster: ReadonlyMap<string, readonly string[]>): void {
  const owner = new Map<string, string>();
  for (const [n, urls] of cluster) {
    for (const u of normalise(urls)) {
      const other = owner.get(u);
      if (other !== undefined) {
        throw new DiscoveryError(DiscoveryFailure.DuplicatePeerUrl, `members ${other} and ${n} registered the same peer URL ${u}`);
      }
      owner.set(u, n);
    }
  }
}
