import { Compact, DeleteRange, Put, Range, Txn } from '@cairn/protocol';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { unaryMethod, type GrpcHost } from './call.js';
import * as c from './convert.js';

/** etcdserverpb.KV over Cairn's kv.* handlers. */
export function kvService(host: GrpcHost): UntypedServiceImplementation {
  return {
    Range: unaryMethod(host, Range.method, c.rangeRequest, c.rangeResponse),
    Put: unaryMethod(host, Put.method, c.putRequest, c.putResponse),
    DeleteRange: unaryMethod(host, DeleteRange.method, c.deleteRangeRequest, c.deleteRangeResponse),
    Txn: unaryMethod(host, Txn.method, c.txnRequest, c.txnResponse),
    Compact: unaryMethod(
      host,
      Compact.method,
      (r) => ({ revision: c.int(r['revision']), ...c.optTrue('physical', r['physical']) }),
      (r: { header: Parameters<typeof c.header>[0] }) => ({ header: c.header(r.header) }),
    ),
  };
}
