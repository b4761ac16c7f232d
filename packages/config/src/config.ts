import { EventEmitter } from 'node:events';
import { z } from 'zod';
import { CairnError, ErrorCode, bytesToString, compare, op, toCairnError, type CairnClient, type KeyValue, type PrefixSnapshot, type PrefixWatch, type WatchEvent } from '@cairn/client';
import { fieldOf, invalid, parseField } from './fields.js';
import { history, valueAt, type HistoryOptions, type Version } from './history.js';

/*
 * Layout: one key per top-level field of the schema under a prefix, each holding JSON, so a
 * namespace per environment is a prefix:
 *
 *   config/prod/greeting      "hello"
 *   config/prod/limits        {"rps":100,"burst":20}
 *   config/staging/greeting   "hi"
 *
 * Keys below a field (`config/prod/limits/x`) are not part of the config and are ignored.
 */

export interface ConfigOptions<S extends z.ZodType> {
  /** The namespace, e.g. `config/prod/` (a trailing slash is added if missing). */
  readonly prefix: string;
  /** A zod schema of the whole configuration object; defaults fill in absent keys. */
  readonly schema: S;
}

export interface ConfigChange<T> {
  readonly current: T;
  readonly previous: T;
  readonly revision: bigint;
}

/**
 * A typed configuration bound to a key prefix, kept current by one prefix watch. `current` is the last
 * value that passed the schema; a change that fails it is reported (`invalid`, a CairnError
 * `invalid_config` whose details carry the issues) and the last good value stays. Every revision
 * is applied whole: keys written in one transaction change together, never half.
 * Events: `change` (ConfigChange), `invalid` (CairnError).
 */
export class Config<S extends z.ZodType> extends EventEmitter {
  readonly prefix: string;
  private value!: z.infer<S>;
  private rev = 0n;
  /** The raw JSON of every field key, as of `rev`. */
  private readonly raw = new Map<string, KeyValue>();
  private watch: PrefixWatch | undefined;
  private closed = false;

  /** @internal use `watchConfig()` */
  constructor(
    readonly client: CairnClient,
    readonly schema: S,
    prefix: string,
  ) {
    super();
    this.prefix = prefix.endsWith('/') ? prefix : `${prefix}/`;
  }

  /** The configuration in force. */
  get current(): z.infer<S> {
    return this.value;
  }

  /** The revision `current` was read at (or validated at, for the last good value). */
  get revision(): bigint {
    return this.rev;
  }

  /**
   * Validates the merged configuration and writes the given fields in one transaction, so
   * watchers see them change together. Refuses (`invalid_config`, nothing written) a change the
   * schema rejects; retries if another writer changed a field in between.
   */
  async set(partial: Partial<z.infer<S>>): Promise<bigint> {
    for (let attempt = 0; ; attempt++) {
      const res = await this.client.kv.range({ key: this.prefix, prefix: true });
      const values: Record<string, unknown> = {};
      const seen = new Map<string, KeyValue>();
      for (const kv of res.kvs) {
        const f = fieldOf(this.prefix, kv);
        if (f === undefined) continue;
        seen.set(f, kv);
        values[f] = parseField(this.prefix, kv);
      }
      const fields = Object.entries(partial as Record<string, unknown>).filter(([, v]) => v !== undefined);
      for (const [f, v] of fields) values[f] = v;
      this.validate(values);
      const guards = fields.map(([f]) => {
        const kv = seen.get(f);
        return kv === undefined ? compare.create(this.prefix + f, '=', 0) : compare.mod(this.prefix + f, '=', kv.modRevision);
      });
      const txn = await this.client
        .txn()
        .if(...guards)
        .then(...fields.map(([f, v]) => op.put(this.prefix + f, JSON.stringify(v))))
        .commit();
      if (txn.succeeded) return txn.header.revision;
      if (attempt >= 10) throw new CairnError(ErrorCode.Timeout, `config ${this.prefix}: too many concurrent writers`);
    }
  }

  /** A field's past values, newest first (see `history`). */
  fieldHistory(field: string, options: HistoryOptions = {}): Promise<Version[]> {
    return history(this.client, this.prefix + field, options);
  }

