import { CairnError, ErrorCode, bytesToString, compare, op, type CairnClient, type KeyValue } from '@cairn/client';
import { checkField, normalisePrefix } from './fields.js';

/*
 * A staged (gray) rollout of a config: a candidate value of some fields, in force only on the
 * instances its target selects, until it is promoted (written as the fields' values, for
 * everyone) or aborted. Everything lives under the config's prefix, below the field level (so
 * the config ignores it as fields) and inside the one prefix watch (so a promote that writes
 * the fields and closes the rollout is seen by every instance as one revision):
 *
 *   config/prod/greeting               "hello"                          the field, for everyone
 *   config/prod/.rollout/state         {"step":"started","values":{"greeting":"hi"},"target":{"ids":["a","b"]}}
 *   config/prod/.instances/a           {"id":"a","running":"candidate","rollout":"41",...}   on a's lease
 *
 * The state key is never deleted: each step (started, promoted, aborted) is a new version of
 * it, so its history is the rollout log. A rollout's id is the revision that started it.
 */

/** Which instances run the candidate: exactly one of ids, labels (all must match) or a percentage. */
export type RolloutTarget =
  | { readonly ids: readonly string[] }
  | { readonly labels: Readonly<Record<string, string>> }
  /** 0 to 100: the instances whose id hashes into the first `percent` of 100 buckets (see `rolloutBucket`). */
  | { readonly percent: number };

export type RolloutStep = 'started' | 'promoted' | 'aborted';

/** One version of the state key, as stored. */
export interface RolloutRecord {
  readonly step: RolloutStep;
  /** The candidate: field -> value (JSON data, not text). */
  readonly values: Readonly<Record<string, unknown>>;
  readonly target: RolloutTarget;
  /** For promoted and aborted: the id (start revision) of the rollout it ended, as decimal. */
  readonly rollout?: string;
}

/** A rollout as read: its record, its id, and the revision of this step. */
export interface Rollout extends RolloutRecord {
  /** The revision that started it. */
  readonly id: bigint;
  /** The revision of this step (= id for `started`). */
  readonly revision: bigint;
}

/** What an instance reports it runs (its key lives on the instance's lease). */
export interface InstanceReport {
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly running: 'candidate' | 'base';
  /** The rollout whose candidate it runs (decimal), or null. */
  readonly rollout: string | null;
  /** The revision of the newest write among the fields and rollout state it runs on, as decimal. */
  readonly revision: string;
  /** Why it does not run a candidate that targets it (e.g. the candidate fails its schema). */
  readonly error?: string;
}

export const ROLLOUT_STATE = '.rollout/state';
export const INSTANCES = '.instances/';

/** Most ids one target may list; a longer list is a selector in disguise (use labels). */
export const MAX_TARGET_IDS = 1000;

/** Checks a target from the API or the command line; `invalid_argument` saying what is wrong. */
export function checkTarget(target: unknown): RolloutTarget {
  const bad = (why: string): CairnError => new CairnError(ErrorCode.InvalidArgument, `rollout target: ${why}`);
  if (typeof target !== 'object' || target === null) throw bad('give one of ids, labels or percent');
  const kinds = ['ids', 'labels', 'percent'].filter((k) => k in target);
  if (kinds.length !== 1) throw bad(`give exactly one of ids, labels or percent (got ${kinds.length === 0 ? 'none' : kinds.join(', ')})`);
  const t = target as Record<string, unknown>;
  if ('ids' in t) {
    const ids = t.ids;
    if (!Array.isArray(ids) || ids.length === 0) throw bad('ids must be a non-empty list');
    if (ids.length > MAX_TARGET_IDS) throw bad(`at most ${MAX_TARGET_IDS} ids`);
    for (const id of ids) if (typeof id !== 'string' || !validId(id)) throw bad(`bad instance id ${JSON.stringify(id)} (1-128 characters, no "/")`);
    return { ids: [...new Set(ids as string[])] };
  }
  if ('labels' in t) {
    const labels = t.labels;
    if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) throw bad('labels must be an object of strings');
    const entries = Object.entries(labels);
    if (entries.length === 0) throw bad('labels must name at least one label');
    for (const [k, v] of entries) {
      if (k === '' || typeof v !== 'string') throw bad(`bad label ${JSON.stringify(k)}=${JSON.stringify(v)} (name=value, both strings, name not empty)`);
    }
    return { labels: Object.fromEntries(entries) as Record<string, string> };
  }
  const p = t.percent;
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 100) throw bad(`percent must be a whole number from 0 to 100, not ${JSON.stringify(p)}`);
  return { percent: p };
}

