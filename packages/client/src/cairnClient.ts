import type { RequestDescriptor, StreamDescriptor } from '@cairn/protocol';
import { Transport, type CairnClientOptions, type CallOptions, type StreamOptions } from './transport.js';
import { Auth } from './auth.js';
import { Cluster, Maintenance } from './cluster.js';
import type { ServerHello } from './connection.js';
import { KV } from './kv.js';
import { Lease } from './lease.js';
import { Watcher, watchParams, type WatchOptions } from './watch.js';
import { PrefixWatch, type PrefixWatchHandlers, type PrefixWatchOptions } from './prefixWatch.js';
import type { BytesLike } from '@cairn/protocol';
import type { CairnStream } from './stream.js';
import type { TxnBuilder } from './txn.js';

/**
 * A client of a Cairn cluster. It connects lazily on the first call (or `connect()`), keeps one
 * WebSocket to one member, and moves to the next endpoint when that member goes away.
 *
 *   const client = new CairnClient({ endpoints: ['127.0.0.1:2379'] });
 *   await client.kv.put('greeting', 'hello');
 *   console.log(await client.kv.getString('greeting'));
 *   client.close();
 */
export class CairnClient {
  readonly kv: KV;
  readonly cluster: Cluster;
  readonly maintenance: Maintenance;
  readonly auth: Auth;
  readonly lease: Lease;
  private readonly transport: Transport;

  constructor(options: CairnClientOptions) {
    this.transport = new Transport(options);
    this.kv = new KV(this.transport);
    this.cluster = new Cluster(this.transport);
    this.maintenance = new Maintenance(this.transport);
    this.auth = new Auth(this.transport);
    this.lease = new Lease(this.transport);
  }

  /**
   * Watches a key, a range (`rangeEnd`) or a prefix (`prefix: true`) from now or from
   * `startRevision`: `for await (const batch of client.watch('k')) ...`; `cancel()` ends it.
   */
  watch(key: BytesLike, options: WatchOptions = {}): Watcher {
    const { base, start } = watchParams(key, options);
    return new Watcher(this.transport, base, start, options.signal);
  }

  /**
   * Follows every key under `prefix` as a snapshot plus its changes: reads the prefix at a
   * revision R (`handlers.snapshot`), then delivers every change after R in revision order,
   * each revision whole, none twice, none missed (`handlers.events`), across reconnects and
   * member failures. If the watch cannot go on from where it was (its history was compacted,
   * or it was refused), it reports why (`handlers.error`), re-reads the prefix after a
   * back-off and delivers a fresh snapshot with `reload: true`: the consumer replaces what it
   * built. Resolves once the first snapshot was delivered; rejects if it could not be read or
   * the snapshot handler threw (nothing is left running then).
   *
   *   const w = await client.watchPrefix('services/', {
   *     snapshot: ({ kvs, reload }) => { cache.clear(); for (const kv of kvs) cache.set(keyString(kv), kv); },
   *     events: (events) => { for (const e of events) e.type === 'delete' ? cache.delete(keyString(e.kv)) : cache.set(keyString(e.kv), e.kv); },
   *   });
   *   ...
   *   w.close();
   */
  async watchPrefix(prefix: BytesLike, handlers: PrefixWatchHandlers, options: PrefixWatchOptions = {}): Promise<PrefixWatch> {
    const w = new PrefixWatch(this, prefix, handlers, options.signal);
    await w.start();
    return w;
  }

  /** Connects now; resolves with the member's hello (cluster id, member id, version). */
  connect(options: StreamOptions = {}): Promise<ServerHello> {
    return this.transport.connect(options);
  }

  /** A transaction on this client: `client.txn().if(...).then(...).else(...).commit()`. */
  txn(): TxnBuilder {
    return this.kv.txn();
  }

  /** Any unary request of the protocol, by its descriptor. */
  request<Req, Res>(descriptor: RequestDescriptor<Req, Res>, params: Req, options: CallOptions = {}): Promise<Res> {
    return this.transport.request(descriptor, params, options);
  }

  /** Opens a stream of the protocol (watch, lease keep-alive) by its descriptor. */
  openStream<Open, ClientMsg, ServerMsg>(
    descriptor: StreamDescriptor<Open, ClientMsg, ServerMsg>,
    params: Open,
    options: StreamOptions = {},
  ): Promise<CairnStream<ClientMsg, ServerMsg>> {
    return this.transport.openStream(descriptor, params, options);
  }

  /** The endpoint currently connected to, if any. */
  get activeEndpoint(): string | undefined {
    return this.transport.activeEndpoint;
  }

  /** Whether `close()` was called. */
  get isClosed(): boolean {
    return this.transport.isClosed;
  }

  /**
   * Closes the socket. Pending requests fail with `connection_closed`; later calls too. Its
   * watches end (as if canceled) and its keep-alives stop (their leases expire after their TTL;
   * no `lost`), so nothing of the client keeps the process running.
   */
  close(): void {
    this.transport.close();
    this.lease.closeKeepAlives();
  }
}

/** Creates a client and connects it; rejects (and closes it) if no endpoint answers. */
export async function connect(options: CairnClientOptions): Promise<CairnClient> {
  const client = new CairnClient(options);
  try {
    await client.connect();
  } catch (err) {
    client.close();
    throw err;
  }
  return client;
}
