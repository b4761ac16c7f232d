/**
 * The data model on the wire. Keys and values are bytes. Revisions, versions and every 64-bit
 * id are bigint, so nothing is rounded through a JS double; counts and TTLs in seconds are
 * plain numbers.
 */

/** A store revision: one per committed write transaction, starting at 1 for an empty store. */
export type Revision = bigint;
/** A lease id; 0n means "no lease". */
export type LeaseId = bigint;
/** A cluster member id (64 bits). */
export type MemberId = bigint;
export type ClusterId = bigint;

export const NO_LEASE: LeaseId = 0n;

export interface ResponseHeader {
  readonly clusterId: ClusterId;
  readonly memberId: MemberId;
  /** The store's revision when the response was produced (for a write: the revision it made). */
  readonly revision: Revision;
  readonly raftTerm: bigint;
}

export interface KeyValue {
  readonly key: Uint8Array;
  /** Revision of the put that created this generation of the key. */
  readonly createRevision: Revision;
  /** Revision of the last put to this key. */
  readonly modRevision: Revision;
  /** Number of puts since the key was (re)created; 1 after the first put, reset by a delete. */
  readonly version: bigint;
  readonly value: Uint8Array;
  /** The lease the key is attached to, or 0n. */
  readonly lease: LeaseId;
}

export type SortOrder = 'none' | 'ascend' | 'descend';
export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';

/**
 * A range of keys. `rangeEnd` absent: the single key. `rangeEnd` = [0]: every key >= key
 * (from-key); key = [0] and rangeEnd = [0]: all keys. Otherwise the half-open [key, rangeEnd).
 */
export interface RangeRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  /** Maximum number of keys returned; 0 or absent: no limit. */
  readonly limit?: number;
  /** Read at this revision; 0n or absent: the current revision. */
  readonly revision?: Revision;
  readonly sortOrder?: SortOrder;
  readonly sortTarget?: SortTarget;
  /** Serve from this member's state without a quorum round (may be stale). */
  readonly serializable?: boolean;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
  readonly minModRevision?: Revision;
  readonly maxModRevision?: Revision;
  readonly minCreateRevision?: Revision;
  readonly maxCreateRevision?: Revision;
}

export interface RangeResponse {
  readonly header: ResponseHeader;
  readonly kvs: KeyValue[];
  /** More keys exist in the range than were returned (limit). */
  readonly more: boolean;
  /** Number of keys in the range (before limit). */
  readonly count: number;
}

export interface PutRequest {
  readonly key: Uint8Array;
  readonly value?: Uint8Array;
  readonly lease?: LeaseId;
  readonly prevKv?: boolean;
  /** Keep the current value; fails if the key does not exist. */
  readonly ignoreValue?: boolean;
  /** Keep the current lease; fails if the key does not exist. */
  readonly ignoreLease?: boolean;
}

export interface PutResponse {
  readonly header: ResponseHeader;
  readonly prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  readonly prevKv?: boolean;
}

export interface DeleteRangeResponse {
  readonly header: ResponseHeader;
  readonly deleted: number;
  readonly prevKvs?: KeyValue[];
}

export type CompareTarget = 'version' | 'create' | 'mod' | 'value' | 'lease';
export type CompareResult = 'equal' | 'greater' | 'less' | 'not_equal';

/** One guard of a transaction. Bigint targets compare `version`/`create`/`mod`/`lease`; `value` compares bytes. */
export type Compare = {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  readonly result: CompareResult;
} & (
  | { readonly target: 'value'; readonly value: Uint8Array }
  | { readonly target: 'version' | 'create' | 'mod' | 'lease'; readonly value: bigint }
);

export type RequestOp =
  | { readonly range: RangeRequest }
  | { readonly put: PutRequest }
  | { readonly deleteRange: DeleteRangeRequest }
  | { readonly txn: TxnRequest };

export type ResponseOp =
  | { readonly range: RangeResponse }
  | { readonly put: PutResponse }
  | { readonly deleteRange: DeleteRangeResponse }
  | { readonly txn: TxnResponse };

export interface TxnRequest {
  readonly compare: Compare[];
  readonly success: RequestOp[];
  readonly failure: RequestOp[];
}

export interface TxnResponse {
  readonly header: ResponseHeader;
  readonly succeeded: boolean;
  readonly responses: ResponseOp[];
}

export interface CompactionRequest {
  readonly revision: Revision;
  /** Wait until the compaction is physically applied before answering. */
  readonly physical?: boolean;
}

export interface CompactionResponse {
  readonly header: ResponseHeader;
}

// ---- Leases -------------------------------------------------------------------------------

