import { LeaseGrant, LeaseKeepAlive, LeaseLeases, LeaseRevoke, LeaseTimeToLive, toCairnError, type LeaseKeepAliveResponse, type LeaseLeasesResponse, type LeaseGrantResponse, type LeaseTimeToLiveResponse } from '@cairn/protocol';
import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { admit, callerOf, endWithError, unaryMethod, type GrpcHost } from './call.js';
import * as c from './convert.js';
import { openCairnStream, write } from './streamCall.js';

/** etcdserverpb.Lease over Cairn's lease.* handlers and its keep-alive stream. */
export function leaseService(host: GrpcHost): UntypedServiceImplementation {
  return {
    LeaseGrant: unaryMethod(
      host,
      LeaseGrant.method,
      (r) => ({ ttlSeconds: Number(c.int(r['TTL'])), ...c.optInt('id', r['ID']) }),
      (r: LeaseGrantResponse) => ({ header: c.header(r.header), ID: r.id.toString(), TTL: String(r.ttlSeconds), error: '' }),
    ),
    LeaseRevoke: unaryMethod(host, LeaseRevoke.method, (r) => ({ id: c.int(r['ID']) }), c.headerOnly),
    LeaseTimeToLive: unaryMethod(
      host,
      LeaseTimeToLive.method,
      (r) => ({ id: c.int(r['ID']), ...c.optTrue('keys', r['keys']) }),
      (r: LeaseTimeToLiveResponse) => ({
        header: c.header(r.header),
        ID: r.id.toString(),
        TTL: String(r.ttlSeconds),
        grantedTTL: String(r.grantedTtlSeconds),
        keys: r.keys,
      }),
    ),
    LeaseLeases: unaryMethod(host, LeaseLeases.method, () => ({}), (r: LeaseLeasesResponse) => ({
      header: c.header(r.header),
      leases: r.leases.map((l) => ({ ID: l.id.toString() })),
    })),
    LeaseKeepAlive: (call: ServerDuplexStream<c.Msg, c.Msg>) => {
      // One Cairn keep-alive stream serves the whole gRPC stream: each message renews one lease.
      let stream: ReturnType<typeof openCairnStream> | undefined;
      try {
        stream = openCairnStream(
          host,
          LeaseKeepAlive.method,
          call,
          {},
          callerOf(call),
          (res) => {
            const r = res as LeaseKeepAliveResponse;
            // etcd answers a lease that no longer exists with TTL 0 (Cairn's renew says <= 0).
            write(call, { header: c.header(r.header), ID: r.id.toString(), TTL: String(r.ttlSeconds > 0 ? r.ttlSeconds : 0) });
          },
          (err) => (err === undefined ? call.end() : endWithError(call, err)),
        );
      } catch (err) {
        endWithError(call, err);
        return;
      }
      call.on('data', (m: c.Msg) => {
        try {
          admit(host, m);
          stream?.message({ id: c.int(m['ID']) });
        } catch (err) {
          stream?.close();
          endWithError(call, toCairnError(err));
        }
      });
      call.on('end', () => {
        stream?.close();
        call.end();
      });
      call.on('cancelled', () => stream?.close());
      call.on('error', () => stream?.close());
    },
  };
}
