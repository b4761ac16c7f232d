import type {
  DeleteRangeResponse,
  KeyValue,
  MemberListResponse,
  PutResponse,
  RangeResponse,
  TxnResponse,
} from '@cairn/client';
import { formatDuration } from '../duration.js';
import { renderTable, humanBytes } from './table.js';
import {
  bytesToString,
  hexEscape,
  hexId,
  innerResponses,
  type EndpointHashKv,
  type EndpointHealth,
  type EndpointStatus,
  type Printer,
  type PrinterOptions,
} from './printer.js';

export function memberRows(res: MemberListResponse): string[][] {
  return res.members.map((m) => [
    hexId(m.id),
    m.name === '' ? 'unstarted' : 'started',
    m.name,
    m.peerUrls.join(','),
    m.clientUrls.join(','),
    String(m.isLearner),
  ]);
}
export const memberHeader = ['ID', 'STATUS', 'NAME', 'PEER ADDRS', 'CLIENT ADDRS', 'IS LEARNER'];

export function statusRows(list: readonly EndpointStatus[]): string[][] {
  return list.map(({ endpoint, status: s }) => [
    endpoint,
    hexId(s.header.memberId),
    s.version,
    humanBytes(s.dbSize),
    String(s.leader === s.header.memberId),
    String(s.isLearner),
    s.raftTerm.toString(),
    s.raftIndex.toString(),
    s.raftAppliedIndex.toString(),
    s.errors.join(', '),
  ]);
}
export const statusHeader = [
  'ENDPOINT',
  'ID',
  'VERSION',
  'DB SIZE',
  'IS LEADER',
  'IS LEARNER',
  'RAFT TERM',
  'RAFT INDEX',
  'RAFT APPLIED INDEX',
  'ERRORS',
];

/** etcdctl's hashkv rows: the endpoint and the hash (its JSON and fields forms add the revisions). */
export function hashKvRows(list: readonly EndpointHashKv[]): string[][] {
  return list.map(({ endpoint, hashKv }) => [endpoint, String(hashKv.hash)]);
}
export const hashKvHeader = ['ENDPOINT', 'HASH'];

export function healthRows(list: readonly EndpointHealth[]): string[][] {
  return list.map((h) => [h.endpoint, String(h.health), formatDuration(h.tookNs), h.error]);
}
export const healthHeader = ['ENDPOINT', 'HEALTH', 'TOOK', 'ERROR'];

/** etcdctl's default format: bare keys and values, one per line. */
export class SimplePrinter implements Printer {
  constructor(private readonly options: PrinterOptions) {}

  protected kv(kv: KeyValue): string {
    const text = (b: Uint8Array): string => (this.options.hex ? hexEscape(b) : bytesToString(b));
    return this.options.valueOnly ? `${text(kv.value)}\n` : `${text(kv.key)}\n${text(kv.value)}\n`;
  }

  get(res: RangeResponse): string {
    // Count-only answers carry no kvs; print the count rather than nothing, even when it is 0.
    if (this.options.countOnly === true || (res.kvs.length === 0 && res.count > 0)) return `${res.count}\n`;
    return res.kvs.map((kv) => this.kv(kv)).join('');
  }

  put(res: PutResponse): string {
    return `OK\n${res.prevKv !== undefined ? this.kv(res.prevKv) : ''}`;
  }

  del(res: DeleteRangeResponse): string {
    return `${res.deleted}\n${(res.prevKvs ?? []).map((kv) => this.kv(kv)).join('')}`;
  }

  txn(res: TxnResponse): string {
    let out = res.succeeded ? 'SUCCESS\n' : 'FAILURE\n';
    for (const op of innerResponses(res)) {
      out += '\n';
      if ('range' in op) out += this.get(op.range);
      else if ('put' in op) out += this.put(op.put);
      else if ('deleteRange' in op) out += this.del(op.deleteRange);
      else out += this.txn(op.txn);
    }
    return out;
  }

  memberList(res: MemberListResponse): string {
    return memberRows(res)
      .map((r) => `${r.join(', ')}\n`)
      .join('');
  }

  endpointStatus(list: readonly EndpointStatus[]): string {
    return statusRows(list)
      .map((r) => `${r.join(', ')}\n`)
      .join('');
  }

  endpointHashKv(list: readonly EndpointHashKv[]): string {
    return hashKvRows(list)
      .map((r) => `${r.join(', ')}\n`)
      .join('');
  }

  endpointHealth(list: readonly EndpointHealth[]): { out: string; err: string } {
    let out = '';
    let err = '';
    for (const h of list) {
      if (h.health) out += `${h.endpoint} is healthy: successfully committed proposal: took = ${formatDuration(h.tookNs)}\n`;
      else err += `${h.endpoint} is unhealthy: failed to commit proposal: ${h.error}\n`;
    }
    return { out, err };
  }
}

/** `-w table`: etcdctl's tables for members and endpoints; a KEY/VALUE table for get. */
export class TablePrinter extends SimplePrinter {
  override get(res: RangeResponse): string {
    const text = (b: Uint8Array): string => (this.tableOptions.hex ? hexEscape(b) : bytesToString(b));
    return renderTable(
      ['KEY', 'VALUE'],
      res.kvs.map((kv) => [text(kv.key), text(kv.value)]),
    );
  }

  constructor(private readonly tableOptions: PrinterOptions) {
    super(tableOptions);
  }

  /** Like etcdctl, a txn has no table form: its simple form. */
  override txn(res: TxnResponse): string {
    return new SimplePrinter(this.tableOptions).txn(res);
  }

  override memberList(res: MemberListResponse): string {
    return renderTable(memberHeader, memberRows(res));
  }

  override endpointStatus(list: readonly EndpointStatus[]): string {
    return renderTable(statusHeader, statusRows(list));
  }

  override endpointHashKv(list: readonly EndpointHashKv[]): string {
    return renderTable(hashKvHeader, hashKvRows(list));
  }

  override endpointHealth(list: readonly EndpointHealth[]): { out: string; err: string } {
    return { out: renderTable(healthHeader, healthRows(list)), err: '' };
  }
}
