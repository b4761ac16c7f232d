/**
 * One code table for every error that crosses the wire. Codes are stable strings: clients
 * switch on them, and cairnctl maps them to exit codes and messages. The wording of the
 * messages follows etcd's where etcd has the same condition, so that users who know etcd
 * recognise them.
 */
export const ErrorCode = {
  // Requests the server could not understand or will not accept.
  InvalidArgument: 'invalid_argument',
  MalformedFrame: 'malformed_frame',
  UnknownMethod: 'unknown_method',
  UnsupportedVersion: 'unsupported_version',
  RequestTooLarge: 'request_too_large',
  TooManyOps: 'too_many_ops',
  DuplicateKey: 'duplicate_key',
  KeyTooLarge: 'key_too_large',
  EmptyKey: 'empty_key',
  /** A put with ignoreValue or ignoreLease on a key that does not exist. */
  KeyNotFound: 'key_not_found',
  // MVCC.
  Compacted: 'compacted',
  FutureRevision: 'future_revision',
  // Leases.
  LeaseNotFound: 'lease_not_found',
  LeaseExists: 'lease_exists',
  LeaseTtlTooLarge: 'lease_ttl_too_large',
  // Auth.
  AuthFailed: 'auth_failed',
  AuthNotEnabled: 'auth_not_enabled',
  InvalidAuthToken: 'invalid_auth_token',
  PermissionDenied: 'permission_denied',
  UserEmpty: 'user_empty',
  UserNotFound: 'user_not_found',
  UserAlreadyExists: 'user_already_exists',
  RoleNotFound: 'role_not_found',
  RoleAlreadyExists: 'role_already_exists',
  RoleNotGranted: 'role_not_granted',
  PermissionNotGranted: 'permission_not_granted',
  RootUserNotExist: 'root_user_not_exist',
  RootRoleNotExist: 'root_role_not_exist',
  /** Too many failed logins for this user or from this address: details.retryAfterMs says when to try again. */
  TooManyRequests: 'too_many_requests',
  // Cluster and consensus.
  NoLeader: 'no_leader',
  NotLeader: 'not_leader',
  LeaderChanged: 'leader_changed',
  NotCapable: 'not_capable',
  Stopped: 'stopped',
  Timeout: 'timeout',
  Unavailable: 'unavailable',
  MemberNotFound: 'member_not_found',
  MemberExists: 'member_exists',
  PeerUrlExists: 'peer_url_exists',
  MemberNotLearner: 'member_not_learner',
  LearnerNotReady: 'learner_not_ready',
  TooManyLearners: 'too_many_learners',
  UnhealthyCluster: 'unhealthy_cluster',
  ClusterIdMismatch: 'cluster_id_mismatch',
  NoSpace: 'no_space',
  Corrupt: 'corrupt',
  // Client-side conditions.
  Canceled: 'canceled',
  ConnectionClosed: 'connection_closed',
  Internal: 'internal',
  // Recipes (@cairn/concurrency, @cairn/registry, @cairn/config): conditions of the client-side algorithms.
  /** The session's lease expired or was revoked: whatever it held is gone. */
  SessionExpired: 'session_expired',
  /** proclaim/resign by a campaigner that is not (or no longer) the leader. */
  ElectionNotLeader: 'election_not_leader',
  /** A configuration value failed its schema; the last good configuration stays in force. */
  InvalidConfig: 'invalid_config',
  /** Promote or abort of a staged config rollout when none is in progress. */
  NoRollout: 'no_rollout',
  /** A staged config rollout was started while another one is in progress. */
  RolloutInProgress: 'rollout_in_progress',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const knownCodes: ReadonlySet<string> = new Set(Object.values(ErrorCode));

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && knownCodes.has(value);
}

/** The default message for each code: what etcd says for the same condition, in Cairn's words. */
export const defaultMessage: Readonly<Record<ErrorCode, string>> = {
  invalid_argument: 'invalid argument',
  malformed_frame: 'malformed frame',
  unknown_method: 'unknown method',
  unsupported_version: 'unsupported protocol version',
  request_too_large: 'request is too large',
  too_many_ops: 'too many operations in txn request',
  duplicate_key: 'duplicate key given in txn request',
  key_too_large: 'key is too large',
  empty_key: 'key is not provided',
  key_not_found: 'key not found',
  compacted: 'mvcc: required revision has been compacted',
  future_revision: 'mvcc: required revision is a future revision',
  lease_not_found: 'requested lease not found',
  lease_exists: 'lease already exists',
  lease_ttl_too_large: 'too large lease TTL',
  auth_failed: 'authentication failed, invalid user ID or password',
  auth_not_enabled: 'authentication is not enabled',
  invalid_auth_token: 'invalid auth token',
  permission_denied: 'permission denied',
  user_empty: 'user name is empty',
  user_not_found: 'user name not found',
  user_already_exists: 'user name already exists',
  role_not_found: 'role name not found',
  role_already_exists: 'role name already exists',
  role_not_granted: 'role is not granted to the user',
  permission_not_granted: 'permission is not granted to the role',
  root_user_not_exist: 'root user does not exist',
  root_role_not_exist: 'root user does not have root role',
  too_many_requests: 'too many requests',
  no_leader: 'no leader',
  not_leader: 'not leader',
  leader_changed: 'leader changed',
  not_capable: 'cluster is not capable of this operation',
  stopped: 'server stopped',
  timeout: 'request timed out',
  unavailable: 'member unavailable',
  member_not_found: 'member not found',
  member_exists: 'member ID already exists',
  peer_url_exists: 'Peer URLs already exists',
  member_not_learner: 'can only promote a learner member',
  learner_not_ready: 'can only promote a learner member which is in sync with leader',
  too_many_learners: 'too many learner members in cluster',
  unhealthy_cluster: 'unhealthy cluster',
  cluster_id_mismatch: 'cluster ID mismatch',
  no_space: 'database space exceeded',
  corrupt: 'corrupt cluster',
  canceled: 'request canceled',
  connection_closed: 'connection closed',
  internal: 'internal error',
  session_expired: 'session expired',
  election_not_leader: 'election: not leader',
  invalid_config: 'configuration failed validation',
  no_rollout: 'no config rollout in progress',
  rollout_in_progress: 'a config rollout is already in progress',
};

