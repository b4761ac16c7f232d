// The public surface of @cairn/server. Everything not listed here is internal.

// Starting a member (what the daemon calls).
export { startServer, ListenError } from './server.js';
export type { CairnServer, StartOptions } from './server.js';
export { resolveConfig, resolveTls, parseInitialCluster, ConfigError } from './config/config.js';
export type { CairnConfig, ResolvedConfig, TlsConfig, ResolvedTls } from './config/config.js';
export { Authorizer, DEFAULT_AUTH_TOKEN_TTL_SECONDS } from './auth/authorizer.js';
export type { Caller } from './auth/authorizer.js';
export { AuthStore, ROOT } from './auth/store.js';
export type { UserRecord, RoleRecord } from './auth/store.js';
export type { AuthOp } from './auth/ops.js';
export { DEFAULT_QUOTA_BACKEND_BYTES } from './api/quota.js';
export { parseAutoCompaction, AutoCompactionError, DEFAULT_REVISION_CHECK_INTERVAL_MS } from './compaction/autoCompactor.js';
export type { AutoCompactionPolicy } from './compaction/autoCompactor.js';
export type { AlarmOp } from './apply/alarms.js';

// The member and its one write path.
export { Member, SERVER_VERSION, CLUSTER_VERSION } from './member.js';
export type { Proposer, MemberOptions, MemberObserver } from './member.js';
export { openIdentity, initialMemberId, initialClusterId, RemovedMemberError, JoinError } from './identity.js';
export type { Identity, IdentitySeed, StartKind } from './identity.js';
export type { RaftSettings, TransportHooks } from './member.js';
export type { RaftTransport } from './transport/transport.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';

// The state machine.
export { Applier } from './apply/applier.js';
export type { ApplyOutcome, AppliedBatch, HeaderFactory } from './apply/applier.js';
export { encodeWriteRequest, decodeWriteRequest } from './apply/requests.js';
export type { WriteRequest, WriteResponse, ResponseFor } from './apply/requests.js';
export { MvccStore } from './mvcc/store.js';
export type { RevisionEvents, ChangeListener, DrainedBatch, StoreOptions } from './mvcc/store.js';

// Storage.
export type { Backend, BatchOp, ScanRange } from './storage/backend.js';
export { RocksBackend } from './storage/rocks.js';
export {
  checkRocksMemory,
  defaultRocksMemory,
  RocksOptionError,
  type RocksMemoryOptions,
  DEFAULT_ROCKSDB_BLOCK_CACHE_BYTES,
  DEFAULT_ROCKSDB_MEMTABLE_BUDGET_BYTES,
} from './storage/rocks.js';
export { MemoryBackend } from './storage/memory.js';
export type { DefragProgress, DefragResult } from './storage/defrag.js';
export { defragDataDir } from './storage/offlineDefrag.js';

// Client API and HTTP.
export { ClientApiServer } from './api/server.js';
export { Session } from './api/session.js';
export type { SessionHost, FrameSink } from './api/session.js';
export type { StreamOpener, StreamSession, StreamContext } from './api/streams.js';
export { defaultLimits, DEFAULT_MAX_TXN_OPS, DEFAULT_MAX_KEY_BYTES } from './api/limits.js';
export type { ApiLimits } from './api/limits.js';
export { Metrics } from './http/metrics.js';
export type { MetricsSource } from './http/metrics.js';

// Backups: snapshot files and the offline tools (cairnutl).
export { snapshotStatus } from './backup/status.js';
export type { SnapshotStatus } from './backup/status.js';
export { restoreSnapshot, RestoreError } from './backup/restore.js';
export type { RestoreOptions, RestoreResult } from './backup/restore.js';
export { hashKvOfDataDir } from './backup/hashKv.js';
export type { OfflineHashKv } from './backup/hashKv.js';
export { DataDirError, DataDirLockedError, openExistingDataDir } from './backup/dataDir.js';
export { SnapshotFileError, SnapshotProblem } from './backup/format.js';
export type { SnapshotHeader, SnapshotSummary } from './backup/format.js';
