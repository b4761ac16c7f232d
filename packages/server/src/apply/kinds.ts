import {
  CairnError,
  ErrorCode,
  validate,
  type AlarmResponse,
  type AuthHeaderResponse,
  type CompactionRequest,
  type CompactionResponse,
  type Decoder,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type LeaseGrantRequest,
  type LeaseGrantResponse,
  type LeaseRevokeRequest,
  type LeaseRevokeResponse,
  type Member,
  type MemberId,
  type MemberUpdateRequest,
  type PutRequest,
  type PutResponse,
  type RequestOp,
  type ResponseHeader,
  type TxnRequest,
  type TxnResponse,
} from '@cairn/protocol';
import { authOp, type AuthOp } from '../auth/ops.js';
import { checkDelete, checkLeaseRevoke, checkPut as checkPutAccess, checkTxn as checkTxnAccess, needRoot, type ProposalAuth } from '../auth/permissions.js';
import type { AuthStore } from '../auth/store.js';
import type { Lessor } from '../lease/lessor.js';
import { MAX_LEASE_TTL_SECONDS } from '../lease/lessor.js';
import type { MvccStore, StoreEvent } from '../mvcc/store.js';
import { runTxn } from '../mvcc/txn.js';
import { mainOf } from '../mvcc/revision.js';
import type { AlarmOp, AlarmStore } from './alarms.js';
import { checkKey, checkPut, checkTxn } from './checks.js';
import type { Membership } from './membership.js';
import { deleteResponse, putResponse, txnResponse } from './responses.js';

/** A member publishes its name and client URLs (each time it starts). */
export interface MemberAttrOp {
  readonly id: MemberId;
  readonly name: string;
  readonly clientUrls: string[];
}

/** What membership changes answer: the members after the change. */
export interface MembersResponse {
  readonly header: ResponseHeader;
  readonly members: Member[];
}

/** The state-machine parts a request kind applies to (the Applier hands them over). */
export interface ApplyContext {
  readonly store: MvccStore;
  readonly lessor: Lessor;
  readonly auth: AuthStore;
  readonly alarms: AlarmStore;
  readonly membership: Membership;
  /** The response header at the store's current revision. */
  header(): ResponseHeader;
  /** Keeps the lessor's key lists in step with the keys' lease fields after a write. */
  trackLeases(events: readonly StoreEvent[]): void;
}

/** What the auth layer checks against, at apply (see authCheck.ts). */
export interface RecheckContext {
  readonly auth: AuthStore;
  readonly lessor: Lessor;
}

/**
 * One kind of request that enters the log, in one place: how the edge decodes its fields,
 * the stateless checks of its shape (run before proposing and again at apply), what the
 * quota and alarm layers need to know of it, how the auth layer re-checks it, and the base
 * applier. A new kind is one entry in `kinds`.
 */
interface Kind<Req, Res, A extends string = string> {
  readonly decode: Decoder<Req>;
  readonly check?: (req: Req) => void;
  /** Whether it can add data (refused while NOSPACE is raised). */
  readonly addsData: (req: Req) => boolean;
  /** Whether it changes or compacts the key space (refused while CORRUPT is raised). */
  readonly changesData: boolean;
  /** The auth layer: re-checks `user`'s permission for it (throws to refuse). Default: root only. */
  readonly recheck?: (c: RecheckContext, user: string, req: Req) => void;
  readonly apply: (c: ApplyContext, req: Req, stamp: ProposalAuth | undefined) => Res;
  /** The key its response is wrapped under in a WriteResponse. */
  readonly answer: A;
}

const kind = <Req, Res, A extends string>(k: Kind<Req, Res, A>): Kind<Req, Res, A> => k;
const never = (): boolean => false;
const always = (): boolean => true;
const anyPut = (list: readonly RequestOp[]): boolean => list.some((op) => 'put' in op || ('txn' in op && (anyPut(op.txn.success) || anyPut(op.txn.failure))));
const members = (c: ApplyContext): MembersResponse => ({ header: c.header(), members: c.membership.list() });