export function validId(id: string): boolean {
  return id.length >= 1 && id.length <= 128 && !id.includes('/');
}

/**
 * The bucket (0-99) of an instance id: FNV-1a over its UTF-8 bytes, modulo 100. It depends on
 * the id alone, so an instance lands in the same bucket in every rollout, and widening a
 * percentage only adds instances.
 */
export function rolloutBucket(id: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(id)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % 100;
}

/** Whether `target` selects the instance. */
export function selects(target: RolloutTarget, instance: { readonly id: string; readonly labels?: Readonly<Record<string, string>> }): boolean {
  if ('ids' in target) return target.ids.includes(instance.id);
  if ('labels' in target) return Object.entries(target.labels).every(([k, v]) => instance.labels?.[k] === v);
  return rolloutBucket(instance.id) < target.percent;
}

/** A target as one line: `ids a,b`, `labels zone=a,tier=web`, `percent 40`. */
export function describeTarget(target: RolloutTarget): string {
  if ('ids' in target) return `ids ${target.ids.join(',')}`;
  if ('labels' in target) return `labels ${Object.entries(target.labels).map(([k, v]) => `${k}=${v}`).join(',')}`;
  return `percent ${target.percent}`;
}

/** The state key's value as a Rollout; a malformed record is `invalid_config`. */
export function parseRollout(kv: KeyValue): Rollout {
  let rec: RolloutRecord;
  try {
    rec = JSON.parse(bytesToString(kv.value)) as RolloutRecord;
    if (!['started', 'promoted', 'aborted'].includes(rec.step) || typeof rec.values !== 'object' || rec.values === null) throw new Error('shape');
    checkTarget(rec.target);
  } catch {
    throw new CairnError(ErrorCode.InvalidConfig, `rollout state ${bytesToString(kv.key)} is not a rollout record`);
  }
  const id = rec.step === 'started' ? kv.modRevision : BigInt(rec.rollout ?? '0');
  return { ...rec, id, revision: kv.modRevision };
}

/** The rollout of a config: the last step (undefined if there never was one) and the raw key. */
export async function readRollout(client: CairnClient, prefix: string): Promise<{ rollout: Rollout | undefined; kv: KeyValue | undefined }> {
  const kv = await client.kv.get(normalisePrefix(prefix) + ROLLOUT_STATE);
  return { rollout: kv === undefined ? undefined : parseRollout(kv), kv };
}

/**
 * Starts a rollout: the candidate `values` (field -> JSON data) run on the instances `target`
 * selects. Refused with `rollout_in_progress` if one is started and not yet promoted or
 * aborted, `invalid_argument` for a bad target or field name. Unchecked against any schema
 * (`Config.startRollout` checks it); an instance on which the candidate fails its schema
 * stays on the base value and says so in its report. Returns the rollout's id.
 */
export async function startRollout(client: CairnClient, prefix: string, candidate: { values: Readonly<Record<string, unknown>>; target: RolloutTarget }): Promise<bigint> {
  const p = normalisePrefix(prefix);
  const target = checkTarget(candidate.target);
  const fields = Object.keys(candidate.values);
  if (fields.length === 0) throw new CairnError(ErrorCode.InvalidArgument, 'rollout: the candidate sets no field');
  for (const f of fields) checkField(f);
  const { rollout, kv } = await readRollout(client, p);
  if (rollout?.step === 'started') throw new CairnError(ErrorCode.RolloutInProgress, `config ${p}: rollout ${rollout.id} is in progress (promote or abort it first)`);
  const record: RolloutRecord = { step: 'started', values: candidate.values, target };
  const res = await client
    .txn()
    .if(kv === undefined ? compare.create(p + ROLLOUT_STATE, '=', 0) : compare.mod(p + ROLLOUT_STATE, '=', kv.modRevision))
    .then(op.put(p + ROLLOUT_STATE, JSON.stringify(record)))
    .commit();
  if (!res.succeeded) throw new CairnError(ErrorCode.RolloutInProgress, `config ${p}: another rollout step was written at the same time; look at it and try again`);
  return res.header.revision;
}

