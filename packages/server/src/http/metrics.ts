import { collectDefaultMetrics, Counter, exponentialBuckets, Gauge, Histogram, Registry } from 'prom-client';
import { CountingHistogram } from './countingHistogram.js';
import type { MemberObserver } from '../member.js';
import type { DbSizes } from '../storage/dbSize.js';
import { NetworkMetrics } from './networkMetrics.js';

/** What the gauges read at scrape time. */
export interface MetricsSource {
  readonly memberId: bigint;
  readonly serverVersion: string;
  /** --quota-backend-bytes as resolved (the default included). */
  readonly quotaBackendBytes: number;
  /** The leader this member knows of, 0n if none. */
  leaderId(): bigint;
  isLeader(): boolean;
  isLearner(): boolean;
  /** Raft's commit index (etcd reports it as proposals committed). */
  committedIndex(): bigint;
  appliedIndex(): bigint;
  /** This member's proposals waiting for their entries to apply. */
  proposalsPending(): number;
  /** DB SIZE and DB SIZE IN USE, as `endpoint status` reports them. */
  dbSizes(): DbSizes;
  revision(): bigint;
  compactRevision(): bigint;
  /** Keys the in-memory index holds (deleted ones until compaction drops them). */
  keys(): number;
  /** Open watches, the ones being caught up from history, and events sent to watchers so far. */
  watchers(): number;
  slowWatchers(): number;
  eventsSent(): number;
  /** RocksDB's own memory accounting, by kind (memtables, block cache, ...). */
  storageMemoryBytes?(): Readonly<Record<string, number>>;
  /** Client WebSockets open now (absent: not reported). */
  clientConnections?(): number;
}

/** etcd logs (and counts in slow_apply_total) an apply that took longer than this. */
const SLOW_APPLY_SECONDS = 0.1;

