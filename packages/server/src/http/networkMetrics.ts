import { Counter, exponentialBuckets, Gauge, Histogram, type Registry } from 'prom-client';
import { grpcCode, grpcName } from './grpcNames.js';

/** Seconds, for gRPC handling times: Prometheus's default buckets, as go-grpc-prometheus uses. */
const GRPC_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Peer ids label etcd's network families in hexadecimal. */
const hex = (id: bigint): string => id.toString(16);

/**
 * The network families: peer traffic (etcd's rafthttp names, labelled `To` / `From` with the
 * peer's id in hex), client traffic, and the per-method request families of etcd's gRPC server
 * (go-grpc-prometheus names: `grpc_server_started_total`, `grpc_server_handled_total`,
 * `grpc_server_handling_seconds`), with Cairn's methods under etcd's service and method names.
 */
export class NetworkMetrics {
  private readonly peerSent: Counter<'To'>;
  private readonly peerReceived: Counter<'From'>;
  private readonly peerFailures: Counter<'To'>;
  private readonly peerRtt: Histogram<'To'>;
  private readonly activePeers: Gauge<'Local' | 'Remote'>;
  private readonly disconnectedPeers: Counter<'Local' | 'Remote'>;
  private readonly clientSent: Counter;
  private readonly clientReceived: Counter;
  private readonly started: Counter<'grpc_type' | 'grpc_service' | 'grpc_method'>;
  private readonly handled: Counter<'grpc_type' | 'grpc_service' | 'grpc_method' | 'grpc_code'>;
  private readonly handling: Histogram<'grpc_type' | 'grpc_service' | 'grpc_method'>;
  private readonly open = new Map<string, number>();
  /** Labels by Cairn method, computed once each (the methods are a fixed set, plus `unknown`). */
  private readonly labelsByMethod = new Map<string, { grpc_type: string; grpc_service: string; grpc_method: string }>();
  /** This member's id in hex (the `Local` label of the peer connection families). */
  local = '';

  constructor(registry: Registry) {
    const registers = [registry];
    this.peerSent = new Counter({ name: 'etcd_network_peer_sent_bytes_total', help: 'The total number of bytes sent to peers.', labelNames: ['To'], registers });
    this.peerReceived = new Counter({ name: 'etcd_network_peer_received_bytes_total', help: 'The total number of bytes received from peers.', labelNames: ['From'], registers });
    this.peerFailures = new Counter({
      name: 'etcd_network_peer_sent_failures_total',
      help: 'The total number of send failures from peers (raft messages dropped: peer unreachable or its socket backed up).',
      labelNames: ['To'],
      registers,
    });
    this.peerRtt = new Histogram({
      name: 'etcd_network_peer_round_trip_time_seconds',
      help: 'Round-Trip-Time histogram between peers (a WebSocket ping on the raft connection).',
      labelNames: ['To'],
      buckets: exponentialBuckets(0.0001, 2, 16),
      registers,
    });
    this.activePeers = new Gauge({ name: 'etcd_network_active_peers', help: 'The current number of active peer connections.', labelNames: ['Local', 'Remote'], registers });
    this.disconnectedPeers = new Counter({ name: 'etcd_network_disconnected_peers_total', help: 'The total number of disconnected peers.', labelNames: ['Local', 'Remote'], registers });
    this.clientSent = new Counter({ name: 'etcd_network_client_grpc_sent_bytes_total', help: 'The total number of bytes sent to clients (WebSocket frames on the client port).', registers });
    this.clientReceived = new Counter({ name: 'etcd_network_client_grpc_received_bytes_total', help: 'The total number of bytes received from clients (WebSocket frames on the client port).', registers });
    this.started = new Counter({
      name: 'grpc_server_started_total',
      help: 'Total number of RPCs started on the server.',
      labelNames: ['grpc_type', 'grpc_service', 'grpc_method'],
      registers,
    });
    this.handled = new Counter({
      name: 'grpc_server_handled_total',
      help: 'Total number of RPCs completed on the server, regardless of success or failure.',
      labelNames: ['grpc_type', 'grpc_service', 'grpc_method', 'grpc_code'],
      registers,
    });
    this.handling = new Histogram({
      name: 'grpc_server_handling_seconds',
      help: 'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.',
      labelNames: ['grpc_type', 'grpc_service', 'grpc_method'],
      buckets: GRPC_BUCKETS,
      registers,
    });
  }

  // ---- peers ----

  peerBytesSent(to: bigint, bytes: number): void {
    this.peerSent.inc({ To: hex(to) }, bytes);
  }

  peerBytesReceived(from: bigint, bytes: number): void {
    this.peerReceived.inc({ From: hex(from) }, bytes);
  }

  peerSendFailed(to: bigint, messages: number): void {
    this.peerFailures.inc({ To: hex(to) }, messages);
  }

  peerRoundTrip(to: bigint, seconds: number): void {
    this.peerRtt.observe({ To: hex(to) }, seconds);
  }

  /** The raft connection to `peer` came up (true) or went down (false). */
  peerConnection(peer: bigint, up: boolean): void {
    const labels = { Local: this.local, Remote: hex(peer) };
    if (up) this.activePeers.inc(labels);
    else {
      this.activePeers.dec(labels);
      this.disconnectedPeers.inc(labels);
    }
  }

  // ---- clients ----

  clientBytes(received: number, sent: number): void {
    if (received > 0) this.clientReceived.inc(received);
    if (sent > 0) this.clientSent.inc(sent);
  }

  /** A unary request or a stream began (unary requests are counted when they finish). */
  streamStarted(method: string): void {
    this.started.inc(this.labels(method));
    this.open.set(method, (this.open.get(method) ?? 0) + 1);
  }

  /** A stream ended with `code` (`ok` or a Cairn error code) after `seconds`. */
  streamHandled(method: string, code: string, seconds: number): void {
    this.open.set(method, Math.max(0, (this.open.get(method) ?? 0) - 1));
    this.finish(method, code, seconds);
  }

  /** A unary request was answered with `code` after `seconds`. */
  request(method: string, code: string, seconds: number): void {
    this.started.inc(this.labels(method));
    this.finish(method, code, seconds);
  }

  /** Streams of `method` open now. */
  openStreams(method: string): number {
    return this.open.get(method) ?? 0;
  }

  private labels(method: string): { grpc_type: string; grpc_service: string; grpc_method: string } {
    let l = this.labelsByMethod.get(method);
    if (l === undefined) {
      const n = grpcName(method);
      l = { grpc_type: n.type, grpc_service: n.service, grpc_method: n.method };
      // Unknown methods all share one entry's labels, but not its key: bound the map.
      if (this.labelsByMethod.size < 256) this.labelsByMethod.set(method, l);
    }
    return l;
  }

  private finish(method: string, code: string, seconds: number): void {
    const labels = this.labels(method);
    this.handled.inc({ ...labels, grpc_code: grpcCode(code) });
    this.handling.observe(labels, seconds);
  }
}
