import { EventEmitter } from 'node:events';
import { z } from 'zod';
import { CairnError, ErrorCode, bytesToString, compare, op, toCairnError, type CairnClient, type KeyValue, type PrefixSnapshot, type PrefixWatch, type WatchEvent } from '@cairn/client';
import { fieldOf, invalid, normalisePrefix, parseField } from './fields.js';
import { writeFallback, type FallbackContent } from './fallback.js';
import { history, valueAt, type HistoryOptions, type Version } from './history.js';
import { Reporter } from './report.js';
import { INSTANCES, ROLLOUT_STATE, abortRollout, checkTarget, parseRollout, promoteRollout, selects, startRollout, validId, type InstanceReport, type Rollout, type RolloutEnd, type RolloutTarget } from './rollout.js';
import { mergeForSet } from './set.js';

/*
 * Layout: one key per top-level field of the schema under a prefix, each holding JSON, so a
 * namespace per environment is a prefix:
 *
 *   config/prod/greeting      "hello"
 *   config/prod/limits        {"rps":100,"burst":20}
 *   config/staging/greeting   "hi"
 *
 * Keys below a field (`config/prod/limits/x`) are not fields; `.rollout/` and `.instances/`
 * below the prefix hold staged rollouts (rollout.ts).
 */

/** Who this process is, for staged rollouts: targets select on it, and it reports what it runs. */
export interface InstanceIdentity {
  /** Unique among the config's instances: 1-128 characters, no `/`. */
  readonly id: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** TTL of the lease its report lives on (default 10): the report disappears that long after the process dies. */
  readonly ttlSeconds?: number;
}

export interface ConfigOptions<S extends z.ZodType> {
  /** The namespace, e.g. `config/prod/` (a trailing slash is added if missing). */
  readonly prefix: string;
  /** A zod schema of the whole configuration object; defaults fill in absent keys. */
  readonly schema: S;
  /** Take part in staged rollouts as this instance (without it, candidates are ignored). */
  readonly instance?: InstanceIdentity;
  /** Keep the last good config in this file, and start from it if no member answers at boot. */
  readonly fallbackFile?: string;
  /** With `fallbackFile`: how long to wait for a member at boot before starting from the file (default 3000). */
  readonly bootTimeoutMs?: number;
}

export interface ConfigChange<T> {
  readonly current: T;
  readonly previous: T;
  readonly revision: bigint;
}

/** Between attempts to reach the cluster after starting from the fallback file. */
const LIVE_RETRY_MS = { initialMs: 250, maxMs: 5000 } as const;

/**
 * A typed configuration bound to a key prefix, kept current by one prefix watch. `current` is the
 * last value that passed the schema. Each revision is applied whole or refused whole: a change
 * that fails the schema is reported (`invalid`, a CairnError `invalid_config` whose details carry
 * the issues) and the fields stay as last accepted; later revisions apply on top of those.
 * Events: `change` (ConfigChange), `invalid` (CairnError), `live` (after starting from the
 * fallback file, once the cluster's value is in force), `rollout` (the candidate this instance
 * runs changed: a Rollout, or undefined back on the base value), `saveError` (the fallback file could
 * not be written), `reportError` (the instance report could not be written; retried).
 */
export class Config<S extends z.ZodType> extends EventEmitter {
  readonly prefix: string;
  readonly schema: S;
  private value!: z.infer<S>;
  private rev = 0n;
  /** The revision of the newest write among the fields and the rollout state in force (what instances report). */
  private configRev = 0n;
  /** The fields as last accepted, parsed JSON: what `base` was validated from. */
  private accepted = new Map<string, unknown>();
  private rollout: Rollout | undefined;
  private onCandidate: Rollout | undefined;
  private candidateError: string | undefined;
  private isStale = false;
  private watch: PrefixWatch | undefined;
  private closed = false;
  private readonly reporter: Reporter | undefined;
  private saving: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  /** While running on the fallback file: the store's field keys as last seen (none accepted yet). */
  private staleRaw = new Map<string, KeyValue>();

  /** @internal use `watchConfig()` */
  constructor(
    readonly client: CairnClient,
    private readonly options: ConfigOptions<S>,
  ) {
    super();
    this.schema = options.schema;
    this.prefix = normalisePrefix(options.prefix);
    const inst = options.instance;
    if (inst !== undefined) {
      if (!validId(inst.id)) throw new CairnError(ErrorCode.InvalidArgument, `bad instance id ${JSON.stringify(inst.id)} (1-128 characters, no "/")`);
      this.reporter = new Reporter(client, this.prefix + INSTANCES + inst.id, inst.ttlSeconds ?? 10, (e) => this.emit('reportError', e));
    }
  }

  /** The configuration in force. */
  get current(): z.infer<S> {
    return this.value;
  }

  /** The revision `current` was read at (or validated at, for the last good value). */
  get revision(): bigint {
    return this.rev;
  }

  /** True while running on the fallback file because no member has answered yet. */
  get stale(): boolean {
    return this.isStale;
  }

