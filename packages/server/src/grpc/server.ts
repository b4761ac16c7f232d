import type { Duplex } from 'node:stream';
import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import type { Logger } from 'pino';
import type { SessionHost } from '../api/session.js';
import type { GrpcHost } from './call.js';
import { loadEtcdProtos } from './protos.js';
import { hotCodecs } from './codecs.js';
import { kvService } from './kv.js';
import { watchService } from './watch.js';
import { leaseService } from './lease.js';
import { clusterService } from './cluster.js';
import { maintenanceService } from './maintenance.js';
import { authService } from './auth.js';
import { lockService } from './lock.js';
import { electionService } from './election.js';

/** What etcd adds to --max-request-bytes for gRPC's receive limit (its grpcOverheadBytes). */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

/** etcd's gRPC services, fed connections by the client port (see mux.ts); it listens on nothing itself. */
export interface GrpcServer {
  /** Serves HTTP/2 on a socket that has been recognised as gRPC (plain, or TLS after ALPN h2). */
  inject(socket: Duplex): void;
  /** The service implementations by full service name (the JSON gateway calls them too). */
  readonly services: Readonly<Record<string, UntypedServiceImplementation>>;
  close(): Promise<void>;
}

/**
 * The service definitions with each request's deserializer wrapped: the decoded message's
 * byte size is remembered (for --max-request-bytes), and a message protobuf cannot decode
 * fails that one call as INTERNAL in grpc-js, never the member. The hot methods' messages go
 * through the hand-written codecs (codecs.ts) instead of protobuf.js's.
 */
function sizedServices(def: PackageDefinition, sizes: WeakMap<object, number>): Map<string, ServiceDefinition> {
  const out = new Map<string, ServiceDefinition>();
  for (const [name, entry] of Object.entries(def)) {
    if ('format' in entry) continue; // a message or enum type, not a service
    const service: Record<string, unknown> = {};
    for (const [method, m] of Object.entries(entry)) {
      const hot = hotCodecs.get(m.path);
      const decode = hot?.decode ?? m.requestDeserialize;
      service[method] = {
        ...m,
        ...(hot?.encode !== undefined ? { responseSerialize: hot.encode } : {}),
        requestDeserialize: (buf: Buffer): unknown => {
          const msg = decode(buf) as object;
          sizes.set(msg, buf.length);
          return msg;
        },
      };
    }
    out.set(name, service as ServiceDefinition);
  }
  return out;
}

export function createGrpcServer(session: SessionHost, log: Logger): GrpcServer {
  const sizes = new WeakMap<object, number>();
  const host: GrpcHost = { session, sizeOf: (m) => sizes.get(m) ?? 0 };
  const server = new Server({
    'grpc.max_receive_message_length': session.limits.maxRequestBytes + GRPC_OVERHEAD_BYTES,
    'grpc.max_send_message_length': -1,
    // Channelz bookkeeping costs every call; Cairn's metrics already count them.
    'grpc.enable_channelz': 0,
  });
  const services = sizedServices(loadEtcdProtos(), sizes);
  const impls: Record<string, UntypedServiceImplementation> = {
    'etcdserverpb.KV': kvService(host),
    'etcdserverpb.Watch': watchService(host),
    'etcdserverpb.Lease': leaseService(host),
    'etcdserverpb.Cluster': clusterService(host),
    'etcdserverpb.Maintenance': maintenanceService(host),
    'etcdserverpb.Auth': authService(host),
    'v3lockpb.Lock': lockService(host),
    'v3electionpb.Election': electionService(host),
  };
  for (const [name, impl] of Object.entries(impls)) {
    const def = services.get(name);
    if (def === undefined) throw new Error(`etcd's .proto files have no service ${name}`);
    server.addService(def, impl);
  }
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  log.debug({ services: Object.keys(impls) }, 'serving etcd gRPC services on the client port');
  return {
    inject: (socket) => injector.injectConnection(socket),
    services: impls,
    close: () =>
      new Promise<void>((resolve) => {
        injector.destroy();
        server.tryShutdown(() => resolve());
        // Streams (watches) do not end by themselves: cut them after a grace period.
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000).unref();
      }),
  };
}
