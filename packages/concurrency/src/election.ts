import { CairnError, ErrorCode, bytesToString, compare, op, toCairnError, type BytesLike, type KeyValue, type ResponseHeader } from '@cairn/client';
import { acquire, leave, queuePrefix, type WaitOptions } from './queue.js';
import type { Session } from './session.js';

export type CampaignOptions = WaitOptions;

/** A leader as observers see it: its key, its proclaimed value, and the revisions behind them. */
export interface Leader {
  /** `<election>/<lease hex>`. */
  readonly key: string;
  readonly value: string;
  /** The leader's create revision: grows with every new term of leadership. */
  readonly revision: bigint;
  /** Revision of the last proclaim (or of the campaign itself). */
  readonly modRevision: bigint;
  readonly lease: bigint;
  readonly kv: KeyValue;
  /** The revision as of which this is the leader (where an observer saw it become so). */
  readonly observedRevision: bigint;
  /** The header of the response this leader was seen in. */
  readonly header: ResponseHeader;
}

function toLeader(kv: KeyValue, header: ResponseHeader, observedRevision = header.revision): Leader {
  return {
    header,
    observedRevision,
    key: bytesToString(kv.key),
    value: bytesToString(kv.value),
    revision: kv.createRevision,
    modRevision: kv.modRevision,
    lease: kv.lease,
    kv,
  };
}

/**
 * Leader election over the same queue as the mutex: campaigning puts `<name>/<lease hex>` with
 * the proposal as its value and waits until every earlier campaigner is gone. The leader can
 * change its value (`proclaim`) and step down (`resign`); anyone can ask for the `leader()` or
 * `observe()` every change of it.
 *
 *   const election = new Election(session, 'workers');
 *   await election.campaign('worker-7');        // resolves once elected
 *   ... lead, until session.signal aborts ...
 *   await election.resign();
 */
export class Election {
  readonly prefix: string;
  private held: { key: string; revision: bigint } | undefined;

  constructor(
    readonly session: Session,
    name: string,
  ) {
    this.prefix = queuePrefix(name);
  }

  /** Whether this campaigner is the leader (as far as it knows: its session may just have ended). */
  get isLeader(): boolean {
    return this.held !== undefined && this.session.endedWith === undefined;
  }

  /** The leader key held by this campaigner. */
  get key(): string {
    return this.leading().key;
  }

  /** The create revision of the leader key: a fencing token for this term of leadership. */
  get revision(): bigint {
    return this.leading().revision;
  }

  /** A transaction guard that holds only while this campaigner leads. */
  isLeaderCompare(): ReturnType<typeof compare.create> {
    const h = this.leading();
    return compare.create(h.key, '=', h.revision);
  }

  /**
   * Campaigns with `proposal` and resolves once elected. Rejects with `canceled`, `timeout` or
   * `session_expired`, withdrawing the candidacy. Campaigning again after joining on the same
   * session keeps the place in the queue and updates the proposal.
   */
  async campaign(proposal: BytesLike, options: CampaignOptions = {}): Promise<void> {
    const value = typeof proposal === 'string' ? proposal : bytesToString(proposal);
    this.held = undefined;
    const entry = await acquire(this.session, this.prefix, value, options, `campaign ${this.prefix}`, async (joined, signal) => {
      // Already in the queue on this session: keep the place, take the new value.
      if (joined.existed && !(await this.setValue(joined.key, joined.createRevision, value, signal))) {
        throw new CairnError(ErrorCode.SessionExpired, `campaign ${this.prefix}: the session's key vanished`);
      }
    });
    this.held = { key: entry.key, revision: entry.createRevision };
  }

  /** Sets the leader's value without an election; `election_not_leader` if this one does not lead. */
  async proclaim(value: BytesLike, options: { signal?: AbortSignal } = {}): Promise<void> {
    const h = this.held;
    if (h === undefined) throw new CairnError(ErrorCode.ElectionNotLeader);
    if (!(await this.setValue(h.key, h.revision, value, options.signal))) {
      this.held = undefined;
      throw new CairnError(ErrorCode.ElectionNotLeader, `election: ${h.key} is no longer the leader`);
    }
  }

  /** Puts `value` on the campaign key if it is still the one created at `revision`. */
  private async setValue(key: string, revision: bigint, value: BytesLike, signal: AbortSignal | undefined): Promise<boolean> {
    const res = await this.session.client
      .txn()
      .if(compare.create(key, '=', revision))
      .then(op.put(key, value, { lease: this.session.lease }))
      .commit({ retry: true, ...(signal === undefined ? {} : { signal }) });
    return res.succeeded;
  }