  /**
   * Restores the value a field had as of `revision`, checked against the schema first
   * (`invalid_config` and nothing written if the restored config would not pass).
   */
  async rollback(field: string, revision: bigint): Promise<bigint> {
    const old = await valueAt(this.client, this.prefix + field, revision);
    if (old === undefined) throw new CairnError(ErrorCode.KeyNotFound, `config ${this.prefix}: ${field} did not exist at revision ${revision}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(old);
    } catch {
      throw invalid(`config ${this.prefix}: ${field} at revision ${revision} is not JSON`, []);
    }
    return this.set({ [field]: parsed } as Partial<z.infer<S>>);
  }

  close(): void {
    this.closed = true;
    this.watch?.close();
  }

  /** In TypeScript 5.2+, `using cfg = await watchConfig(...)` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * @internal The first read, then one prefix watch (`client.watchPrefix`) keeps it current;
   * throws `invalid_config` if the first read does not pass the schema.
   */
  async load(): Promise<void> {
    this.watch = await this.client.watchPrefix(this.prefix, {
      snapshot: (snapshot) => this.reset(snapshot),
      events: (events) => this.apply(events),
      // Compacted past where the watch was (or it failed): it reads afresh and carries on.
      error: (e) => this.emit('invalid', new CairnError(e.code, `watch of ${this.prefix} ended (${e.message}); reloading`)),
    });
    if (this.closed) this.watch.close();
  }

  /** A (re)read of the prefix; on a reload the difference is reported as one change. */
  private reset(snapshot: PrefixSnapshot): void {
    this.raw.clear();
    for (const kv of snapshot.kvs) if (fieldOf(this.prefix, kv) !== undefined) this.raw.set(bytesToString(kv.key), kv);
    const next = this.evaluate(snapshot.revision, !snapshot.reload);
    if (next !== undefined) this.value = next;
    this.rev = snapshot.revision;
  }

  private apply(events: readonly WatchEvent[]): void {
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (fieldOf(this.prefix, e.kv) !== undefined) {
        if (e.type === 'delete') this.raw.delete(bytesToString(e.kv.key));
        else this.raw.set(bytesToString(e.kv.key), e.kv);
      }
      // Evaluate once per revision, after all of its events: a txn is seen whole.
      if (events[i + 1]?.kv.modRevision === e.kv.modRevision) continue;
      this.evaluate(e.kv.modRevision, false);
    }
  }

  /** Builds and checks the config from `raw`; swaps it in and reports. Returns it if valid. */
  private evaluate(revision: bigint, first: boolean): z.infer<S> | undefined {
    let next: z.infer<S>;
    try {
      const values: Record<string, unknown> = {};
      for (const kv of this.raw.values()) values[fieldOf(this.prefix, kv)!] = parseField(this.prefix, kv);
      next = this.validate(values);
    } catch (err) {
      const e = toCairnError(err);
      if (first) throw e;
      this.emit('invalid', e);
      return undefined;
    }
    if (first) return next;
    const previous = this.value;
    if (JSON.stringify(previous) === JSON.stringify(next)) {
      this.rev = revision;
      return next;
    }
    this.value = next;
    this.rev = revision;
    this.emit('change', { current: next, previous, revision } satisfies ConfigChange<z.infer<S>>);
    return next;
  }

  private validate(values: Record<string, unknown>): z.infer<S> {
    const r = this.schema.safeParse(values);
    if (!r.success) throw invalid(`config ${this.prefix} fails its schema: ${z.prettifyError(r.error)}`, r.error.issues);
    return r.data;
  }
}

/**
 * Loads the configuration under `prefix`, checks it against `schema`, and keeps it current.
 *
 *   const cfg = await watchConfig(client, { prefix: 'config/prod/', schema: z.object({ greeting: z.string() }) });
 *   cfg.current.greeting;                       // typed, synchronous
 *   cfg.on('change', ({ current }) => ...);
 */
export async function watchConfig<S extends z.ZodType>(client: CairnClient, options: ConfigOptions<S>): Promise<Config<S>> {
  const cfg = new Config(client, options.schema, options.prefix);
  await cfg.load();
  return cfg;
}