export const kinds = {
  put: kind<PutRequest, PutResponse, 'put'>({
    decode: validate.putRequest,
    check: checkPut,
    addsData: always,
    changesData: true,
    recheck: (c, user, req) => checkPutAccess(c.auth, user, req),
    apply: (c, req) => {
      const r = c.store.write((t) => t.put(req));
      c.trackLeases(c.store.lastEvents);
      return putResponse(r, c.header());
    },
    answer: 'put',
  }),
  deleteRange: kind<DeleteRangeRequest, DeleteRangeResponse, 'deleteRange'>({
    decode: validate.deleteRangeRequest,
    check: (req) => checkKey(req.key),
    addsData: never,
    changesData: true,
    recheck: (c, user, req) => checkDelete(c.auth, user, req),
    apply: (c, req) => {
      const r = c.store.write((t) => t.deleteRange(req));
      c.trackLeases(c.store.lastEvents);
      return deleteResponse(r, c.header());
    },
    answer: 'deleteRange',
  }),
  txn: kind<TxnRequest, TxnResponse, 'txn'>({
    decode: validate.txnRequest,
    check: checkTxn,
    addsData: (req) => anyPut(req.success) || anyPut(req.failure),
    changesData: true,
    recheck: (c, user, req) => checkTxnAccess(c.auth, user, req),
    apply: (c, req) => {
      const r = c.store.write((t) => runTxn(t, req));
      c.trackLeases(c.store.lastEvents);
      return txnResponse(r, c.header());
    },
    answer: 'txn',
  }),
  compact: kind<CompactionRequest, CompactionResponse, 'compact'>({
    decode: validate.compactionRequest,
    addsData: never,
    changesData: true,
    apply: (c, req) => {
      c.store.compact(mainOf(req.revision));
      return { header: c.header() };
    },
    answer: 'compact',
  }),
  auth: kind<AuthOp, AuthHeaderResponse, 'auth'>({
    decode: authOp,
    addsData: never,
    changesData: false,
    apply: (c, req) => {
      c.auth.apply(req);
      return { header: c.header() };
    },
    answer: 'auth',
  }),
  alarm: kind<AlarmOp, AlarmResponse, 'alarm'>({
    decode: validate.object<AlarmOp>({
      action: validate.oneOf('activate', 'deactivate'),
      memberId: validate.uint64,
      alarm: validate.oneOf('nospace', 'corrupt'),
    }) as Decoder<AlarmOp>,
    addsData: never,
    changesData: false,
    apply: (c, req) => {
      const alarms = c.alarms.apply(req);
      return { header: c.header(), alarms };
    },
    answer: 'alarm',
  }),
  /** The id is always chosen before proposing (the API picks one when the caller did not). */
  leaseGrant: kind<LeaseGrantRequest, LeaseGrantResponse, 'leaseGrant'>({
    decode: validate.leaseGrantRequest,
    check: (req) => {
      if (req.id === undefined || req.id <= 0n) throw new CairnError(ErrorCode.InvalidArgument, 'lease id must be positive');
      if (req.ttlSeconds > MAX_LEASE_TTL_SECONDS) throw new CairnError(ErrorCode.LeaseTtlTooLarge);
    },
    addsData: always,
    changesData: true,
    // Any user may grant; that the user still exists the auth layer checked first.
    recheck: () => undefined,
    apply: (c, req, stamp) => {
      // The granting user owns it (keep-alive, time-to-live, revoke: see checkLeaseAccess).
      c.lessor.grant(req.id!, req.ttlSeconds, c.store.ops, stamp?.user);
      return { header: c.header(), id: req.id!, ttlSeconds: req.ttlSeconds };
    },
    answer: 'leaseGrant',
  }),
  leaseRevoke: kind<LeaseRevokeRequest, LeaseRevokeResponse, 'leaseRevoke'>({
    decode: validate.leaseIdRequest,
    addsData: never,
    // Revokes still apply under CORRUPT, so that expiry does not retry forever; they change every member alike.
    changesData: false,
    recheck: (c, user, req) => {
      const lease = c.lessor.get(req.id);
      // A lease that is gone fails as lease_not_found in the base applier.
      if (lease !== undefined) checkLeaseRevoke(c.auth, user, lease.owner, [...lease.keys.values()]);
    },
    apply: (c, req) => {
      const keys = c.lessor.revoke(req.id, c.store.ops);
      // Every attached key goes in one revision: watchers see one atomic batch.
      if (keys.length > 0) {
        c.store.write((t) => {
          for (const key of keys) t.deleteRange({ key });
        });
        c.trackLeases(c.store.lastEvents);
      }
      return { header: c.header() };
    },
    answer: 'leaseRevoke',
  }),
  memberAttr: kind<MemberAttrOp, MembersResponse, 'members'>({
    decode: validate.object<MemberAttrOp>({ id: validate.uint64, name: validate.str, clientUrls: validate.array(validate.str, 64) }),
    addsData: never,
    changesData: false,
    apply: (c, req) => {
      c.membership.setAttributes(req.id, req.name, req.clientUrls);
      return members(c);
    },
    answer: 'members',
  }),
  /** `member update`: a member's new peer URLs. */
  memberUpdate: kind<MemberUpdateRequest, MembersResponse, 'members'>({
    decode: validate.memberUpdateRequest,
    addsData: never,
    changesData: false,
    apply: (c, req) => {
      c.membership.updatePeerUrls(req.id, req.peerUrls);
      return members(c);
    },
    answer: 'members',
  }),
} as const;

