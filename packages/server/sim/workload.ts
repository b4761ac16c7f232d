// Clients of the simulated cluster: KV registers (put, linearizable and serializable get,
// compare-and-swap as a txn), leases with keys attached (kept alive for a while, then revoked
// or left to expire) and watches from a revision. Each call goes to a random member that is up,
// and what every client saw is recorded for the checks.
import { CairnError, prefixEnd, toBytes, traitsOf, type WatchResponse } from '@cairn/protocol';
import type { SeededRng } from '@cairn/raft';
import type { KvInput, KvOutput, Operation } from '@cairn/linearizability';
import type { SimCluster, Slot } from './cluster.js';
import type { SimLoop } from './loop.js';

export const REGISTER_KEYS = ['k/a', 'k/b', 'k/c'];
export const REGISTER_PREFIX = 'k/';
export const LEASE_PREFIX = 'l/';
const dec = new TextDecoder();

/** An acknowledged write: `key` held `value` at `revision` (every member must agree at the end). */
export interface AckedWrite {
  readonly key: string;
  readonly value: string;
  readonly revision: bigint;
}

export interface LeaseRecord {
  readonly client: number;
  id: bigint;
  ttlSeconds: number;
  /** When the grant was asked. */
  grantCall: number;
  /** Calls of successful renewals (the lease's TTL restarted at the leader after each). */
  readonly renewals: number[];
  /** When an explicit revoke was first asked (undefined: never). */
  revokeCall: number | undefined;
  readonly keys: string[];
}

export interface WatchRecord {
  readonly client: number;
  readonly member: string;
  /** The revision asked for (0: from now). */
  readonly startRevision: bigint;
  /** The first revision the watch covers (known once `created` arrived). */
  from: bigint | undefined;
  readonly events: { revision: bigint; key: string; type: string; value: string }[];
  /** The watch ended (its member stopped or crashed, or it was canceled). */
  ended: boolean;
  readonly incarnation: string;
  canceled: boolean;
}

export interface WorkloadStats {
  ok: number;
  failed: number;
  unknown: number;
  serializableReads: number;
  compactions: number;
}

export type Outcome<T> = { kind: 'ok'; value: T } | { kind: 'failed'; code: string } | { kind: 'unknown'; why: string };

export class Workload {
  readonly history: Operation<KvInput, KvOutput>[] = [];
  readonly acked: AckedWrite[] = [];
  readonly leases: LeaseRecord[] = [];
  readonly watches: WatchRecord[] = [];
  readonly stats: WorkloadStats = { ok: 0, failed: 0, unknown: 0, serializableReads: 0, compactions: 0 };
  private seq = 0;
  private stopAt = 0;

  constructor(
    readonly loop: SimLoop,
    readonly rng: SeededRng,
    private readonly cluster: SimCluster,
    private readonly trace: (line: string) => void,
    private readonly settings: { readonly clientTimeoutMs: number; readonly leaseTtlSeconds: number; readonly renewEveryMs: number },
    /** Told of every acknowledged write (the nemesis may strike right after one). */
    private readonly acknowledged: () => void = () => undefined,
  ) {}

  sleep(ms: number): Promise<void> {
    return new Promise((r) => this.loop.at(this.loop.sim, ms, r));
  }

  pick(): Slot | undefined {
    const up = this.cluster.up();
    return up.length === 0 ? undefined : up[this.rng.nextInt(up.length)];
  }

  /**
   * `p` (a call on `slot`'s member) or its fate unknown after the client's own deadline (a dead
   * member never answers). A paused member takes the call when it resumes.
   */
  call<T>(slot: Slot, p: () => Promise<T>): Promise<Outcome<T>> {
    return new Promise((resolve) => {
      let done = false;
      const cancel = this.loop.at(this.loop.sim, this.settings.clientTimeoutMs, () => {
        if (done) return;
        done = true;
        resolve({ kind: 'unknown', why: 'client deadline' });
      });
      const start = (): void => {
        let promise: Promise<T>;
        try {
          promise = p();
        } catch (err) {
          promise = Promise.reject(err);
        }
        promise.then(
          (value) => {
            if (done) return;
            done = true;
            cancel();
            resolve({ kind: 'ok', value });
          },
          (err: unknown) => {
            if (done) return;
            done = true;
            cancel();
            const code = err instanceof CairnError ? err.code : 'internal';
            // Only what the project's own table says certainly had no effect counts as failed.
            resolve(traitsOf(code).notApplied ? { kind: 'failed', code } : { kind: 'unknown', why: code });
          },
        );
      };
      const owner = slot.owner;
      if (owner?.pausedUntil !== undefined && owner.pausedUntil > this.loop.now) this.loop.at(owner, 0, start);
      else start();
    });
  }