  /** Steps down (deletes the leader key); the next campaigner is elected. No-op if not leading. */
  async resign(): Promise<void> {
    const h = this.held;
    if (h === undefined) return;
    this.held = undefined;
    if (this.session.endedWith?.code === ErrorCode.SessionExpired) return;
    await leave(this.session, h.key, h.revision);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.resign();
  }

  /** The current leader, or undefined if nobody leads. */
  async leader(options: { serializable?: boolean } = {}): Promise<Leader | undefined> {
    return currentLeader(this.session.client, this.prefix, options.serializable === true);
  }

  /**
   * Every leader in turn, and every proclaimed value, in revision order, starting with the
   * current one (if any). Ends when `signal` aborts.
   */
  observe(signal?: AbortSignal): AsyncGenerator<Leader> {
    return observeLeaders(this.session.client, this.prefix, signal);
  }

  private leading(): { key: string; revision: bigint } {
    if (this.held === undefined) throw new CairnError(ErrorCode.ElectionNotLeader);
    return this.held;
  }
}

type ClientOf = Session['client'];

async function currentLeader(client: ClientOf, prefix: string, serializable: boolean): Promise<Leader | undefined> {
  const res = await client.kv.range({ key: prefix, prefix: true, sortTarget: 'create', sortOrder: 'ascend', limit: 1, serializable });
  const kv = res.kvs[0];
  return kv === undefined ? undefined : toLeader(kv, res.header);
}

/**
 * Observes an election without taking part in it (no session needed). One watch on the prefix
 * from a snapshot revision: the leader is the live key with the lowest create revision, so the
 * leader at every revision follows from the snapshot plus the events, with no gap between reads.
 */
export async function* observeLeaders(client: ClientOf, name: string, signal?: AbortSignal): AsyncGenerator<Leader> {
  const prefix = queuePrefix(name);
  const withSignal = signal === undefined ? {} : { signal };
  // Live keys by key string; few campaigners, so a scan for the minimum is fine.
  const live = new Map<string, KeyValue>();
  const first = (): KeyValue | undefined => {
    let best: KeyValue | undefined;
    for (const kv of live.values()) if (best === undefined || kv.createRevision < best.createRevision) best = kv;
    return best;
  };
  const changed = (now: KeyValue | undefined, last: KeyValue | undefined): now is KeyValue =>
    now !== undefined && (last === undefined || now.modRevision !== last.modRevision || !sameKey(now, last));
  let last: KeyValue | undefined;
  // One pass per snapshot; a watch whose history was compacted away (after a long disconnect)
  // starts another pass from a fresh read, reporting the leader then if it changed meanwhile.
  for (;;) {
    let snapshot;
    try {
      snapshot = await client.kv.range({ key: prefix, prefix: true, ...withSignal });
    } catch (err) {
      if (toCairnError(err).code === ErrorCode.Canceled) return;
      throw err;
    }
    live.clear();
    for (const kv of snapshot.kvs) live.set(bytesToString(kv.key), kv);
    const atSnapshot = first();
    if (changed(atSnapshot, last)) yield toLeader(atSnapshot, snapshot.header);
    last = atSnapshot;
    const watcher = client.watch(prefix, { prefix: true, startRevision: snapshot.header.revision + 1n, ...withSignal });
    try {
      for await (const batch of watcher) {
        const events = batch.events;
        for (let i = 0; i < events.length; i++) {
          const e = events[i]!;
          const k = bytesToString(e.kv.key);
          if (e.type === 'put') live.set(k, e.kv);
          else live.delete(k);
          // A batch may hold several revisions: report the leader as of the end of each one.
          if (events[i + 1]?.kv.modRevision === e.kv.modRevision) continue;
          const now = first();
          if (changed(now, last)) yield toLeader(now, batch.header, e.kv.modRevision);
          last = now;
        }
      }
      return;
    } catch (err) {
      const e = toCairnError(err);
      if (e.code === ErrorCode.Canceled) return;
      if (e.code !== ErrorCode.Compacted) throw e;
    } finally {
      watcher.cancel();
    }
  }
}

function sameKey(a: KeyValue, b: KeyValue): boolean {
  return bytesToString(a.key) === bytesToString(b.key);
}
