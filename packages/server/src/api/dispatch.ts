import {
  Alarm,
  CairnError,
  Compact,
  Defragment,
  DeleteRange,
  ErrorCode,
  HashKv,
  LeaseGrant,
  LeaseLeases,
  LeaseRevoke,
  LeaseTimeToLive,
  MemberAdd,
  MemberList,
  MemberPromote,
  MemberRemove,
  MemberUpdate,
  MoveLeader,
  Put,
  Range,
  Status,
  Txn,
  validate,
  type Decoder,
  type TxnRequest,
} from '@cairn/protocol';
import type { Member } from '../member.js';
import { addsData } from '../apply/kinds.js';
import type { Authorizer } from '../auth/authorizer.js';
import type { ProposalAuth } from '../auth/permissions.js';
import type { AdminCaller } from '../raftNode/peerRpc.js';
import { authHandlers } from './authHandlers.js';
import { unary, type UnaryHandler } from './unary.js';
import { checkKeyLimits, checkTxnLimits, precheckTxnCompares, type ApiLimits } from './limits.js';
import { checkCompareKeys } from '../mvcc/txnCheck.js';
import type { Quota } from './quota.js';

export type { UnaryHandler } from './unary.js';

export interface DispatchDeps {
  readonly member: Member;
  readonly limits: ApiLimits;
  readonly auth: Authorizer;
  readonly quota: Quota;
  /** Defragments this member's backend (api/defragment.ts); absent: `not_capable`. */
  readonly defrag?: () => Promise<void>;
  /** A txn was refused by maxTxnCompareKeys (for metrics). */
  readonly onCompareKeysRefused?: () => void;
}

/** Txn params: the compares are counted before the (costlier) validation. */
const txnDecoder =
  (limits: ApiLimits): Decoder<TxnRequest> =>
  (raw, path) => {
    precheckTxnCompares(raw, limits);
    return validate.txnRequest(raw, path);
  };