  /** Runs every client until `untilMs` (simulated); resolves when all have finished. */
  run(untilMs: number, clients: { kv: number; lease: number; watch: number; compact: number }): Promise<void> {
    this.stopAt = untilMs;
    const all: Promise<void>[] = [];
    let c = 0;
    for (let i = 0; i < clients.kv; i++) all.push(this.kvClient(c++));
    for (let i = 0; i < clients.lease; i++) all.push(this.leaseClient(c++));
    for (let i = 0; i < clients.watch; i++) all.push(this.watchClient(c++));
    for (let i = 0; i < clients.compact; i++) all.push(this.compactClient(c++));
    return Promise.all(all).then(() => undefined);
  }

  note(client: number, what: string, o: Outcome<unknown>): void {
    if (o.kind === 'ok') this.stats.ok++;
    else if (o.kind === 'failed') this.stats.failed++;
    else this.stats.unknown++;
    this.trace(`c${client} ${what}: ${o.kind === 'ok' ? 'ok' : o.kind === 'failed' ? `failed ${o.code}` : `unknown ${o.why}`}`);
  }

  private async kvClient(client: number): Promise<void> {
    let lastSeen = '';
    while (this.loop.now < this.stopAt) {
      await this.sleep(2 + this.rng.nextInt(30));
      const slot = this.pick();
      if (slot === undefined) continue;
      const m = slot.member!;
      const key = REGISTER_KEYS[this.rng.nextInt(REGISTER_KEYS.length)]!;
      const r = this.rng.nextFloat();
      const call = this.loop.now;
      if (r < 0.4) {
        const value = `c${client}-${++this.seq}`;
        const o = await this.call(slot, () => m.propose({ put: { key: toBytes(key), value: toBytes(value) } }));
        this.note(client, `put ${key}=${value} on ${slot.name}`, o);
        if (o.kind === 'ok') {
          this.acked.push({ key, value, revision: o.value.header.revision });
          this.acknowledged();
        }
        if (o.kind !== 'failed') this.history.push({ client, input: { kind: 'put', key, value }, call, ret: o.kind === 'ok' ? this.loop.now : Infinity });
      } else if (r < 0.75) {
        const serializable = this.rng.nextFloat() < 0.15;
        const o = await this.call(slot, () => m.range({ key: toBytes(key), ...(serializable ? { serializable: true } : {}) }));
        const value = o.kind === 'ok' ? (o.value.kvs[0] === undefined ? '' : dec.decode(o.value.kvs[0].value)) : undefined;
        this.note(client, `get ${key}${serializable ? ' (serializable)' : ''} on ${slot.name}${value === undefined ? '' : ` = ${value}`}`, o);
        if (value !== undefined) lastSeen = value;
        // Serializable reads may be stale by design: not part of the linearizable history.
        if (serializable) this.stats.serializableReads++;
        else if (o.kind === 'ok') this.history.push({ client, input: { kind: 'get', key }, call, output: value!, ret: this.loop.now });
      } else {
        // Compare-and-swap from a value this client saw (an absent key is never compared: a
        // value compare on a missing key fails in etcd, while the model reads it as "").
        if (lastSeen === '') continue;
        const from = lastSeen;
        const to = `c${client}-${++this.seq}`;
        const o = await this.call(slot, () =>
          m.propose({
            txn: {
              compare: [{ key: toBytes(key), target: 'value', result: 'equal', value: toBytes(from) }],
              success: [{ put: { key: toBytes(key), value: toBytes(to) } }],
              failure: [],
            },
          }),
        );
        this.note(client, `cas ${key} ${from}->${to} on ${slot.name}${o.kind === 'ok' ? ` ${o.value.succeeded}` : ''}`, o);
        if (o.kind === 'ok' && o.value.succeeded) {
          this.acked.push({ key, value: to, revision: o.value.header.revision });
          this.acknowledged();
        }
        if (o.kind !== 'failed') {
          this.history.push(
            o.kind === 'ok'
              ? { client, input: { kind: 'cas', key, from, to }, call, output: o.value.succeeded, ret: this.loop.now }
              : { client, input: { kind: 'cas', key, from, to }, call, ret: Infinity },
          );
        }
      }
    }
  }