/** What promote and abort return: the rollout they ended and the revision that ended it. */
export interface RolloutEnd {
  readonly id: bigint;
  readonly revision: bigint;
}

/** The rollout in progress, or `no_rollout`. */
async function started(client: CairnClient, p: string): Promise<{ rollout: Rollout; kv: KeyValue }> {
  const { rollout, kv } = await readRollout(client, p);
  if (rollout === undefined || kv === undefined || rollout.step !== 'started') {
    const last = rollout === undefined ? 'there never was one' : `the last one, ${rollout.id}, was ${rollout.step}`;
    throw new CairnError(ErrorCode.NoRollout, `config ${p}: no rollout in progress (${last})`);
  }
  return { rollout, kv };
}

/**
 * Promotes the rollout in progress: in one revision, the candidate's values become the fields'
 * values (for every instance) and the rollout is marked promoted. `no_rollout` if none is in
 * progress. Returns its id and the revision. `check` (Config's schema) may refuse the merged result.
 */
export async function promoteRollout(client: CairnClient, prefix: string, check?: (values: Readonly<Record<string, unknown>>) => Promise<void>): Promise<RolloutEnd> {
  const p = normalisePrefix(prefix);
  const { rollout, kv } = await started(client, p);
  await check?.(rollout.values);
  const record: RolloutRecord = { step: 'promoted', values: rollout.values, target: rollout.target, rollout: rollout.id.toString() };
  const puts = Object.entries(rollout.values).map(([f, v]) => op.put(p + f, JSON.stringify(v)));
  const res = await client
    .txn()
    .if(compare.mod(p + ROLLOUT_STATE, '=', kv.modRevision))
    .then(...puts, op.put(p + ROLLOUT_STATE, JSON.stringify(record)))
    .commit();
  if (!res.succeeded) throw new CairnError(ErrorCode.NoRollout, `config ${p}: rollout ${rollout.id} was ended by someone else meanwhile`);
  return { id: rollout.id, revision: res.header.revision };
}

/** Aborts the rollout in progress: its instances go back to the fields' values. `no_rollout` if none. */
export async function abortRollout(client: CairnClient, prefix: string): Promise<RolloutEnd> {
  const p = normalisePrefix(prefix);
  const { rollout, kv } = await started(client, p);
  const record: RolloutRecord = { step: 'aborted', values: rollout.values, target: rollout.target, rollout: rollout.id.toString() };
  const res = await client.txn().if(compare.mod(p + ROLLOUT_STATE, '=', kv.modRevision)).then(op.put(p + ROLLOUT_STATE, JSON.stringify(record))).commit();
  if (!res.succeeded) throw new CairnError(ErrorCode.NoRollout, `config ${p}: rollout ${rollout.id} was ended by someone else meanwhile`);
  return { id: rollout.id, revision: res.header.revision };
}

/** The rollout's last step and what each live instance reports it runs, ordered by instance id. */
export async function rolloutStatus(client: CairnClient, prefix: string): Promise<{ rollout: Rollout | undefined; instances: InstanceReport[] }> {
  const p = normalisePrefix(prefix);
  const [{ rollout }, res] = await Promise.all([readRollout(client, p), client.kv.range({ key: p + INSTANCES, prefix: true })]);
  const instances: InstanceReport[] = [];
  for (const kv of res.kvs) {
    try {
      instances.push(JSON.parse(bytesToString(kv.value)) as InstanceReport);
    } catch {
      // Not written by a config client: not an instance.
    }
  }
  instances.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { rollout, instances };
}
