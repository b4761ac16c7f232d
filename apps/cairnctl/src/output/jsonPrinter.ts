import type {
  DeleteRangeResponse,
  KeyValue,
  Member,
  MemberListResponse,
  PutResponse,
  RangeResponse,
  ResponseHeader,
  ResponseOp,
  TxnResponse,
} from '@cairn/client';
import { formatDuration } from '../duration.js';
import { base64, omitEmpty as o, writeJson, type Json } from './json.js';
import { innerResponses, type EndpointHashKv, type EndpointHealth, type EndpointStatus, type Printer } from './printer.js';

/*
 * etcdctl's `-w json` is Go's json.Marshal of the protobuf structs: snake_case names for KV
 * messages, camelCase for maintenance ones, every field omitempty, bytes in base64, 64-bit
 * integers as exact numbers. The builders below produce those shapes field by field, in
 * etcd's field order.
 */

export function headerJson(h: ResponseHeader): Json {
  return { cluster_id: o(h.clusterId), member_id: o(h.memberId), revision: o(h.revision), raft_term: o(h.raftTerm) };
}

export function kvJson(kv: KeyValue): Json {
  return {
    key: o(base64(kv.key)),
    create_revision: o(kv.createRevision),
    mod_revision: o(kv.modRevision),
    version: o(kv.version),
    value: o(base64(kv.value)),
    lease: o(kv.lease),
  };
}

export function rangeJson(r: RangeResponse): Json {
  return { header: headerJson(r.header), kvs: o(r.kvs.map(kvJson)), more: o(r.more), count: o(r.count) };
}

export function putJson(r: PutResponse): Json {
  return { header: headerJson(r.header), prev_kv: r.prevKv === undefined ? undefined : kvJson(r.prevKv) };
}

export function deleteJson(r: DeleteRangeResponse): Json {
  return { header: headerJson(r.header), deleted: o(r.deleted), prev_kvs: o((r.prevKvs ?? []).map(kvJson)) };
}

function responseOpJson(op: ResponseOp): Json {
  if ('range' in op) return { Response: { ResponseRange: rangeJson(op.range) } };
  if ('put' in op) return { Response: { ResponsePut: putJson(op.put) } };
  if ('deleteRange' in op) return { Response: { ResponseDeleteRange: deleteJson(op.deleteRange) } };
  return { Response: { ResponseTxn: txnJson(op.txn) } };
}

export function txnJson(r: TxnResponse): Json {
  return {
    header: headerJson(r.header),
    succeeded: o(r.succeeded),
    responses: o(innerResponses(r).map(responseOpJson)),
  };
}

/** One member as etcd's pb.Member marshals: `ID`, then camelCase, zero values left out. */
export function memberJson(m: Member): Json {
  return { ID: o(m.id), name: o(m.name), peerURLs: o(m.peerUrls), clientURLs: o(m.clientUrls), isLearner: o(m.isLearner) };
}

/** A member list, or the answer to a remove, update or promote: the header and the members. */
export function memberListJson(r: { readonly header: ResponseHeader; readonly members: readonly Member[] }): Json {
  return { header: headerJson(r.header), members: o(r.members.map(memberJson)) };
}

export function endpointStatusJson(list: readonly EndpointStatus[]): Json {
  return list.map(({ endpoint, status: s }) => ({
    Endpoint: endpoint,
    Status: {
      header: headerJson(s.header),
      version: o(s.version),
      dbSize: o(s.dbSize),
      leader: o(s.leader),
      raftIndex: o(s.raftIndex),
      raftTerm: o(s.raftTerm),
      raftAppliedIndex: o(s.raftAppliedIndex),
      errors: o(s.errors),
      dbSizeInUse: o(s.dbSizeInUse),
      isLearner: o(s.isLearner),
    },
  }));
}

/** etcdctl's `[{"Endpoint": ..., "HashKV": HashKVResponse}]`, the response in its snake_case JSON. */
export function endpointHashKvJson(list: readonly EndpointHashKv[]): Json {
  return list.map(({ endpoint, hashKv: h }) => ({
    Endpoint: endpoint,
    HashKV: { header: headerJson(h.header), hash: o(h.hash), compact_revision: o(h.compactRevision), hash_revision: o(h.hashRevision) },
  }));
}

export function endpointHealthJson(list: readonly EndpointHealth[]): Json {
  return list.map((h) => ({ endpoint: h.endpoint, health: h.health, took: formatDuration(h.tookNs), error: o(h.error) }));
}

const line = (v: Json): string => `${writeJson(v)}\n`;

export class JsonPrinter implements Printer {
  get(res: RangeResponse): string {
    return line(rangeJson(res));
  }
  put(res: PutResponse): string {
    return line(putJson(res));
  }
  del(res: DeleteRangeResponse): string {
    return line(deleteJson(res));
  }
  txn(res: TxnResponse): string {
    return line(txnJson(res));
  }
  memberList(res: MemberListResponse): string {
    return line(memberListJson(res));
  }
  endpointStatus(list: readonly EndpointStatus[]): string {
    return line(endpointStatusJson(list));
  }
  endpointHashKv(list: readonly EndpointHashKv[]): string {
    return line(endpointHashKvJson(list));
  }
  endpointHealth(list: readonly EndpointHealth[]): { out: string; err: string } {
    return { out: line(endpointHealthJson(list)), err: '' };
  }
}