  /** The rollout whose candidate this instance runs, if any. */
  get candidate(): Rollout | undefined {
    return this.onCandidate;
  }

  /**
   * Validates the merged configuration and writes the given fields in one transaction, so
   * watchers see them change together. Refuses (`invalid_config`, nothing written) a change the
   * schema rejects; another field's invalid value in the store does not stop it (that field
   * counts as its last accepted value). Retries if another writer changed a field in between.
   */
  async set(partial: Partial<z.infer<S>>): Promise<bigint> {
    for (let attempt = 0; ; attempt++) {
      const res = await this.client.kv.range({ key: this.prefix, prefix: true });
      const stored = new Map<string, KeyValue>();
      for (const kv of res.kvs) {
        const f = fieldOf(this.prefix, kv);
        if (f !== undefined) stored.set(f, kv);
      }
      const fields = Object.entries(partial as Record<string, unknown>).filter(([, v]) => v !== undefined);
      mergeForSet(this.prefix, this.schema, stored, new Map(fields), this.accepted);
      const guards = fields.map(([f]) => {
        const kv = stored.get(f);
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

  /** Starts a staged rollout of `values` to `target` (see `startRollout`), checked against the schema first. */
  async startRollout(values: Partial<z.infer<S>>, target: RolloutTarget): Promise<bigint> {
    checkTarget(target);
    this.validate({ ...Object.fromEntries(this.accepted), ...(values as Record<string, unknown>) });
    return startRollout(this.client, this.prefix, { values: values as Record<string, unknown>, target });
  }

  /** Promotes the rollout in progress to every instance, checked against the schema first. */
  promoteRollout(): Promise<RolloutEnd> {
    return promoteRollout(this.client, this.prefix, async (values) => {
      this.validate({ ...Object.fromEntries(this.accepted), ...values });
    });
  }

  abortRollout(): Promise<RolloutEnd> {
    return abortRollout(this.client, this.prefix);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.watch?.close();
    void this.reporter?.close();
  }

  /** In TypeScript 5.2+, `using cfg = await watchConfig(...)` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal Waits until queued instance reports and fallback-file writes are done. */
  async settled(): Promise<void> {
    await Promise.all([this.reporter?.settled(), this.saving]);
  }

  /**
   * @internal The first read, then one prefix watch (`client.watchPrefix`) keeps it current;
   * throws `invalid_config` if the first read does not pass the schema (unless running stale).
   */
  async load(): Promise<void> {
    const watch = await this.client.watchPrefix(this.prefix, {
      snapshot: (snapshot) => this.reset(snapshot),
      events: (events) => this.apply(events),
      // Compacted past where the watch was (or it failed): it reads afresh and carries on.
      error: (e) => this.emit('invalid', new CairnError(e.code, `watch of ${this.prefix} ended (${e.message}); reloading`)),
    });
    this.watch = watch;
    if (this.closed) watch.close();
  }

  /** @internal Runs on the fallback file's value until `pending` (the first load) or a retry succeeds. */
  startStale(saved: FallbackContent, pending: Promise<void>): void {
    // The first read may have finished while the file was being read: then it is live already.
    if (this.rev !== 0n) return;
    this.value = this.validate(saved.value as Record<string, unknown>);
    this.rev = BigInt(saved.revision);
    this.isStale = true;
    const retry = (delayMs: number): void => {
      this.retryTimer = setTimeout(() => {
        if (!this.closed) this.load().catch(() => retry(Math.min(delayMs * 2, LIVE_RETRY_MS.maxMs)));
      }, delayMs);
    };
    pending.catch(() => retry(LIVE_RETRY_MS.initialMs));
  }

  /** A (re)read of the prefix: the whole prefix as one revision's changes. */
  private reset(snapshot: PrefixSnapshot): void {
    const fields = new Map<string, KeyValue | undefined>();
    for (const f of this.accepted.keys()) fields.set(f, undefined);
    let rollout: KeyValue | undefined;
    let newest = 0n;
    for (const kv of snapshot.kvs) {
      const f = fieldOf(this.prefix, kv);
      if (f !== undefined) fields.set(f, kv);
      else if (bytesToString(kv.key) === this.prefix + ROLLOUT_STATE) rollout = kv;
      else continue;
      if (kv.modRevision > newest) newest = kv.modRevision;
    }
    const first = this.rev === 0n && !this.isStale;
    this.evaluate(snapshot.revision, fields, { kv: rollout }, first, newest);
  }

  private apply(events: readonly WatchEvent[]): void {
    let fields = new Map<string, KeyValue | undefined>();
    let rollout: { kv: KeyValue | undefined } | undefined;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const f = fieldOf(this.prefix, e.kv);
      if (f !== undefined) fields.set(f, e.type === 'delete' ? undefined : e.kv);
      else if (bytesToString(e.kv.key) === this.prefix + ROLLOUT_STATE) rollout = { kv: e.type === 'delete' ? undefined : e.kv };
      // Evaluate once per revision, after all of its events: a txn is seen whole.
      if (events[i + 1]?.kv.modRevision === e.kv.modRevision) continue;
      // A revision that touches neither fields nor the rollout (an instance report) changes nothing.
      if (fields.size > 0 || rollout !== undefined) this.evaluate(e.kv.modRevision, fields, rollout, false, e.kv.modRevision);
      fields = new Map();
      rollout = undefined;
    }
  }

  /**
   * Applies one revision: its field changes are accepted whole or refused whole; then the
   * candidate of a rollout that selects this instance goes on top. Swaps the value in, reports.
   */
  private evaluate(
    revision: bigint,
    fields: ReadonlyMap<string, KeyValue | undefined>,
    rollout: { kv: KeyValue | undefined } | undefined,
    first: boolean,
    changedAt: bigint,
  ): void {
    let accepted = this.accepted;
    let refused = false;
    if (fields.size > 0 || first) {
      let changes = fields;
      let next: Map<string, unknown>;
      if (this.isStale) {
        // Nothing accepted yet: each revision is checked with the whole store as last seen.
        const raw = new Map(this.staleRaw);
        for (const [f, kv] of fields) {
          if (kv === undefined) raw.delete(f);
          else raw.set(f, kv);
        }
        this.staleRaw = raw;
        next = new Map();
        changes = raw;
      } else next = new Map(this.accepted);
      try {
        for (const [f, kv] of changes) {
          if (kv === undefined) next.delete(f);
          else next.set(f, parseField(this.prefix, kv));
        }
        this.validate(Object.fromEntries(next));
        accepted = next;
      } catch (err) {
        const e = toCairnError(err);
        if (first) throw e;
        this.emit('invalid', e);
        refused = true;
      }
    }
    if (rollout !== undefined) {
      try {
        this.rollout = rollout.kv === undefined ? undefined : parseRollout(rollout.kv);
      } catch (err) {
        this.rollout = undefined;
        this.emit('invalid', toCairnError(err));
      }
    }
    // Refused: nothing changes, except a rollout step in the same revision. While running on the
    // fallback file nothing was accepted yet, so a refused live config leaves the file's in force.
    if (refused && (rollout === undefined || this.isStale)) return;
    const wasOn = this.onCandidate?.id;
    let next: z.infer<S>;
    try {
      next = this.effective(accepted);
    } catch (err) {
      // Not expected (accepted fields passed the schema); keep what runs rather than stop.
      this.emit('invalid', toCairnError(err));
      return;
    }
    this.accepted = accepted;
    const previous = this.value;
    const wasStale = this.isStale;
    this.value = next;
    this.rev = revision;
    this.configRev = changedAt;
    this.isStale = false;
    this.staleRaw.clear();
    this.report();
    if (!first && wasOn !== this.onCandidate?.id) this.emit('rollout', this.onCandidate);
    if (first) {
      this.save();
      return;
    }
    if (JSON.stringify(previous) !== JSON.stringify(next)) {
      this.save();
      this.emit('change', { current: next, previous, revision } satisfies ConfigChange<z.infer<S>>);
    } else if (wasStale) this.save();
    if (wasStale) this.emit('live', revision);
  }

  /** The accepted fields, with the candidate on top if a rollout in progress selects this instance. */
  private effective(accepted: ReadonlyMap<string, unknown>): z.infer<S> {
    const base = Object.fromEntries(accepted);
    const r = this.rollout;
    const inst = this.options.instance;
    this.onCandidate = undefined;
    this.candidateError = undefined;
    if (r?.step === 'started' && inst !== undefined && selects(r.target, inst)) {
      try {
        const v = this.validate({ ...base, ...r.values });
        this.onCandidate = r;
        return v;
      } catch (err) {
        const e = toCairnError(err);
        this.candidateError = e.message;
        this.emit('invalid', new CairnError(e.code, `rollout ${r.id}: the candidate is refused here: ${e.message}`, e.details ? { ...e.details } : undefined));
      }
    }
    return this.validate(base);
  }

  private report(): void {
    const inst = this.options.instance;
    if (this.reporter === undefined || inst === undefined) return;
    const r: InstanceReport = {
      id: inst.id,
      labels: inst.labels ?? {},
      running: this.onCandidate === undefined ? 'base' : 'candidate',
      rollout: this.onCandidate === undefined ? null : this.onCandidate.id.toString(),
      revision: this.configRev.toString(),
      ...(this.candidateError === undefined ? {} : { error: this.candidateError }),
    };
    this.reporter.report(r);
  }

  /** Queues a write of the value in force to the fallback file (writes never overlap). */
  private save(): void {
    const file = this.options.fallbackFile;
    if (file === undefined) return;
    const content: FallbackContent = { prefix: this.prefix, revision: this.rev.toString(), savedAt: new Date().toISOString(), value: this.value };
    this.saving = this.saving.then(() => writeFallback(file, content)).catch((err: unknown) => void this.emit('saveError', toCairnError(err)));
  }

  private validate(values: Record<string, unknown>): z.infer<S> {
    const r = this.schema.safeParse(values);
    if (!r.success) throw invalid(`config ${this.prefix} fails its schema: ${z.prettifyError(r.error)}`, r.error.issues);
    return r.data;
  }
}
