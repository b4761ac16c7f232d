import {
  Alarm,
  CairnError,
  Compact,
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
} from '@cairn/protocol';
import type { Member } from '../member.js';
import { addsData } from '../apply/applier.js';
import type { Authorizer } from '../auth/authorizer.js';
import { authHandlers } from './authHandlers.js';
import { unary, type UnaryHandler } from './unary.js';
import { checkKeyLimits, checkTxnLimits, type ApiLimits } from './limits.js';
import type { Quota } from './quota.js';

export type { UnaryHandler } from './unary.js';

export interface DispatchDeps {
  readonly member: Member;
  readonly limits: ApiLimits;
  readonly auth: Authorizer;
  readonly quota: Quota;
}

/** The unary methods a single member serves, keyed by the descriptors' method names. */
export function unaryHandlers({ member, limits, auth, quota }: DispatchDeps): ReadonlyMap<string, UnaryHandler> {
  return new Map<string, UnaryHandler>([
    unary(Range, validate.rangeRequest, (req, caller) => {
      checkKeyLimits(req.key, limits, req.rangeEnd);
      auth.range(caller, req);
      return member.range(req);
    }),
    unary(Put, validate.putRequest, (req, caller) => {
      checkKeyLimits(req.key, limits);
      auth.put(caller, req);
      quota.check();
      return member.propose({ put: req });
    }),
    unary(DeleteRange, validate.deleteRangeRequest, (req, caller) => {
      checkKeyLimits(req.key, limits, req.rangeEnd);
      auth.deleteRange(caller, req);
      return member.propose({ deleteRange: req });
    }),
    unary(Txn, validate.txnRequest, (req, caller) => {
      checkTxnLimits(req, limits);
      auth.txn(caller, req);
      if (addsData({ txn: req })) quota.check();
      return member.propose({ txn: req });
    }),
    unary(Compact, validate.compactionRequest, (req, caller) => {
      auth.admin(caller);
      return member.propose({ compact: req });
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
      auth.admin(caller);
      return member.admin.memberAdd(req);
    }),
    unary(MemberRemove, validate.memberIdRequest, (req, caller) => {
      auth.admin(caller);
      return member.admin.memberRemove(req.id);
    }),
    unary(MemberUpdate, validate.memberUpdateRequest, (req, caller) => {
      auth.admin(caller);
      return member.admin.memberUpdate(req.id, req.peerUrls);
    }),
    unary(MemberPromote, validate.memberIdRequest, (req, caller) => {
      auth.admin(caller);
      return member.admin.memberPromote(req.id);
    }),
    unary(MoveLeader, validate.moveLeaderRequest, (req, caller) => {
      auth.admin(caller);
      return member.admin.moveLeader(req.targetId);
    }),
    unary(Alarm, validate.alarmRequest, async (req, caller) => {
      auth.admin(caller);
      if (req.action === 'get') return { header: member.header(), alarms: member.applier.alarms.list() };
      const alarm = req.alarm ?? 'none';
      if (req.memberId === undefined || alarm === 'none') {
        // Like etcd's `alarm disarm`: every active alarm when none is named.
        if (req.action === 'activate') throw new CairnError(ErrorCode.InvalidArgument, 'invalid argument: alarm and memberId are required');
        const changed = [];
        for (const a of member.applier.alarms.list()) {
          if (a.alarm === 'none') continue;
          const res = await member.propose({ alarm: { action: 'deactivate', memberId: a.memberId, alarm: a.alarm } });
          changed.push(...res.alarms);
        }
        return { header: member.header(), alarms: changed };
      }
      return member.propose({ alarm: { action: req.action, memberId: req.memberId, alarm } });
    }),
    ...authHandlers(member, auth),
    // Leases: any authenticated user (as in etcd); a revoke deletes the lease's keys, so it
    // needs write permission on each of them.
    unary(LeaseGrant, validate.leaseGrantRequest, (req, caller) => {
      auth.user(caller);
      quota.check();
      return member.leaseGrant(req);
    }),
    unary(LeaseRevoke, validate.leaseIdRequest, (req, caller) => {
      for (const key of member.leaseKeys(req.id)) auth.deleteRange(caller, { key });
      auth.user(caller);
      return member.leaseRevoke(req.id);
    }),
    unary(LeaseTimeToLive, validate.leaseTimeToLiveRequest, (req, caller) => {
      auth.user(caller);
      return member.leaseTimeToLive(req);
    }),
    unary(LeaseLeases, validate.emptyRequest, (_req, caller) => {
      auth.user(caller);
      return member.leaseLeases();
    }),
  ]);
}