  /** Grants a lease, attaches keys, keeps it alive a while, then revokes it or lets it expire. */
  private async leaseClient(client: number): Promise<void> {
    const ttlSeconds = this.settings.leaseTtlSeconds;
    while (this.loop.now < this.stopAt) {
      await this.sleep(50 + this.rng.nextInt(500));
      const slot = this.pick();
      if (slot === undefined) continue;
      const grantCall = this.loop.now;
      const g = await this.call(slot, () => slot.member!.leases.grant({ ttlSeconds }));
      this.note(client, `grant on ${slot.name}`, g);
      if (g.kind !== 'ok') continue;
      const rec: LeaseRecord = { client, id: g.value.id, ttlSeconds: g.value.ttlSeconds, grantCall, renewals: [], revokeCall: undefined, keys: [] };
      this.leases.push(rec);
      const nKeys = 1 + this.rng.nextInt(2);
      for (let i = 0; i < nKeys; i++) {
        const s = this.pick();
        if (s === undefined) break;
        const key = `${LEASE_PREFIX}${rec.id.toString(16)}/${i}`;
        const value = `c${client}-${++this.seq}`;
        rec.keys.push(key);
        const o = await this.call(s, () => s.member!.propose({ put: { key: toBytes(key), value: toBytes(value), lease: rec.id } }));
        this.note(client, `put ${key} with lease on ${s.name}`, o);
        if (o.kind === 'ok') this.acked.push({ key, value, revision: o.value.header.revision });
      }
      // Keep it alive for a while (maybe not at all).
      const keepUntil = this.loop.now + this.rng.nextInt(3) * this.rng.nextInt(4 * ttlSeconds * 1000);
      let alive = true;
      while (alive && this.loop.now < keepUntil && this.loop.now < this.stopAt) {
        await this.sleep(this.settings.renewEveryMs / 2 + this.rng.nextInt(this.settings.renewEveryMs));
        const s = this.pick();
        if (s === undefined) continue;
        const call = this.loop.now;
        const o = await this.call(s, () => s.member!.leases.renew(rec.id));
        this.note(client, `renew ${rec.id.toString(16)} on ${s.name}${o.kind === 'ok' ? ` ttl=${o.value}` : ''}`, o);
        if (o.kind === 'ok') {
          if (o.value > 0) rec.renewals.push(call);
          else alive = false;
        }
      }
      if (alive && this.rng.nextFloat() < 0.5) {
        const s = this.pick();
        if (s === undefined) continue;
        rec.revokeCall = this.loop.now;
        const o = await this.call(s, () => s.member!.leases.revoke(rec.id));
        this.note(client, `revoke ${rec.id.toString(16)} on ${s.name}`, o);
      }
    }
  }

  /** Opens watches on the registers from a revision and records what they deliver. */
  private async watchClient(client: number): Promise<void> {
    while (this.loop.now < this.stopAt) {
      await this.sleep(200 + this.rng.nextInt(3000));
      const slot = this.pick();
      if (slot === undefined || slot.hub === undefined) continue;
      const m = slot.member!;
      const visible = m.visibleRevision;
      // From now, from a revision still in the history, or (rarely) from anywhere, compacted
      // or not: a compacted start is canceled, and that is checked too.
      const kept = BigInt(m.applier.store.compactRevision) + 1n;
      const r = this.rng.nextFloat();
      const startRevision =
        r < 0.3 || visible < 2n ? 0n : r < 0.85 && visible > kept ? kept + BigInt(this.rng.nextInt(Number(visible - kept))) : 1n + BigInt(this.rng.nextInt(Number(visible)));
      const rec: WatchRecord = { client, member: slot.name, startRevision, from: undefined, events: [], ended: false, incarnation: slot.owner!.name, canceled: false };
      this.watches.push(rec);
      const prefix = toBytes(REGISTER_PREFIX);
      const handle = slot.hub.open(
        { key: prefix, rangeEnd: prefixEnd(prefix), ...(startRevision > 0n ? { startRevision } : {}) },
        {
          send: (r: WatchResponse) => {
            if (r.created === true) rec.from = startRevision > 0n ? startRevision : r.header.revision + 1n;
            if (r.canceled === true) rec.canceled = true;
            for (const e of r.events) rec.events.push({ revision: e.kv.modRevision, key: dec.decode(e.kv.key), type: e.type, value: dec.decode(e.kv.value) });
            const revs = r.events.map((e) => e.kv.modRevision);
            this.trace(`c${client} watch on ${slot.name} got ${r.created === true ? 'created ' : ''}${r.canceled === true ? 'canceled ' : ''}header ${r.header.revision}${revs.length > 0 ? ` events @${revs.join(',')}` : ''}`);
          },
          end: () => {
            rec.ended = true;
          },
          bufferedBytes: () => 0,
        },
      );
      this.trace(`c${client} watch ${REGISTER_PREFIX} from ${startRevision} on ${slot.name}`);
      // Watch for a while, then close (or lose it with its member).
      await this.sleep(1000 + this.rng.nextInt(8000));
      if (slot.owner?.name === rec.incarnation && !rec.ended) {
        handle.close();
        rec.ended = true;
      }
    }
  }

  /**
   * Compacts the history now and then, as `cairnctl compaction` does (sometimes waiting for the
   * physical deletion), to a revision a little behind the newest: watches catching up, the
   * history reads and hashes of the checks, and crashes in the middle of a compaction's deletion
   * all meet it.
   */
  private async compactClient(client: number): Promise<void> {
    while (this.loop.now < this.stopAt) {
      await this.sleep(500 + this.rng.nextInt(4000));
      const slot = this.pick();
      if (slot === undefined) continue;
      const m = slot.member!;
      const visible = m.visibleRevision;
      if (visible < 10n) continue;
      const revision = visible - BigInt(this.rng.nextInt(10));
      const physical = this.rng.nextFloat() < 0.3;
      const o = await this.call(slot, () => m.propose({ compact: { revision, ...(physical ? { physical: true } : {}) } }));
      if (o.kind === 'ok') this.stats.compactions++;
      this.note(client, `compact to ${revision}${physical ? ' (physical)' : ''} on ${slot.name}`, o);
    }
  }
}
