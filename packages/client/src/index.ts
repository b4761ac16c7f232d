export { CairnClient, connect } from './cairnClient.js';
export type { CairnClientOptions, CallOptions, StreamOptions, Logger } from './transport.js';
export type { ServerHello, TlsOptions } from './connection.js';
export { Auth } from './auth.js';
export type { UserAddOptions } from './auth.js';
export type { CairnStream } from './stream.js';
export { KV } from './kv.js';
export { Lease, KeepAliveHandle } from './lease.js';
export type { LeaseGrantOptions, TimeToLiveOptions, KeepAliveEvents } from './lease.js';
export { TypedEmitter } from './emitter.js';
export { Watcher } from './watch.js';
export { PrefixWatch } from './prefixWatch.js';
export type { PrefixSnapshot, PrefixWatchHandlers, PrefixWatchOptions, PrefixWatchClient } from './prefixWatch.js';
export type { WatchOptions } from './watch.js';
export type { GetOptions, GetPrefixOptions, RangeOptions, PutOptions, DeleteKeyOptions, CompactOptions } from './kv.js';
export { Cluster, Maintenance } from './cluster.js';
export { SnapshotDownload } from './snapshot.js';
export type { MemberListOptions, MemberAddOptions } from './cluster.js';
export { TxnBuilder, compare, op } from './txn.js';
export type { CompareOperator } from './txn.js';
export { keyString, valueString, resolveKeyRange, toRangeRequest, toPutRequest, toDeleteRequest } from './options.js';
export type { Int64Like, KeyRange, ReadOptions, RangeQuery, WriteOptions, DeleteOptions } from './options.js';
export { endpointToUrl } from './endpoints.js';
export { DISCOVERY_PREFIX, discoveryKeys, formatDiscoveryUrl, isDiscoveryToken, parseDiscoveryUrl } from './discovery.js';
export type { DiscoveryKeys, DiscoveryUrl } from './discovery.js';
// Re-exported so that a user of the client needs no second import for errors and data types.
export { CairnError, ErrorCode, toCairnError, toBytes, bytesToString, prefixEnd, Backoff, backoffDelayMs, errorTraits, traitsOf } from '@cairn/protocol';
export type {
  BackoffOptions,
  ErrorTraits,
  BytesLike,
  KeyValue,
  ResponseHeader,
  RangeResponse,
  PutResponse,
  DeleteRangeResponse,
  TxnResponse,
  CompactionResponse,
  Compare,
  RequestOp,
  ResponseOp,
  Member,
  MemberId,
  MemberListResponse,
  MemberAddResponse,
  MemberRemoveResponse,
  MemberUpdateResponse,
  MemberPromoteResponse,
  MoveLeaderResponse,
  StatusResponse,
  HashKvResponse,
  DefragmentResponse,
  SortOrder,
  SortTarget,
  Permission,
  PermissionType,
  AlarmMember,
  AlarmResponse,
  AuthStatusResponse,
  UserGetResponse,
  UserListResponse,
  RoleGetResponse,
  RoleListResponse,
  AuthHeaderResponse,
  LeaseId,
  LeaseGrantResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  LeaseLeasesResponse,
  LeaseKeepAliveResponse,
  WatchResponse,
  WatchEvent,
  WatchFilter,
  EventType,
} from '@cairn/protocol';
