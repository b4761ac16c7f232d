import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MemberObserver } from '../member.js';

/** What the gauges read at scrape time. */
export interface MetricsSource {
  dbSizeBytes(): number;
  revision(): bigint;
  appliedIndex(): bigint;
  /** RocksDB's own memory accounting, by kind (memtables, block cache, ...). */
  storageMemoryBytes?(): Readonly<Record<string, number>>;
  /** Client WebSockets open now (absent: not reported). */
  clientConnections?(): number;
}

/**
 * Prometheus metrics of one member, in a registry of its own (several members may share a
 * process in tests). Names follow etcd's where etcd has the same measurement.
 */
export class Metrics implements MemberObserver {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'code'>;
  private readonly applyDuration: Histogram;
  private readonly commitDuration: Histogram;
  private readonly batchEntries: Histogram;
  private readonly clientRefusals: Counter<'reason'>;
  private readonly clientPauses: Counter;
  private readonly txnCompareRefusals: Counter;
  private readonly hashDuration: Histogram;
  private readonly peerRefusals: Counter<'reason'>;

  constructor(source: MetricsSource) {
    const registers = [this.registry];
    // Process and Node.js figures (RSS, heap, external memory, event-loop lag): what a memory
    // or latency problem is diagnosed with.
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'cairn_server_requests_total',
      help: 'Client requests answered, by method and result code (ok or the error code).',
      labelNames: ['method', 'code'],
      registers,
    });
    this.applyDuration = new Histogram({
      name: 'cairn_server_apply_duration_seconds',
      help: 'Time to apply one entry to the state machine.',
      buckets: [0.00001, 0.00003, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 1],
      registers,
    });
    this.commitDuration = new Histogram({
      name: 'cairn_disk_backend_commit_duration_seconds',
      help: 'Time to write one state-machine batch, fsync included.',
      buckets: [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3],
      registers,
    });
    this.batchEntries = new Histogram({
      name: 'cairn_disk_backend_commit_entries',
      help: 'Entries carried by one batch write (group commit size).',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    });
    this.hashDuration = new Histogram({
      name: 'cairn_mvcc_hash_rev_duration_seconds',
      help: 'Time to compute one hashKv (endpoint hashkv, the corruption checks).',
      buckets: [0.001, 0.01, 0.05, 0.1, 0.3, 1, 3, 10, 30],
      registers,
    });
    this.peerRefusals = new Counter({
      name: 'cairn_peer_refused_total',
      help: 'Peer connections and frames refused (no proof, not a member, safety violation ...), by reason.',
      labelNames: ['reason'],
      registers,
    });
    new Gauge({
      name: 'cairn_mvcc_db_total_size_in_bytes',
      help: 'Size of the database in bytes (RocksDB live SST files plus memtables).',
      registers,
      collect() {
        this.set(source.dbSizeBytes());
      },
    });
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
    if (source.clientConnections !== undefined) {
      const connections = source.clientConnections.bind(source);
      new Gauge({
        name: 'cairn_server_client_connections',
        help: 'Client WebSockets open now.',
        registers,
        collect() {
          this.set(connections());
        },
      });
    }
    new Gauge({
      name: 'cairn_mvcc_current_revision',
      help: 'The store revision.',
      registers,
      collect() {
        this.set(Number(source.revision()));
      },
    });
    new Gauge({
      name: 'cairn_server_applied_index',
      help: 'Index of the last applied entry.',
      registers,
      collect() {
        this.set(Number(source.appliedIndex()));
      },
    });
  }

  request(method: string, code: string): void {
    this.requests.inc({ method, code });
  }

  hashed(seconds: number): void {
    this.hashDuration.observe(seconds);
  }

  peerRefused(reason: string): void {
    this.peerRefusals.inc({ reason });
  }

  applied(seconds: number): void {
    this.applyDuration.observe(seconds);
  }

  committed(seconds: number, entries: number): void {
    this.commitDuration.observe(seconds);
    this.batchEntries.observe(entries);
  }

  /** A client-port bound refused or closed a connection. */
  refused(reason: string): void {
    this.clientRefusals.inc({ reason });
  }

  paused(): void {
    this.clientPauses.inc();
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
