import { ErrorCode } from '@cairn/protocol';

/**
 * Cairn's client methods under the names etcd's gRPC API gives them, so that dashboards and
 * alerts written against etcd's `grpc_server_*` families (go-grpc-prometheus) read Cairn's
 * too: `kv.range` is `etcdserverpb.KV` / `Range`, a unary call; `watch` is a bidi stream.
 */
export interface GrpcName {
  readonly type: 'unary' | 'server_stream' | 'bidi_stream';
  readonly service: string;
  readonly method: string;
}

const services: Readonly<Record<string, string>> = {
  kv: 'etcdserverpb.KV',
  lease: 'etcdserverpb.Lease',
  watch: 'etcdserverpb.Watch',
  cluster: 'etcdserverpb.Cluster',
  maintenance: 'etcdserverpb.Maintenance',
  auth: 'etcdserverpb.Auth',
};

/** Where etcd's method name is not the capitalised Cairn one. */
const renamed: Readonly<Record<string, string>> = {
  'lease.grant': 'LeaseGrant',
  'lease.revoke': 'LeaseRevoke',
  'lease.timeToLive': 'LeaseTimeToLive',
  'lease.leases': 'LeaseLeases',
  'lease.keepAlive': 'LeaseKeepAlive',
  'maintenance.hashKv': 'HashKV',
  'auth.enable': 'AuthEnable',
  'auth.disable': 'AuthDisable',
  'auth.status': 'AuthStatus',
  watch: 'Watch',
};

const streamTypes: Readonly<Record<string, GrpcName['type']>> = {
  watch: 'bidi_stream',
  'lease.keepAlive': 'bidi_stream',
  'maintenance.snapshot': 'server_stream',
};

/** A method no table knows (labels stay bounded: one series for all of them). */
export const UNKNOWN_METHOD: GrpcName = { type: 'unary', service: 'unknown', method: 'unknown' };

/** etcd's service and method for a Cairn method name (`UNKNOWN_METHOD` if it has none). */
export function grpcName(method: string): GrpcName {
  const dot = method.indexOf('.');
  const prefix = dot < 0 ? method : method.slice(0, dot);
  const service = services[prefix];
  if (service === undefined) return UNKNOWN_METHOD;
  const rest = method.slice(dot + 1);
  const name = renamed[method] ?? (rest.charAt(0).toUpperCase() + rest.slice(1));
  if (name === '') return UNKNOWN_METHOD;
  return { type: streamTypes[method] ?? 'unary', service, method: name };
}

/** gRPC status code names (the `grpc_code` label). */
export type GrpcCode =
  | 'OK'
  | 'Canceled'
  | 'Unknown'
  | 'InvalidArgument'
  | 'DeadlineExceeded'
  | 'NotFound'
  | 'AlreadyExists'
  | 'PermissionDenied'
  | 'ResourceExhausted'
  | 'FailedPrecondition'
  | 'Aborted'
  | 'OutOfRange'
  | 'Unimplemented'
  | 'Internal'
  | 'Unavailable'
  | 'DataLoss'
  | 'Unauthenticated';

/** The gRPC code etcd answers each condition with (its rpctypes table), for every Cairn code. */
const grpcCodes: Readonly<Record<ErrorCode, GrpcCode>> = {
  [ErrorCode.InvalidArgument]: 'InvalidArgument',
  [ErrorCode.MalformedFrame]: 'InvalidArgument',
  [ErrorCode.UnknownMethod]: 'Unimplemented',
  [ErrorCode.UnsupportedVersion]: 'FailedPrecondition',
  [ErrorCode.RequestTooLarge]: 'InvalidArgument',
  [ErrorCode.TooManyOps]: 'InvalidArgument',
  [ErrorCode.DuplicateKey]: 'InvalidArgument',
  [ErrorCode.KeyTooLarge]: 'InvalidArgument',
  [ErrorCode.EmptyKey]: 'InvalidArgument',
  [ErrorCode.KeyNotFound]: 'InvalidArgument',
  [ErrorCode.Compacted]: 'OutOfRange',
  [ErrorCode.FutureRevision]: 'OutOfRange',
  [ErrorCode.LeaseNotFound]: 'NotFound',
  [ErrorCode.LeaseExists]: 'FailedPrecondition',
  [ErrorCode.LeaseTtlTooLarge]: 'OutOfRange',
  [ErrorCode.AuthFailed]: 'InvalidArgument',
  [ErrorCode.AuthNotEnabled]: 'FailedPrecondition',
  [ErrorCode.InvalidAuthToken]: 'Unauthenticated',
  [ErrorCode.PermissionDenied]: 'PermissionDenied',
  [ErrorCode.UserEmpty]: 'InvalidArgument',
  [ErrorCode.UserNotFound]: 'FailedPrecondition',
  [ErrorCode.UserAlreadyExists]: 'FailedPrecondition',
  [ErrorCode.RoleNotFound]: 'FailedPrecondition',
  [ErrorCode.RoleAlreadyExists]: 'FailedPrecondition',
  [ErrorCode.RoleNotGranted]: 'FailedPrecondition',
  [ErrorCode.PermissionNotGranted]: 'FailedPrecondition',
  [ErrorCode.RootUserNotExist]: 'FailedPrecondition',
  [ErrorCode.RootRoleNotExist]: 'FailedPrecondition',
  [ErrorCode.TooManyRequests]: 'ResourceExhausted',
  [ErrorCode.NoLeader]: 'Unavailable',
  [ErrorCode.NotLeader]: 'FailedPrecondition',
  [ErrorCode.LeaderChanged]: 'Unavailable',
  [ErrorCode.NotCapable]: 'FailedPrecondition',
  [ErrorCode.Stopped]: 'Unavailable',
  [ErrorCode.Timeout]: 'Unavailable',
  [ErrorCode.Unavailable]: 'Unavailable',
  [ErrorCode.MemberNotFound]: 'NotFound',
  [ErrorCode.MemberExists]: 'FailedPrecondition',
  [ErrorCode.PeerUrlExists]: 'FailedPrecondition',
  [ErrorCode.MemberNotLearner]: 'FailedPrecondition',
  [ErrorCode.LearnerNotReady]: 'FailedPrecondition',
  [ErrorCode.TooManyLearners]: 'FailedPrecondition',
  [ErrorCode.UnhealthyCluster]: 'Unavailable',
  [ErrorCode.ClusterIdMismatch]: 'FailedPrecondition',
  [ErrorCode.NoSpace]: 'ResourceExhausted',
  [ErrorCode.Corrupt]: 'DataLoss',
  [ErrorCode.Canceled]: 'Canceled',
  [ErrorCode.ConnectionClosed]: 'Unavailable',
  [ErrorCode.Internal]: 'Internal',
  [ErrorCode.SessionExpired]: 'FailedPrecondition',
  [ErrorCode.ElectionNotLeader]: 'FailedPrecondition',
  [ErrorCode.InvalidConfig]: 'InvalidArgument',
  [ErrorCode.NoRollout]: 'FailedPrecondition',
  [ErrorCode.RolloutInProgress]: 'FailedPrecondition',
};

/** `ok` or a Cairn error code, as the `grpc_code` label. */
export function grpcCode(code: string): GrpcCode {
  if (code === 'ok') return 'OK';
  return (grpcCodes as Readonly<Record<string, GrpcCode>>)[code] ?? 'Unknown';
}