export interface LeaseGrantRequest {
  readonly ttlSeconds: number;
  /** Caller-chosen id; 0n or absent: the server picks one. */
  readonly id?: LeaseId;
}
export interface LeaseGrantResponse {
  readonly header: ResponseHeader;
  readonly id: LeaseId;
  readonly ttlSeconds: number;
}
export interface LeaseRevokeRequest {
  readonly id: LeaseId;
}
export interface LeaseRevokeResponse {
  readonly header: ResponseHeader;
}
export interface LeaseTimeToLiveRequest {
  readonly id: LeaseId;
  readonly keys?: boolean;
}
export interface LeaseTimeToLiveResponse {
  readonly header: ResponseHeader;
  readonly id: LeaseId;
  /** Remaining seconds; -1 if the lease does not exist (expired or revoked). */
  readonly ttlSeconds: number;
  readonly grantedTtlSeconds: number;
  readonly keys: Uint8Array[];
}
export type LeaseLeasesRequest = Record<string, never>;
export interface LeaseLeasesResponse {
  readonly header: ResponseHeader;
  readonly leases: { readonly id: LeaseId }[];
}
/** One message on a keep-alive stream, client to server: renew these leases. */
export interface LeaseKeepAliveRequest {
  readonly id: LeaseId;
}
/** Server to client: the lease's fresh TTL, or ttlSeconds <= 0 when it no longer exists. */
export interface LeaseKeepAliveResponse {
  readonly header: ResponseHeader;
  readonly id: LeaseId;
  readonly ttlSeconds: number;
}

// ---- Watches ------------------------------------------------------------------------------

export type WatchFilter = 'noput' | 'nodelete';

export interface WatchCreateRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  /** First revision to deliver (inclusive); 0n or absent: changes after now. */
  readonly startRevision?: Revision;
  readonly prevKv?: boolean;
  readonly filters?: WatchFilter[];
  /** Ask for a progress notification (a header-only message) every so often when idle. */
  readonly progressNotify?: boolean;
  /** Deliver all events of one revision in one message even if large. */
  readonly fragment?: boolean;
}

export type EventType = 'put' | 'delete';

export interface WatchEvent {
  readonly type: EventType;
  /** For a delete: the key with modRevision = the deleting revision and an empty value. */
  readonly kv: KeyValue;
  readonly prevKv?: KeyValue;
}

/** Server to client on a watch stream. */
export interface WatchResponse {
  readonly header: ResponseHeader;
  readonly events: WatchEvent[];
  /** Set on the first message of a stream: the watch is registered. */
  readonly created?: boolean;
  /** Set when the watch ended (canceled, or its start revision was compacted). */
  readonly canceled?: boolean;
  readonly cancelReason?: string;
  /** With `canceled`: the requested start revision was compacted; this is the compaction point. */
  readonly compactRevision?: Revision;
  /** A progress notification: no events up to header.revision. */
  readonly progress?: boolean;
}

/** Client to server on an open watch stream. */
export interface WatchControl {
  readonly progressRequest: true;
}

// ---- Cluster and maintenance ---------------------------------------------------------------

export interface Member {
  readonly id: MemberId;
  readonly name: string;
  readonly peerUrls: string[];
  readonly clientUrls: string[];
  readonly isLearner: boolean;
}

export type MemberListRequest = { readonly linearizable?: boolean };
export interface MemberListResponse {
  readonly header: ResponseHeader;
  readonly members: Member[];
}
export interface MemberAddRequest {
  readonly peerUrls: string[];
  readonly isLearner?: boolean;
}
export interface MemberAddResponse {
  readonly header: ResponseHeader;
  readonly member: Member;
  readonly members: Member[];
}
export interface MemberRemoveRequest {
  readonly id: MemberId;
}
export interface MemberRemoveResponse {
  readonly header: ResponseHeader;
  readonly members: Member[];
}
export interface MemberUpdateRequest {
  readonly id: MemberId;
  readonly peerUrls: string[];
}
export interface MemberUpdateResponse {
  readonly header: ResponseHeader;
  readonly members: Member[];
}
export interface MemberPromoteRequest {
  readonly id: MemberId;
}
export interface MemberPromoteResponse {
  readonly header: ResponseHeader;
  readonly members: Member[];
}

export type StatusRequest = Record<string, never>;
export interface StatusResponse {
  readonly header: ResponseHeader;
  /** Cairn's version string. */
  readonly version: string;
  /** Size of the member's data directory in bytes. */
  readonly dbSize: bigint;
  /** Bytes in use by live data (dbSize minus reclaimable space), as far as known. */
  readonly dbSizeInUse: bigint;
  /** The member this member believes is leader, or 0n. */
  readonly leader: MemberId;
  readonly raftIndex: bigint;
  readonly raftTerm: bigint;
  readonly raftAppliedIndex: bigint;
  readonly errors: string[];
  readonly isLearner: boolean;
}