/**
 * The one error class on either side of the wire. `details` carries structured context a
 * caller can act on (e.g. `compactRevision` for `compacted`), never anything secret.
 */
export class CairnError extends Error {
  override readonly name = 'CairnError';
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>) {
    super(message ?? defaultMessage[code]);
    this.code = code;
    this.details = details;
  }

  /** Whether sending the same request again (later, or to another member) may succeed. */
  get retryable(): boolean {
    return traitsOf(this.code).retryable;
  }
}

/**
 * What a failure with a code says to whoever sent the request; every retry decision of the
 * client, the recipes and the peer links reads it from here.
 */
export interface ErrorTraits {
  /** Sending the request again, later or to another member, may succeed: the failure is about the member or the moment, not the request. */
  readonly retryable: boolean;
  /**
   * The member is up but cannot serve right now (no leader, an election, shutting down): the
   * same request may succeed soon on the same connection, so the wait before it is short.
   * Implies `retryable`.
   */
  readonly transient: boolean;
  /** The request certainly had no effect (it was refused, or never reached raft): a write failing with it may be sent again. */
  readonly notApplied: boolean;
  /** A stream (a watch, a keep-alive) that ended with it may be reopened from where it was, on this member or another. */
  readonly resumable: boolean;
  /** A connection attempt that failed with it may succeed at another endpoint. */
  readonly tryNextEndpoint: boolean;
}

type Flag<L extends string> = L | '.';
/** One letter per trait, in the order of ErrorTraits: R(etryable) T(ransient) N(ot applied) (re)S(umable) (next) E(ndpoint); `.` for no. */
type Flags = `${Flag<'R'>}${Flag<'T'>}${Flag<'N'>}${Flag<'S'>}${Flag<'E'>}`;

// prettier-ignore
const traitTable: Readonly<Record<ErrorCode, Flags>> = {
  invalid_argument: '..N..',
  malformed_frame: '..N.E', // at dial time: something that is not a Cairn member answers there
  unknown_method: '..N..',
  unsupported_version: '..N..',
  request_too_large: '..N..',
  too_many_ops: '..N..',
  duplicate_key: '..N..',
  key_too_large: '..N..',
  empty_key: '..N..',
  key_not_found: '..N..',
  compacted: '..N..',
  future_revision: '..N..',
  lease_not_found: '..N..',
  lease_exists: '..N..',
  lease_ttl_too_large: '..N..',
  auth_failed: '..N..',
  auth_not_enabled: '..N..',
  invalid_auth_token: '..N..',
  permission_denied: '..N..',
  user_empty: '..N..',
  user_not_found: '..N..',
  user_already_exists: '..N..',
  role_not_found: '..N..',
  role_already_exists: '..N..',
  role_not_granted: '..N..',
  permission_not_granted: '..N..',
  root_user_not_exist: '..N..',
  root_role_not_exist: '..N..',
  too_many_requests: '..N..',
  no_leader: 'RTNS.',
  not_leader: 'R.N..', // another member (the leader) may serve it; this one will not
  leader_changed: 'RTNS.',
  not_capable: '..N..',
  stopped: 'RT.SE', // proposals in flight when a member stops may still commit
  timeout: 'R..SE', // the request may have been applied
  unavailable: 'RTNSE',
  member_not_found: '..N..',
  member_exists: '..N..',
  peer_url_exists: '..N..',
  member_not_learner: '..N..',
  learner_not_ready: '..N..',
  too_many_learners: '..N..',
  unhealthy_cluster: '..N..',
  cluster_id_mismatch: '..N.E',
  no_space: '..N..',
  corrupt: '..N..',
  canceled: '.....', // the caller gave up: a write may still be applied
  connection_closed: 'R..SE', // a request in flight may have been applied (details.notSent: it never left)
  internal: '.....',
  session_expired: '.....',
  election_not_leader: '..N..',
  invalid_config: '..N..',
  no_rollout: '..N..',
  rollout_in_progress: '..N..',
};

function traitsFrom(f: Flags): ErrorTraits {
  return Object.freeze({ retryable: f[0] === 'R', transient: f[1] === 'T', notApplied: f[2] === 'N', resumable: f[3] === 'S', tryNextEndpoint: f[4] === 'E' });
}

/** The traits of every code. */
export const errorTraits: Readonly<Record<ErrorCode, ErrorTraits>> = Object.freeze(
  Object.fromEntries(Object.entries(traitTable).map(([code, f]) => [code, traitsFrom(f)])) as Record<ErrorCode, ErrorTraits>,
);

const UNKNOWN_CODE_TRAITS = traitsFrom('.....');

/** The traits of a code; a code this build does not know (a newer member's) has none of them. */
export function traitsOf(code: string): ErrorTraits {
  return isErrorCode(code) ? errorTraits[code] : UNKNOWN_CODE_TRAITS;
}

/** Normalises anything thrown into a CairnError; unknown failures become `internal`. */
export function toCairnError(err: unknown): CairnError {
  if (err instanceof CairnError) return err;
  if (err instanceof Error) {
    if (err.name === 'AbortError') return new CairnError(ErrorCode.Canceled, err.message);
    return new CairnError(ErrorCode.Internal, err.message);
  }
  return new CairnError(ErrorCode.Internal, String(err));
}
