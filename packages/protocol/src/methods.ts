import type * as t from './types.js';

/**
 * A request is declared once here, and both the server's dispatcher and the client's method
 * are written against the declaration, never against a bare string. The type parameters are
 * phantom: they exist for the compiler only.
 */
export interface RequestDescriptor<Req, Res> {
  readonly kind: 'unary';
  readonly method: string;
  /** Whether a client may resend it to another member after a failure without asking. */
  readonly idempotent: boolean;
  /** Phantom fields carrying the request and response types. */
  readonly _req?: Req;
  readonly _res?: Res;
}

/** A long-lived stream: the client opens it with `Open`, then either side sends messages. */
export interface StreamDescriptor<Open, ClientMsg, ServerMsg> {
  readonly kind: 'stream';
  readonly method: string;
  readonly _open?: Open;
  readonly _client?: ClientMsg;
  readonly _server?: ServerMsg;
}

export function defineRequest<Req, Res>(
  method: string,
  options: { idempotent: boolean },
): RequestDescriptor<Req, Res> {
  return { kind: 'unary', method, idempotent: options.idempotent };
}

export function defineStream<Open, ClientMsg, ServerMsg>(
  method: string,
): StreamDescriptor<Open, ClientMsg, ServerMsg> {
  return { kind: 'stream', method };
}

export type RequestOf<D> = D extends RequestDescriptor<infer Req, unknown> ? Req : never;
export type ResponseOf<D> = D extends RequestDescriptor<unknown, infer Res> ? Res : never;

const read = { idempotent: true };
const write = { idempotent: false };

// KV
export const Range = defineRequest<t.RangeRequest, t.RangeResponse>('kv.range', read);
export const Put = defineRequest<t.PutRequest, t.PutResponse>('kv.put', write);
export const DeleteRange = defineRequest<t.DeleteRangeRequest, t.DeleteRangeResponse>('kv.deleteRange', write);
export const Txn = defineRequest<t.TxnRequest, t.TxnResponse>('kv.txn', write);
export const Compact = defineRequest<t.CompactionRequest, t.CompactionResponse>('kv.compact', { idempotent: true });

// Leases
export const LeaseGrant = defineRequest<t.LeaseGrantRequest, t.LeaseGrantResponse>('lease.grant', write);
export const LeaseRevoke = defineRequest<t.LeaseRevokeRequest, t.LeaseRevokeResponse>('lease.revoke', { idempotent: true });
export const LeaseTimeToLive = defineRequest<t.LeaseTimeToLiveRequest, t.LeaseTimeToLiveResponse>('lease.timeToLive', read);
export const LeaseLeases = defineRequest<t.LeaseLeasesRequest, t.LeaseLeasesResponse>('lease.leases', read);
export const LeaseKeepAlive = defineStream<Record<string, never>, t.LeaseKeepAliveRequest, t.LeaseKeepAliveResponse>('lease.keepAlive');

// Watches
export const Watch = defineStream<t.WatchCreateRequest, t.WatchControl, t.WatchResponse>('watch');

// Cluster
export const MemberList = defineRequest<t.MemberListRequest, t.MemberListResponse>('cluster.memberList', read);
export const MemberAdd = defineRequest<t.MemberAddRequest, t.MemberAddResponse>('cluster.memberAdd', write);
export const MemberRemove = defineRequest<t.MemberRemoveRequest, t.MemberRemoveResponse>('cluster.memberRemove', write);
export const MemberUpdate = defineRequest<t.MemberUpdateRequest, t.MemberUpdateResponse>('cluster.memberUpdate', write);
export const MemberPromote = defineRequest<t.MemberPromoteRequest, t.MemberPromoteResponse>('cluster.memberPromote', write);

// Maintenance
export const Status = defineRequest<t.StatusRequest, t.StatusResponse>('maintenance.status', read);
export const HashKv = defineRequest<t.HashKvRequest, t.HashKvResponse>('maintenance.hashKv', read);
export const Alarm = defineRequest<t.AlarmRequest, t.AlarmResponse>('maintenance.alarm', write);
/** A consistent point-in-time copy of the member's state, streamed in pieces (root only). */
export const Snapshot = defineStream<t.SnapshotRequest, t.SnapshotAck, t.SnapshotResponse>('maintenance.snapshot');
export const MoveLeader = defineRequest<t.MoveLeaderRequest, t.MoveLeaderResponse>('maintenance.moveLeader', write);
/** Not resent to another member: a defrag concerns the member it was sent to. */
export const Defragment = defineRequest<t.DefragmentRequest, t.DefragmentResponse>('maintenance.defragment', write);

// Auth
export const Authenticate = defineRequest<t.AuthenticateRequest, t.AuthenticateResponse>('auth.authenticate', read);
export const AuthEnable = defineRequest<t.AuthEnableRequest, t.AuthHeaderResponse>('auth.enable', { idempotent: true });
export const AuthDisable = defineRequest<t.AuthDisableRequest, t.AuthHeaderResponse>('auth.disable', { idempotent: true });
export const AuthStatus = defineRequest<t.AuthStatusRequest, t.AuthStatusResponse>('auth.status', read);
export const UserAdd = defineRequest<t.UserAddRequest, t.AuthHeaderResponse>('auth.userAdd', write);
export const UserGet = defineRequest<t.UserNameRequest, t.UserGetResponse>('auth.userGet', read);
export const UserList = defineRequest<t.UserListRequest, t.UserListResponse>('auth.userList', read);
export const UserDelete = defineRequest<t.UserNameRequest, t.AuthHeaderResponse>('auth.userDelete', write);
export const UserChangePassword = defineRequest<t.UserChangePasswordRequest, t.AuthHeaderResponse>('auth.userChangePassword', write);
export const UserGrantRole = defineRequest<t.UserRoleRequest, t.AuthHeaderResponse>('auth.userGrantRole', write);
export const UserRevokeRole = defineRequest<t.UserRoleRequest, t.AuthHeaderResponse>('auth.userRevokeRole', write);
export const RoleAdd = defineRequest<t.RoleNameRequest, t.AuthHeaderResponse>('auth.roleAdd', write);
export const RoleGet = defineRequest<t.RoleNameRequest, t.RoleGetResponse>('auth.roleGet', read);
export const RoleList = defineRequest<t.RoleListRequest, t.RoleListResponse>('auth.roleList', read);
export const RoleDelete = defineRequest<t.RoleNameRequest, t.AuthHeaderResponse>('auth.roleDelete', write);
export const RoleGrantPermission = defineRequest<t.RoleGrantPermissionRequest, t.AuthHeaderResponse>('auth.roleGrantPermission', write);
export const RoleRevokePermission = defineRequest<t.RoleRevokePermissionRequest, t.AuthHeaderResponse>('auth.roleRevokePermission', write);
