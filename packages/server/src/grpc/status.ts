import { status as GrpcStatus, Metadata, type ServiceError } from '@grpc/grpc-js';
import { defaultMessage, ErrorCode, toCairnError, type CairnError } from '@cairn/protocol';
import { grpcCode, type GrpcCode } from '../http/grpcNames.js';

const codeNumbers: Readonly<Record<GrpcCode, GrpcStatus>> = {
  OK: GrpcStatus.OK,
  Canceled: GrpcStatus.CANCELLED,
  Unknown: GrpcStatus.UNKNOWN,
  InvalidArgument: GrpcStatus.INVALID_ARGUMENT,
  DeadlineExceeded: GrpcStatus.DEADLINE_EXCEEDED,
  NotFound: GrpcStatus.NOT_FOUND,
  AlreadyExists: GrpcStatus.ALREADY_EXISTS,
  PermissionDenied: GrpcStatus.PERMISSION_DENIED,
  ResourceExhausted: GrpcStatus.RESOURCE_EXHAUSTED,
  FailedPrecondition: GrpcStatus.FAILED_PRECONDITION,
  Aborted: GrpcStatus.ABORTED,
  OutOfRange: GrpcStatus.OUT_OF_RANGE,
  Unimplemented: GrpcStatus.UNIMPLEMENTED,
  Internal: GrpcStatus.INTERNAL,
  Unavailable: GrpcStatus.UNAVAILABLE,
  DataLoss: GrpcStatus.DATA_LOSS,
  Unauthenticated: GrpcStatus.UNAUTHENTICATED,
};

/**
 * Conditions whose text etcd's clients match on (clientv3's rpctypes compares the message): they
 * get etcd's exact wording, whatever detail Cairn's message had. Others keep Cairn's message.
 */
const etcdWorded: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.Compacted,
  ErrorCode.FutureRevision,
  ErrorCode.LeaseNotFound,
  ErrorCode.LeaseExists,
  ErrorCode.LeaseTtlTooLarge,
  ErrorCode.RequestTooLarge,
  ErrorCode.TooManyOps,
  ErrorCode.DuplicateKey,
  ErrorCode.KeyNotFound,
  ErrorCode.EmptyKey,
  ErrorCode.AuthFailed,
  ErrorCode.AuthNotEnabled,
  ErrorCode.InvalidAuthToken,
  ErrorCode.PermissionDenied,
  ErrorCode.UserEmpty,
  ErrorCode.UserNotFound,
  ErrorCode.UserAlreadyExists,
  ErrorCode.RoleNotFound,
  ErrorCode.RoleAlreadyExists,
  ErrorCode.RoleNotGranted,
  ErrorCode.PermissionNotGranted,
  ErrorCode.RootUserNotExist,
  ErrorCode.RootRoleNotExist,
  ErrorCode.NoLeader,
  ErrorCode.NotLeader,
  ErrorCode.LeaderChanged,
  ErrorCode.NotCapable,
  ErrorCode.Stopped,
  ErrorCode.Timeout,
  ErrorCode.MemberNotFound,
  ErrorCode.MemberExists,
  ErrorCode.PeerUrlExists,
  ErrorCode.MemberNotLearner,
  ErrorCode.LearnerNotReady,
  ErrorCode.TooManyLearners,
  ErrorCode.UnhealthyCluster,
  ErrorCode.NoSpace,
  ErrorCode.Corrupt,
  ErrorCode.TooManyRequests,
]);

/** Where etcd's words differ from Cairn's default message. */
const etcdText: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.NoSpace]: 'mvcc: database space exceeded',
  [ErrorCode.NotCapable]: 'not capable',
};

/** The gRPC status number and message etcd answers a Cairn error with. */
export function grpcStatusOf(e: CairnError): { code: GrpcStatus; message: string } {
  const code = codeNumbers[grpcCode(e.code)];
  const text = etcdWorded.has(e.code) ? (etcdText[e.code] ?? defaultMessage[e.code]) : e.message;
  // etcd prefixes its server errors so; clients strip nothing and compare the whole text.
  return { code, message: e.code === ErrorCode.Canceled ? text : `etcdserver: ${text}` };
}

/** Anything thrown by a handler, as the error a grpc-js callback or stream takes. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const { code, message } = grpcStatusOf(toCairnError(err));
  return { code, details: message, message, metadata: new Metadata() };
}