export type KindName = keyof typeof kinds;
type ReqOf<K extends KindName> = (typeof kinds)[K] extends Kind<infer R, infer _Res, infer _A> ? R : never;
type ResOf<K extends KindName> = (typeof kinds)[K] extends Kind<infer _Req, infer R, infer _A> ? R : never;
type AnswerOf<K extends KindName> = (typeof kinds)[K] extends Kind<infer _Req, infer _Res, infer A> ? A : never;

/** A request that changes state-machine data: what enters the log (one variant per kind). */
export type WriteRequest = { [K in KindName]: { readonly [P in K]: ReqOf<K> } }[KindName];

/** What applying a request answers, under its kind's `answer` key. */
export type WriteResponse = { [K in KindName]: { readonly [P in AnswerOf<K>]: ResOf<K> } }[KindName];

/** The response type matching a request variant. */
export type ResponseFor<R extends WriteRequest> = { [K in KindName]: R extends { readonly [P in K]: unknown } ? ResOf<K> : never }[KindName];

/** The kind of a request (its one key), and its body. */
export function kindOf(req: WriteRequest): { name: KindName; body: unknown } {
  for (const name in req) return { name: name as KindName, body: (req as Record<string, unknown>)[name] };
  throw new CairnError(ErrorCode.InvalidArgument, 'empty write request');
}

const entry = (name: KindName): Kind<unknown, unknown> => kinds[name] as unknown as Kind<unknown, unknown>;

/**
 * Checks of a request's own shape that need no state and no configuration. The API runs them
 * before proposing (so a bad request never enters the log) and the applier runs them again
 * (so the log alone decides every outcome).
 */
export function checkWriteRequest(req: WriteRequest): void {
  const { name, body } = kindOf(req);
  entry(name).check?.(body);
}

/** Whether a write request can add data (a put somewhere in it): refused under NOSPACE. */
export function addsData(req: WriteRequest): boolean {
  const { name, body } = kindOf(req);
  return entry(name).addsData(body);
}

/** Whether a request changes the key space or compacts it (what CORRUPT refuses). */
export function changesData(req: WriteRequest): boolean {
  return entry(kindOf(req).name).changesData;
}

/** The auth layer's re-check of `user` for `req` (root only unless the kind says otherwise). */
export function recheckKind(c: RecheckContext, user: string, req: WriteRequest): void {
  const { name, body } = kindOf(req);
  const recheck = entry(name).recheck;
  if (recheck === undefined) needRoot(c.auth, user);
  else recheck(c, user, body);
}

/** The base applier: applies `req` and wraps the answer under its kind's key. */
export function applyKind(c: ApplyContext, req: WriteRequest, stamp: ProposalAuth | undefined): WriteResponse {
  const { name, body } = kindOf(req);
  const k = entry(name);
  return { [k.answer]: k.apply(c, body, stamp) } as WriteResponse;
}

/** The response inside a WriteResponse (each holds exactly one). */
export function unwrapResponse(r: WriteResponse): unknown {
  for (const key in r) return (r as Record<string, unknown>)[key];
  return undefined;
}

/** The edge decoders of every kind's body, by name (requests.ts decodes log entries with them). */
export const kindDecoders: { readonly [K in KindName]: Decoder<ReqOf<K>> } = Object.fromEntries(
  Object.entries(kinds).map(([name, k]) => [name, k.decode]),
) as { readonly [K in KindName]: Decoder<ReqOf<K>> };
