import {
  CairnError,
  decodeValue,
  encodeValue,
  ErrorCode,
  validate,
  type CompactionRequest,
  type CompactionResponse,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type LeaseGrantRequest,
  type LeaseGrantResponse,
  type LeaseRevokeRequest,
  type LeaseRevokeResponse,
  type PutRequest,
  type PutResponse,
  type TxnRequest,
  type TxnResponse,
  type AlarmResponse,
  type AuthHeaderResponse,
  type Decoder,
} from '@cairn/protocol';
import { authOp, type AuthOp } from '../auth/ops.js';
import type { AlarmOp } from './alarms.js';

/**
 * A request that changes state-machine data: what enters the log. The lease, auth and
 * membership tasks add their own variants here.
 */
export type WriteRequest =
  | { readonly put: PutRequest }
  | { readonly deleteRange: DeleteRangeRequest }
  | { readonly txn: TxnRequest }
  | { readonly compact: CompactionRequest }
  | { readonly auth: AuthOp }
  | { readonly alarm: AlarmOp }
  /** The id is always chosen before proposing (the API picks one when the caller did not). */
  | { readonly leaseGrant: LeaseGrantRequest }
  | { readonly leaseRevoke: LeaseRevokeRequest };

export type WriteResponse =
  | { readonly put: PutResponse }
  | { readonly deleteRange: DeleteRangeResponse }
  | { readonly txn: TxnResponse }
  | { readonly compact: CompactionResponse }
  | { readonly auth: AuthHeaderResponse }
  | { readonly alarm: AlarmResponse }
  | { readonly leaseGrant: LeaseGrantResponse }
  | { readonly leaseRevoke: LeaseRevokeResponse };

/** The response type matching a request variant. */
export type ResponseFor<R extends WriteRequest> = R extends { put: PutRequest }
  ? PutResponse
  : R extends { deleteRange: DeleteRangeRequest }
    ? DeleteRangeResponse
    : R extends { txn: TxnRequest }
      ? TxnResponse
      : R extends { auth: AuthOp }
        ? AuthHeaderResponse
        : R extends { alarm: AlarmOp }
          ? AlarmResponse
          : R extends { compact: CompactionRequest }
            ? CompactionResponse
            : R extends { leaseGrant: LeaseGrantRequest }
              ? LeaseGrantResponse
              : LeaseRevokeResponse;

/** A log entry's data: the request in the protocol's MessagePack encoding. */
export function encodeWriteRequest(req: WriteRequest): Uint8Array {
  return encodeValue(req);
}

const variants = {
  put: validate.putRequest,
  deleteRange: validate.deleteRangeRequest,
  txn: validate.txnRequest,
  compact: validate.compactionRequest,
  auth: authOp,
  alarm: validate.object<AlarmOp>({
    action: validate.oneOf('activate', 'deactivate'),
    memberId: validate.uint64,
    alarm: validate.oneOf('nospace', 'corrupt'),
  }) as Decoder<AlarmOp>,
  leaseGrant: validate.leaseGrantRequest,
  leaseRevoke: validate.leaseIdRequest,
} as const;

/**
 * Decodes a log entry. Entries were encoded by `encodeWriteRequest` on some member, so a
 * failure here means a corrupt log; the caller treats it as fatal.
 */
export function decodeWriteRequest(data: Uint8Array): WriteRequest {
  const v = decodeValue(data);
  if (typeof v !== 'object' || v === null) throw new CairnError(ErrorCode.Corrupt, 'log entry is not a map');
  const names = Object.keys(v);
  const name = names[0];
  if (names.length !== 1 || name === undefined || !(name in variants)) {
    throw new CairnError(ErrorCode.Corrupt, `log entry has an unknown shape: ${names.join(',')}`);
  }
  const decode = variants[name as keyof typeof variants];
  return { [name]: decode((v as Record<string, unknown>)[name], name) } as WriteRequest;
}
