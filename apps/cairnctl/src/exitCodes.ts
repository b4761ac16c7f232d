import type { ErrorCode } from '@cairn/client';

/** etcdctl's exit codes (ctlv3/command/error.go), so scripts written for it keep working. */
export const ExitCode = {
  Success: 0,
  Error: 1,
  /** Could not connect or authenticate. */
  BadConnection: 2,
  /** Bad txn script or other input read from stdin. */
  InvalidInput: 3,
  /** A valid flag with an unsupported value (e.g. `-w protobuf`). */
  BadFeature: 4,
  Interrupted: 5,
  IO: 6,
  /** Wrong number of arguments, malformed flag values. */
  BadArgs: 128,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * The exit code for each error the client can report. Everything is a general error (1) except
 * failing to reach or authenticate to the cluster, which etcdctl reports as a bad connection (2).
 */
export const exitCodeOfError: Readonly<Record<ErrorCode, ExitCode>> = {
  invalid_argument: ExitCode.Error,
  malformed_frame: ExitCode.Error,
  unknown_method: ExitCode.Error,
  unsupported_version: ExitCode.BadConnection,
  request_too_large: ExitCode.Error,
  too_many_ops: ExitCode.Error,
  duplicate_key: ExitCode.Error,
  key_too_large: ExitCode.Error,
  empty_key: ExitCode.Error,
  key_not_found: ExitCode.Error,
  compacted: ExitCode.Error,
  future_revision: ExitCode.Error,
  lease_not_found: ExitCode.Error,
  lease_exists: ExitCode.Error,
  lease_ttl_too_large: ExitCode.Error,
  auth_failed: ExitCode.BadConnection,
  auth_not_enabled: ExitCode.Error,
  invalid_auth_token: ExitCode.BadConnection,
  permission_denied: ExitCode.Error,
  user_empty: ExitCode.Error,
  user_not_found: ExitCode.Error,
  user_already_exists: ExitCode.Error,
  role_not_found: ExitCode.Error,
  role_already_exists: ExitCode.Error,
  role_not_granted: ExitCode.Error,
  permission_not_granted: ExitCode.Error,
  root_user_not_exist: ExitCode.Error,
  root_role_not_exist: ExitCode.Error,
  too_many_requests: ExitCode.Error,
  no_leader: ExitCode.Error,
  not_leader: ExitCode.Error,
  leader_changed: ExitCode.Error,
  not_capable: ExitCode.Error,
  stopped: ExitCode.Error,
  timeout: ExitCode.Error,
  unavailable: ExitCode.BadConnection,
  member_not_found: ExitCode.Error,
  member_exists: ExitCode.Error,
  peer_url_exists: ExitCode.Error,
  member_not_learner: ExitCode.Error,
  learner_not_ready: ExitCode.Error,
  too_many_learners: ExitCode.Error,
  unhealthy_cluster: ExitCode.Error,
  cluster_id_mismatch: ExitCode.BadConnection,
  no_space: ExitCode.Error,
  corrupt: ExitCode.Error,
  canceled: ExitCode.Interrupted,
  connection_closed: ExitCode.Error,
  internal: ExitCode.Error,
  session_expired: ExitCode.Error,
  election_not_leader: ExitCode.Error,
  invalid_config: ExitCode.Error,
  no_rollout: ExitCode.Error,
  rollout_in_progress: ExitCode.Error,
};

/** An error in how cairnctl was called; printed as `Error: <message>`. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode = ExitCode.BadArgs) {
    super(message);
    this.exitCode = exitCode;
  }
}