/** The unary methods a single member serves, keyed by the descriptors' method names. */
export function unaryHandlers({ member, limits, auth, quota, defrag, onCompareKeysRefused }: DispatchDeps): ReadonlyMap<string, UnaryHandler> {
  return new Map<string, UnaryHandler>([
    unary(Range, validate.rangeRequest, (req, caller) => {
      checkKeyLimits(req.key, limits, req.rangeEnd);
      auth.range(caller, req);
      return member.range(req);
    }),
    unary(Put, validate.putRequest, (req, caller) => {
      checkKeyLimits(req.key, limits);
      const who = auth.put(caller, req);
      quota.check();
      return member.propose({ put: req }, who);
    }),
    unary(DeleteRange, validate.deleteRangeRequest, (req, caller) => {
      checkKeyLimits(req.key, limits, req.rangeEnd);
      const who = auth.deleteRange(caller, req);
      return member.propose({ deleteRange: req }, who);
    }),
    unary(Txn, txnDecoder(limits), (req, caller) => {
      checkTxnLimits(req, limits);
      const who = auth.txn(caller, req);
      try {
        checkCompareKeys(member.applier.store.tree, req, limits.maxTxnCompareKeys);
      } catch (err) {
        onCompareKeysRefused?.();
        throw err;
      }
      if (addsData({ txn: req })) quota.check();
      return member.propose({ txn: req }, who);
    }),
    unary(Compact, validate.compactionRequest, async (req, caller) => {
      const who = auth.admin(caller);
      const res = await member.propose({ compact: req }, who);
      // physical: answer once the dropped history's deletions are in RocksDB on this member
      // (the batch that carries them is written), as etcd waits for its backend.
      if (req.physical === true) await member.written();
      return res;
    }),
    // etcd's Defragment: this member only (`cairnctl defrag --cluster` asks each one).
    unary(Defragment, validate.emptyRequest, async (_req, caller) => {
      auth.admin(caller);
      if (defrag === undefined) throw new CairnError(ErrorCode.NotCapable, 'this member cannot defragment its storage');
      await defrag();
      return { header: member.header() };
    }),
    unary(Status, validate.emptyRequest, (_req, caller) => {
      auth.admin(caller);
      return member.status();
    }),
    // etcd's HashKV: this member's own hash (admin only, as etcd's maintenance server has it).
    unary(HashKv, validate.hashKvRequest, (req, caller) => {
      auth.admin(caller);
      return member.hashKv(req.revision ?? 0n);
    }),
    unary(MemberList, validate.memberListRequest, (req, caller) => {
      auth.admin(caller);
      return member.memberList(req.linearizable === true);
    }),
    // Membership and leadership: root only; checked and proposed by the leader.
    unary(MemberAdd, validate.memberAddRequest, (req, caller) => {
      return member.admin.memberAdd(req, adminCaller(auth.admin(caller)));
    }),
    unary(MemberRemove, validate.memberIdRequest, (req, caller) => {
      return member.admin.memberRemove(req.id, adminCaller(auth.admin(caller)));
    }),
    unary(MemberUpdate, validate.memberUpdateRequest, (req, caller) => {
      return member.admin.memberUpdate(req.id, req.peerUrls, adminCaller(auth.admin(caller)));
    }),
    unary(MemberPromote, validate.memberIdRequest, (req, caller) => {
      return member.admin.memberPromote(req.id, adminCaller(auth.admin(caller)));
    }),
    unary(MoveLeader, validate.moveLeaderRequest, (req, caller) => {
      return member.admin.moveLeader(req.targetId, adminCaller(auth.admin(caller)));
    }),
    unary(Alarm, validate.alarmRequest, async (req, caller) => {
      const who = auth.admin(caller);
      if (req.action === 'get') return { header: member.header(), alarms: member.applier.alarms.list() };
      const alarm = req.alarm ?? 'none';
      if (req.memberId === undefined || alarm === 'none') {
        // Like etcd's `alarm disarm`: every active alarm when none is named.
        if (req.action === 'activate') throw new CairnError(ErrorCode.InvalidArgument, 'invalid argument: alarm and memberId are required');
        const changed = [];
        for (const a of member.applier.alarms.list()) {
          if (a.alarm === 'none') continue;
          const res = await member.propose({ alarm: { action: 'deactivate', memberId: a.memberId, alarm: a.alarm } }, who);
          changed.push(...res.alarms);
        }
        return { header: member.header(), alarms: changed };
      }
      return member.propose({ alarm: { action: req.action, memberId: req.memberId, alarm } }, who);
    }),
    ...authHandlers(member, auth),
    // Leases: any authenticated user may grant one, and owns it. Keep-alive, time-to-live and
    // revoke are the owner's and root's (see checkLeaseAccess); a revoke deletes the lease's
    // keys, so it also needs write permission on each of them.
    unary(LeaseGrant, validate.leaseGrantRequest, (req, caller) => {
      const who = auth.authenticated(caller);
      quota.check();
      return member.leases.grant(req, who);
    }),
    unary(LeaseRevoke, validate.leaseIdRequest, (req, caller) => {
      const lease = member.applier.lessor.get(req.id);
      // A lease this member does not know fails as lease_not_found at apply.
      const who = lease === undefined ? auth.authenticated(caller) : auth.leaseRevoke(caller, lease.owner, [...lease.keys.values()]);
      return member.leases.revoke(req.id, who);
    }),
    unary(LeaseTimeToLive, validate.leaseTimeToLiveRequest, async (req, caller) => {
      auth.user(caller);
      const res = await member.leases.timeToLive(req);
      // Checked after the linearizable read, against the lease as it is now.
      const lease = member.applier.lessor.get(req.id);
      if (lease !== undefined) auth.lease(caller, lease.owner, lease.keys.values());
      // Only the attached keys the caller may read are named.
      return res.keys.length === 0 ? res : { ...res, keys: res.keys.filter((k) => auth.mayRead(caller, k)) };
    }),
    unary(LeaseLeases, validate.emptyRequest, (_req, caller) => {
      auth.user(caller);
      return member.leases.leases();
    }),
  ]);
}

/**
 * Who an admin request forwarded to the leader acts for; the leader checks that user again
 * (peerRpc.ts). An empty user means auth was off when this member checked.
 */
function adminCaller(who: ProposalAuth): AdminCaller {
  return who.user === '' ? {} : { user: who.user };
}