/** Defragment the member the request is sent to (etcd's Maintenance.Defragment). */
export type DefragmentRequest = Record<string, never>;
export interface DefragmentResponse {
  readonly header: ResponseHeader;
}

export type HashKvRequest = { readonly revision?: Revision };
export interface HashKvResponse {
  readonly header: ResponseHeader;
  /** CRC-32C over the MVCC records up to hashRevision (see docs/integrity.md), unsigned 32-bit. */
  readonly hash: number;
  /** The store's compacted revision when it hashed. */
  readonly compactRevision: Revision;
  /** The revision the hash covers (the newest one when 0 was asked for). */
  readonly hashRevision: Revision;
}

/** Opens a snapshot stream (etcd's Maintenance.Snapshot); no parameters. */
export type SnapshotRequest = Record<string, never>;
/**
 * The client's flow control on a snapshot stream: it has consumed every message up to `ack`
 * (their `seq`), so the member may send more. The member keeps only a few messages unacked.
 */
export interface SnapshotAck {
  readonly ack: number;
}
/**
 * One piece of a snapshot file (see docs/operations.md, "Backups"). The blobs, concatenated in
 * `seq` order, are the file; its last 32 bytes (the blob of the message with `last`) are the
 * SHA-256 of everything before them.
 */
export interface SnapshotResponse {
  readonly header: ResponseHeader;
  /** 1, 2, 3, ... in the order sent. */
  readonly seq: number;
  readonly blob: Uint8Array;
  /** Set on the final message, whose blob is the 32-byte SHA-256 of all the blobs before it. */
  readonly last?: boolean;
}

export type AlarmType = 'none' | 'nospace' | 'corrupt';
export interface AlarmMember {
  readonly memberId: MemberId;
  readonly alarm: AlarmType;
}
export interface AlarmRequest {
  readonly action: 'get' | 'activate' | 'deactivate';
  readonly memberId?: MemberId;
  readonly alarm?: AlarmType;
}
export interface AlarmResponse {
  readonly header: ResponseHeader;
  readonly alarms: AlarmMember[];
}

export interface MoveLeaderRequest {
  readonly targetId: MemberId;
}
export interface MoveLeaderResponse {
  readonly header: ResponseHeader;
}

// ---- Auth ---------------------------------------------------------------------------------

export interface AuthenticateRequest {
  readonly name: string;
  readonly password: string;
}
export interface AuthenticateResponse {
  readonly header: ResponseHeader;
  readonly token: string;
}

/** What a role may do on a key, a [key, rangeEnd) range, a prefix or everything from a key. */
export type PermissionType = 'read' | 'write' | 'readwrite';

/**
 * One grant of a role. `rangeEnd` absent or empty: the single key; [0]: every key >= key;
 * otherwise the half-open [key, rangeEnd) (a prefix is [prefix, prefixEnd(prefix))).
 */
export interface Permission {
  readonly permType: PermissionType;
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
}

/** The answer of every auth management call that only changes state. */
export interface AuthHeaderResponse {
  readonly header: ResponseHeader;
}

export type AuthEnableRequest = Record<string, never>;
export type AuthDisableRequest = Record<string, never>;
export type AuthStatusRequest = Record<string, never>;
export interface AuthStatusResponse {
  readonly header: ResponseHeader;
  readonly enabled: boolean;
  /** Bumped by every change of users, roles, permissions or the enabled flag. */
  readonly authRevision: bigint;
}

export interface UserAddRequest {
  readonly name: string;
  /** In clear over the (ideally TLS) socket; the member hashes it before it enters the log. */
  readonly password?: string;
  /** A user that cannot authenticate with a password (only with a client certificate). */
  readonly noPassword?: boolean;
}
export interface UserNameRequest {
  readonly name: string;
}
export interface UserGetResponse {
  readonly header: ResponseHeader;
  readonly roles: string[];
}
export type UserListRequest = Record<string, never>;
export interface UserListResponse {
  readonly header: ResponseHeader;
  readonly users: string[];
}
export interface UserChangePasswordRequest {
  readonly name: string;
  readonly password: string;
}
export interface UserRoleRequest {
  readonly user: string;
  readonly role: string;
}
export interface RoleNameRequest {
  readonly role: string;
}
export interface RoleGetResponse {
  readonly header: ResponseHeader;
  readonly perm: Permission[];
}
export type RoleListRequest = Record<string, never>;
export interface RoleListResponse {
  readonly header: ResponseHeader;
  readonly roles: string[];
}
export interface RoleGrantPermissionRequest {
  readonly name: string;
  readonly perm: Permission;
}
export interface RoleRevokePermissionRequest {
  readonly role: string;
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
}
