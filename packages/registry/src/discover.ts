import { EventEmitter } from 'node:events';
import { CairnError, bytesToString, toCairnError, type CairnClient, type KeyValue, type PrefixSnapshot, type PrefixWatch, type WatchEvent } from '@cairn/client';
import { DEFAULT_PREFIX, isHealthy, parseInstance, sameInstance, servicePrefix, type Instance } from './instance.js';
import { createPicker, type PickStrategy, type Picker, type Random } from './pickers.js';

export interface DiscoverOptions {
  /** Key prefix of the registry (default `services/`). */
  readonly prefix?: string;
  /** For the random and weighted pickers (default Math.random). */
  readonly random?: Random;
  /**
   * Show critical instances too (default false: the view holds passing and warning instances,
   * and one turning critical is `removed` from it, then `added` back when it recovers).
   * Pickers never choose a critical instance either way.
   */
  readonly includeUnhealthy?: boolean;
}

/** One change of a view, at the revision that made it. */
export type ServiceChange =
  | { readonly type: 'added'; readonly instance: Instance; readonly revision: bigint }
  | { readonly type: 'removed'; readonly instance: Instance; readonly revision: bigint }
  | { readonly type: 'updated'; readonly instance: Instance; readonly previous: Instance; readonly revision: bigint };

/**
 * The live set of a service's instances, kept by one prefix watch (`client.watchPrefix`): a
 * snapshot, then every change after it, so nothing between the read and the watch is missed. `instances()` answers from
 * memory. Events: `added`, `removed`, `updated` (Instance, and the previous one for updated),
 * `change` (ServiceChange) for each of them, `invalid` (CairnError) for a malformed value (it is
 * skipped), `error` never: the watch resumes on its own across reconnects, and a compacted
 * history makes the view reload and emit the difference. `status` (Instance, previous Instance)
 * whenever an instance's health status changes, whether or not the view shows it.
 */
export class ServiceView extends EventEmitter implements AsyncIterable<ServiceChange> {
  readonly prefix: string;
  /** Every instance under the prefix, shown or not. */
  private readonly byKey = new Map<string, Instance>();
  private readonly pickers = new Map<PickStrategy, Picker>();
  private watch: PrefixWatch | undefined;
  private closed = false;
  private rev = 0n;

  /** @internal use `discover()` */
  constructor(
    private readonly client: CairnClient,
    readonly service: string,
    private readonly options: DiscoverOptions,
  ) {
    super();
    this.prefix = servicePrefix(options.prefix ?? DEFAULT_PREFIX, service);
  }

  /** The instances now (without critical ones unless includeUnhealthy), sorted by id. */
  instances(): Instance[] {
    return [...this.byKey.values()].filter((i) => this.shows(i)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** One instance the view shows. */
  get(id: string): Instance | undefined {
    const i = this.byKey.get(`${this.prefix}${id}`);
    return i !== undefined && this.shows(i) ? i : undefined;
  }

  get size(): number {
    let n = 0;
    for (const i of this.byKey.values()) if (this.shows(i)) n++;
    return n;
  }

  private shows(i: Instance): boolean {
    return this.options.includeUnhealthy === true || isHealthy(i);
  }

  /** The store revision the view reflects. */
  get revision(): bigint {
    return this.rev;
  }

  /** One instance by the strategy (default round-robin); undefined if there is none. */
  pick(strategy: PickStrategy = 'round-robin'): Instance | undefined {
    let p = this.pickers.get(strategy);
    if (p === undefined) this.pickers.set(strategy, (p = this.picker(strategy)));
    return p.pick(this.instances());
  }

  /** A picker of its own (its own round-robin position), over this view's instances. */
  picker(strategy: PickStrategy): Picker {
    return createPicker(strategy, this.options.random);
  }

  /** Every change from now on, until `close()`. */
  async *[Symbol.asyncIterator](): AsyncGenerator<ServiceChange> {
    const queue: ServiceChange[] = [];
    let wake: (() => void) | undefined;
    const onChange = (c: ServiceChange): void => {
      queue.push(c);
      wake?.();
    };
    const onClose = (): void => wake?.();
    this.on('change', onChange);
    this.once('closed', onClose);
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (this.closed) return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      this.off('change', onChange);
      this.off('closed', onClose);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watch?.close();
    this.emit('closed');
  }

  /** In TypeScript 5.2+, `using view = await discover(...)` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal Reads the instances and starts following them. */
  async load(): Promise<void> {
    this.watch = await this.client.watchPrefix(this.prefix, {
      snapshot: (snapshot) => this.reset(snapshot),
      events: (events, revision) => this.apply(events, revision),
      // The history it needed is compacted (or the watch failed otherwise): it reads afresh.
      error: (e) => this.emit('invalid', new CairnError(e.code, `watch of ${this.prefix} ended (${e.message}); reloading`)),
    });
    if (this.closed) this.watch.close();
  }

  /** A (re)read of the prefix: after a reload, reports what changed while the view was not following. */
  private reset(snapshot: PrefixSnapshot): void {
    const fresh = new Map<string, Instance>();
    for (const kv of snapshot.kvs) {
      const inst = this.decode(kv);
      if (inst !== undefined) fresh.set(bytesToString(kv.key), inst);
    }
    for (const [k, old] of this.byKey) if (!fresh.has(k)) this.remove(k, old, snapshot.revision);
    for (const [k, inst] of fresh) this.set(k, inst, snapshot.revision);
    this.rev = snapshot.revision;
  }

  private apply(events: readonly WatchEvent[], revision: bigint): void {
    for (const e of events) {
      const k = bytesToString(e.kv.key);
      if (e.type === 'delete') {
        const old = this.byKey.get(k);
        if (old !== undefined) this.remove(k, old, e.kv.modRevision);
      } else {
        const inst = this.decode(e.kv);
        if (inst !== undefined) this.set(k, inst, e.kv.modRevision);
      }
    }
    this.rev = revision;
  }

  private decode(kv: KeyValue): Instance | undefined {
    try {
      return parseInstance(bytesToString(kv.key), bytesToString(kv.value));
    } catch (err) {
      this.emit('invalid', toCairnError(err));
      return undefined;
    }
  }

  private set(key: string, inst: Instance, revision: bigint): void {
    const old = this.byKey.get(key);
    this.byKey.set(key, inst);
    if (old !== undefined && old.status !== inst.status) this.emit('status', inst, old);
    const was = old !== undefined && this.shows(old);
    const is = this.shows(inst);
    if (!was && is) this.report({ type: 'added', instance: inst, revision });
    // Turned critical in a healthy view: it leaves, with its new (critical) reading.
    else if (was && !is) this.report({ type: 'removed', instance: inst, revision });
    else if (was && is && !sameInstance(old, inst)) this.report({ type: 'updated', instance: inst, previous: old, revision });
  }

  private remove(key: string, old: Instance, revision: bigint): void {
    this.byKey.delete(key);
    if (this.shows(old)) this.report({ type: 'removed', instance: old, revision });
  }

  private report(c: ServiceChange): void {
    if (c.type === 'updated') this.emit('updated', c.instance, c.previous);
    else this.emit(c.type, c.instance);
    this.emit('change', c);
  }
}

/**
 * A live view of a service's instances; resolves after the first read.
 *
 *   const payments = await discover(client, 'payments');
 *   const target = payments.pick('weighted');   // { address, port, ... } or undefined
 *   payments.on('removed', (i) => console.log('gone:', i.id));
 */
export async function discover(client: CairnClient, service: string, options: DiscoverOptions = {}): Promise<ServiceView> {
  const view = new ServiceView(client, service, options);
  await view.load();
  return view;
}
