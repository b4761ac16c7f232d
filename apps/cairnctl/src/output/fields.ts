import type {
  DeleteRangeResponse,
  KeyValue,
  MemberListResponse,
  PutResponse,
  RangeResponse,
  ResponseHeader,
  TxnResponse,
} from '@cairn/client';
import { formatDuration } from '../duration.js';
import { goQuote } from './goquote.js';
import { hexId, innerResponses, type EndpointHashKv, type EndpointHealth, type EndpointStatus, type Printer, type PrinterOptions } from './printer.js';

/** etcdctl's `-w fields`: one `"Name" : value` line per field, strings Go-quoted. */
export class FieldsPrinter implements Printer {
  constructor(private readonly options: PrinterOptions) {}

  private hdr(h: ResponseHeader): string {
    const id = (v: bigint): string => (this.options.hex ? hexId(v) : v.toString());
    return `"ClusterID" : ${id(h.clusterId)}\n"MemberID" : ${id(h.memberId)}\n"Revision" : ${h.revision}\n"RaftTerm" : ${h.raftTerm}\n`;
  }

  private kv(prefix: string, kv: KeyValue): string {
    const lease = this.options.hex ? BigInt.asUintN(64, kv.lease).toString(16).padStart(16, '0') : kv.lease.toString();
    return (
      `"${prefix}Key" : ${goQuote(kv.key)}\n` +
      `"${prefix}CreateRevision" : ${kv.createRevision}\n` +
      `"${prefix}ModRevision" : ${kv.modRevision}\n` +
      `"${prefix}Version" : ${kv.version}\n` +
      `"${prefix}Value" : ${goQuote(kv.value)}\n` +
      `"${prefix}Lease" : ${lease}\n`
    );
  }

  get(res: RangeResponse): string {
    return `${this.hdr(res.header)}${res.kvs.map((kv) => this.kv('', kv)).join('')}"More" : ${res.more}\n"Count" : ${res.count}\n`;
  }

  put(res: PutResponse): string {
    return this.hdr(res.header) + (res.prevKv !== undefined ? this.kv('Prev', res.prevKv) : '');
  }

  del(res: DeleteRangeResponse): string {
    return `${this.hdr(res.header)}"Deleted" : ${res.deleted}\n${(res.prevKvs ?? []).map((kv) => this.kv('Prev', kv)).join('')}`;
  }

  txn(res: TxnResponse): string {
    let out = `${this.hdr(res.header)}"Succeeded" : ${res.succeeded}\n`;
    for (const op of innerResponses(res)) {
      if ('range' in op) out += this.get(op.range);
      else if ('put' in op) out += this.put(op.put);
      else if ('deleteRange' in op) out += this.del(op.deleteRange);
      else out += this.txn(op.txn);
    }
    return out;
  }

  memberList(res: MemberListResponse): string {
    let out = this.hdr(res.header);
    for (const m of res.members) {
      out += `"ID" : ${this.options.hex ? hexId(m.id) : m.id}\n"Name" : ${goQuote(m.name)}\n`;
      for (const u of m.peerUrls) out += `"PeerURL" : ${goQuote(u)}\n`;
      for (const u of m.clientUrls) out += `"ClientURL" : ${goQuote(u)}\n`;
      out += `"IsLearner" : ${m.isLearner}\n\n`;
    }
    return out;
  }

  endpointStatus(list: readonly EndpointStatus[]): string {
    let out = '';
    for (const { endpoint, status: s } of list) {
      out +=
        this.hdr(s.header) +
        `"Version" : ${goQuote(s.version)}\n` +
        `"DBSize" : ${s.dbSize}\n` +
        `"Leader" : ${s.leader}\n` +
        `"IsLearner" : ${s.isLearner}\n` +
        `"RaftIndex" : ${s.raftIndex}\n` +
        `"RaftTerm" : ${s.raftTerm}\n` +
        `"RaftAppliedIndex" : ${s.raftAppliedIndex}\n` +
        `"Errors" : [${s.errors.join(' ')}]\n` +
        `"Endpoint" : ${goQuote(endpoint)}\n\n`;
    }
    return out;
  }

  endpointHashKv(list: readonly EndpointHashKv[]): string {
    let out = '';
    for (const { endpoint, hashKv: h } of list) {
      out +=
        this.hdr(h.header) +
        `"Endpoint" : ${goQuote(endpoint)}\n` +
        `"Hash" : ${h.hash}\n` +
        `"HashRevision" : ${h.hashRevision}\n` +
        `"CompactRevision" : ${h.compactRevision}\n\n`;
    }
    return out;
  }

  endpointHealth(list: readonly EndpointHealth[]): { out: string; err: string } {
    let out = '';
    for (const h of list) {
      out += `"Endpoint" : ${goQuote(h.endpoint)}\n"Health" : ${h.health}\n"Took" : ${formatDuration(h.tookNs)}\n"Error" : ${h.error}\n\n`;
    }
    return { out, err: '' };
  }
}