/** A gauge read at scrape time. */
function gaugeFunc(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** A counter whose total is kept elsewhere and read at scrape time. */
function counterFunc(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/**
 * Prometheus metrics of one member, in a registry of its own (several members may share a
 * process in tests). Families carry etcd's names, types, labels and buckets wherever etcd has
 * the same measurement, so etcd's dashboards and alerts read them; `cairn_*` names are only
 * for what etcd has no name for (docs/monitoring.md lists them all).
 */
export class Metrics implements MemberObserver {
  readonly registry = new Registry();
  /** Peer and client traffic, and the per-method request families. */
  readonly network: NetworkMetrics;
  private readonly leaderChanges: Counter;
  private readonly proposalsFailed: Counter;
  private readonly slowApplies: Counter;
  private readonly heartbeatFailures: Counter;
  private readonly applyDuration: CountingHistogram;
  private readonly walFsync: CountingHistogram;
  private readonly backendCommit: CountingHistogram;
  private readonly batchEntries: CountingHistogram;
  private readonly hashRevDuration: Histogram;
  private readonly peerRefusals: Counter<'reason'>;
  private readonly clientRefusals: Counter<'reason'>;
  private readonly clientPauses: Counter;
  private readonly txnCompareRefusals: Counter;

  constructor(source: MetricsSource) {
    const registry = this.registry;
    const registers = [registry];
    // Process and Node.js figures (RSS, heap, event-loop lag): what a memory or latency problem
    // is diagnosed with.
    collectDefaultMetrics({ register: registry });
    this.network = new NetworkMetrics(registry);
    this.network.local = source.memberId.toString(16);

    // ---- server (etcd's etcdserver package) ----
    gaugeFunc(registry, 'etcd_server_has_leader', 'Whether or not a leader exists. 1 is existence, 0 is not.', () => (source.leaderId() === 0n ? 0 : 1));
    gaugeFunc(registry, 'etcd_server_is_leader', 'Whether or not this member is a leader. 1 if is, 0 otherwise.', () => (source.isLeader() ? 1 : 0));
    gaugeFunc(registry, 'etcd_server_is_learner', 'Whether or not this member is a learner. 1 if is, 0 otherwise.', () => (source.isLearner() ? 1 : 0));
    this.leaderChanges = new Counter({ name: 'etcd_server_leader_changes_seen_total', help: 'The number of leader changes seen.', registers });
    // etcd reports these three as gauges (set from raft's indexes), and so does Cairn.
    gaugeFunc(registry, 'etcd_server_proposals_committed_total', 'The total number of consensus proposals committed (the raft commit index).', () => Number(source.committedIndex()));
    gaugeFunc(registry, 'etcd_server_proposals_applied_total', 'The total number of consensus proposals applied (the applied index).', () => Number(source.appliedIndex()));
    gaugeFunc(registry, 'etcd_server_proposals_pending', 'The current number of pending proposals to commit.', () => source.proposalsPending());
    this.proposalsFailed = new Counter({ name: 'etcd_server_proposals_failed_total', help: 'The total number of failed proposals seen.', registers });
    this.slowApplies = new Counter({ name: 'etcd_server_slow_apply_total', help: `The total number of slow apply requests (over ${SLOW_APPLY_SECONDS * 1000} ms; likely overloaded from slow disk).`, registers });
    this.heartbeatFailures = new Counter({
      name: 'etcd_server_heartbeat_send_failures_total',
      help: 'The total number of leader heartbeat send failures (sent later than two heartbeat intervals after the previous one; likely overloaded from slow disk).',
      registers,
    });
    gaugeFunc(registry, 'etcd_server_quota_backend_bytes', 'Current backend storage quota size in bytes.', () => source.quotaBackendBytes);
    const id = new Gauge({ name: 'etcd_server_id', help: "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.", labelNames: ['server_id'], registers });
    id.set({ server_id: source.memberId.toString(16) }, 1);
    const version = new Gauge({ name: 'etcd_server_version', help: "Which version is running. 1 for 'server_version' label with current version.", labelNames: ['server_version'], registers });
    version.set({ server_version: source.serverVersion }, 1);
    this.applyDuration = new CountingHistogram(
      'cairn_server_apply_duration_seconds',
      'Time to apply one committed entry to the state machine (in memory; its write is etcd_disk_backend_commit_duration_seconds).',
      [0.00001, 0.00003, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 1],
      registry,
    );

    // ---- disk ----
    this.walFsync = new CountingHistogram(
      'etcd_disk_wal_fsync_duration_seconds',
      'The latency distributions of fsync called by WAL (one synced RocksDB write of raft entries and state, fsync included, on the writer thread).',
      exponentialBuckets(0.001, 2, 14),
      registry,
    );
    this.backendCommit = new CountingHistogram(
      'etcd_disk_backend_commit_duration_seconds',
      'The latency distributions of commit called by backend (one write of the raft loop, from hand-over to done, fsync included when raft asks for one).',
      exponentialBuckets(0.001, 2, 14),
      registry,
    );
    this.batchEntries = new CountingHistogram(
      'cairn_disk_backend_commit_entries',
      'Raft log entries carried by one write of the raft loop (group commit size).',
      [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registry,
    );

    // ---- mvcc ----
    gaugeFunc(registry, 'etcd_mvcc_db_total_size_in_bytes', 'Total size of the underlying database physically allocated in bytes (RocksDB live files and memtables, less the raft log).', () => source.dbSizes().dbSizeBytes);
    gaugeFunc(registry, 'etcd_mvcc_db_total_size_in_use_in_bytes', 'Total size of the underlying database logically in use in bytes (what a defrag would leave).', () => source.dbSizes().dbSizeInUseBytes);
    gaugeFunc(registry, 'etcd_debugging_mvcc_keys_total', 'Total number of keys (in the index: deleted keys count until compaction drops them).', () => source.keys());
    gaugeFunc(registry, 'etcd_debugging_mvcc_current_revision', 'The current revision of store.', () => Number(source.revision()));
    gaugeFunc(registry, 'etcd_debugging_mvcc_compact_revision', 'The revision of the last compaction in store.', () => Number(source.compactRevision()));
    gaugeFunc(registry, 'etcd_debugging_mvcc_watcher_total', 'Total number of watchers.', () => source.watchers());
    gaugeFunc(registry, 'etcd_debugging_mvcc_slow_watcher_total', 'Total number of unsynced slow watchers.', () => source.slowWatchers());
    gaugeFunc(registry, 'etcd_debugging_mvcc_watch_stream_total', 'Total number of watch streams (each Cairn watch stream carries one watcher).', () => this.network.openStreams('watch'));
    counterFunc(registry, 'etcd_debugging_mvcc_events_total', 'Total number of events sent by this member.', () => source.eventsSent());
    this.hashRevDuration = new Histogram({
      name: 'etcd_mvcc_hash_rev_duration_seconds',
      help: 'The latency distribution of storage hash by revision operation (endpoint hashkv, the corruption checks).',
      buckets: exponentialBuckets(0.01, 2, 15),
      registers,
    });

    // ---- what etcd has no name for ----
    if (source.storageMemoryBytes !== undefined) {
      const memory = source.storageMemoryBytes.bind(source);
      new Gauge({
        name: 'cairn_rocksdb_memory_bytes',
        help: 'Memory RocksDB reports it holds, by kind: memtables, blockCache (pinned included), tableReaders, pinned.',
        labelNames: ['kind'],
        registers,
        collect() {
          for (const [kind, bytes] of Object.entries(memory())) this.set({ kind }, bytes);
        },
      });
    }
    if (source.clientConnections !== undefined) gaugeFunc(registry, 'cairn_server_client_connections', 'Client WebSockets open now.', source.clientConnections.bind(source));
    this.peerRefusals = new Counter({
      name: 'cairn_peer_refused_total',
      help: 'Peer connections and frames refused (no proof, not a member, safety violation ...), by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.clientRefusals = new Counter({
      name: 'cairn_server_client_connections_refused_total',
      help: 'Client connections refused or closed by a client-port bound, by reason (connection_limit, upgrade_timeout, handshake_timeout, unsent_bytes).',
      labelNames: ['reason'],
      registers,
    });
    this.clientPauses = new Counter({
      name: 'cairn_server_client_socket_pauses_total',
      help: 'Times a client socket stopped being read because its unsent replies passed --client-unsent-soft-bytes.',
      registers,
    });
    this.txnCompareRefusals = new Counter({
      name: 'cairn_server_txn_compare_keys_refused_total',
      help: 'Txns refused because their compares would visit more than --max-txn-compare-keys keys.',
      registers,
    });
  }

  // ---- MemberObserver ----

  applied(seconds: number): void {
    this.applyDuration.observe(seconds);
    if (seconds > SLOW_APPLY_SECONDS) this.slowApplies.inc();
  }

  committed(seconds: number, entries: number): void {
    this.backendCommit.observe(seconds);
    this.batchEntries.observe(entries);
  }

  hashed(seconds: number): void {
    this.hashRevDuration.observe(seconds);
  }

  peerRefused(reason: string): void {
    this.peerRefusals.inc({ reason });
  }

  leaderChanged(): void {
    this.leaderChanges.inc();
  }

  proposalFailed(): void {
    this.proposalsFailed.inc();
  }

  heartbeatLate(): void {
    this.heartbeatFailures.inc();
  }

  // ---- the storage writer ----

  /** One synced write took `seconds` on the writer thread. */
  synced(seconds: number): void {
    this.walFsync.observe(seconds);
  }

  // ---- the client port (ClientPortObserver) ----

  /** A client-port bound refused or closed a connection. */
  refused(reason: string): void {
    this.clientRefusals.inc({ reason });
  }

  paused(): void {
    this.clientPauses.inc();
  }

  traffic(receivedBytes: number, sentBytes: number): void {
    this.network.clientBytes(receivedBytes, sentBytes);
  }

  txnCompareKeysRefused(): void {
    this.txnCompareRefusals.inc();
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
