import {
  Alarm,
  Defragment,
  HashKv,
  MoveLeader,
  Snapshot,
  Status,
  type AlarmResponse,
  type HashKvResponse,
  type SnapshotResponse,
  type StatusResponse,
} from '@cairn/protocol';
import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { admit, callerOf, endWithError, unaryMethod, type GrpcHost } from './call.js';
import * as c from './convert.js';
import { openCairnStream } from './streamCall.js';
import { EtcdFramer } from '../backup/etcdFraming.js';

/** etcdserverpb.Maintenance over Cairn's maintenance.* handlers and its snapshot stream. */
export function maintenanceService(host: GrpcHost): UntypedServiceImplementation {
  const status = (r: StatusResponse): c.Msg => ({
    header: c.header(r.header),
    version: r.version,
    dbSize: r.dbSize.toString(),
    leader: r.leader.toString(),
    raftIndex: r.raftIndex.toString(),
    raftTerm: r.raftTerm.toString(),
    raftAppliedIndex: r.raftAppliedIndex.toString(),
    errors: r.errors,
    dbSizeInUse: r.dbSizeInUse.toString(),
    isLearner: r.isLearner,
  });
  return {
    Alarm: unaryMethod(
      host,
      Alarm.method,
      (r) => ({
        action: c.enumName(r['action'], 'get'),
        ...c.optInt('memberId', r['memberID']),
        alarm: c.enumName(r['alarm'], 'none'),
      }),
      (r: AlarmResponse) => ({
        header: c.header(r.header),
        alarms: r.alarms.map((a) => ({ memberID: a.memberId.toString(), alarm: a.alarm.toUpperCase() })),
      }),
    ),
    Status: unaryMethod(host, Status.method, () => ({}), status),
    Defragment: unaryMethod(host, Defragment.method, () => ({}), c.headerOnly),
    // etcd's Hash covers its whole backend file; Cairn's nearest is the MVCC hash at the newest revision.
    Hash: unaryMethod(host, HashKv.method, () => ({}), (r: HashKvResponse) => ({ header: c.header(r.header), hash: r.hash })),
    HashKV: unaryMethod(
      host,
      HashKv.method,
      (r) => c.optInt('revision', r['revision']),
      (r: HashKvResponse) => ({ header: c.header(r.header), hash: r.hash, compact_revision: r.compactRevision.toString() }),
    ),
    MoveLeader: unaryMethod(host, MoveLeader.method, (r) => ({ targetId: c.int(r['targetID']) }), c.headerOnly),
    Snapshot: (call: ServerWritableStream<c.Msg, c.Msg>) => {
      // Cairn's snapshot stream waits for acks; here each message is acked once grpc-js has
      // taken it (its write callback), so the window follows the HTTP/2 flow control.
      // The blobs add up to the Cairn file in etcd's framing (etcdFraming.ts), so etcdctl's
      // `snapshot save` finds the trailing SHA-256 it looks for; `cairnutl` reads either.
      let stream: ReturnType<typeof openCairnStream> | undefined;
      const framer = new EtcdFramer();
      try {
        admit(host, call.request);
        stream = openCairnStream(
          host,
          Snapshot.method,
          call,
          {},
          callerOf(call),
          (res) => {
            const r = res as SnapshotResponse;
            if (call.writableEnded || call.cancelled) return;
            const blob = framer.frame(r.blob, r.last === true);
            call.write({ header: c.header(r.header), remaining_bytes: r.last === true ? '0' : '1', blob }, () => {
              try {
                stream?.message({ ack: r.seq });
              } catch {
                // the stream ended meanwhile
              }
            });
          },
          (err) => (err === undefined ? call.end() : endWithError(call, err)),
        );
      } catch (err) {
        endWithError(call, err);
        return;
      }
      call.on('cancelled', () => stream?.close());
    },
  };
}
