import type {
  Compare,
  CompareResult,
  CompareTarget,
  KeyValue,
  Member,
  ResponseHeader,
  ResponseOp,
  WatchEvent,
  WatchResponse,
} from '@cairn/protocol';

/**
 * Between etcd's messages (as proto-loader gives and takes them: snake_case fields, 64-bit
 * integers as decimal strings, enums by name, every field present) and Cairn's request and
 * response shapes (camelCase, bigint, Uint8Array, optional fields absent). Validation stays
 * with Cairn's decoders; this only renames and retypes.
 */

/** One decoded etcd message. */
export type Msg = Readonly<Record<string, unknown>>;

/** An int64/uint64 field (a decimal string, or a number when a client sent a JSON number). */
export function int(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) return BigInt(v);
  return 0n;
}

export function bytes(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(0);
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function msg(v: unknown): Msg {
  return typeof v === 'object' && v !== null ? (v as Msg) : {};
}

export function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** An enum by name, lowercased (`NOT_EQUAL` -> `not_equal`). */
export function enumName(v: unknown, fallback: string): string {
  return typeof v === 'string' ? v.toLowerCase() : fallback;
}

/** Absent when zero, as Cairn's optional fields. */
export function optInt<K extends string>(name: K, v: unknown): { [P in K]?: bigint } {
  const n = int(v);
  return (n === 0n ? {} : { [name]: n }) as { [P in K]?: bigint };
}

export function optBytes<K extends string>(name: K, v: unknown): { [P in K]?: Uint8Array } {
  const b = bytes(v);
  return (b.length === 0 ? {} : { [name]: b }) as { [P in K]?: Uint8Array };
}

export function optTrue<K extends string>(name: K, v: unknown): { [P in K]?: true } {
  return (v === true ? { [name]: true } : {}) as { [P in K]?: true };
}

export const header = (h: ResponseHeader): Msg => ({
  cluster_id: h.clusterId.toString(),
  member_id: h.memberId.toString(),
  revision: h.revision.toString(),
  raft_term: h.raftTerm.toString(),
});

export const kv = (k: KeyValue): Msg => ({
  key: k.key,
  create_revision: k.createRevision.toString(),
  mod_revision: k.modRevision.toString(),
  version: k.version.toString(),
  value: k.value,
  lease: k.lease.toString(),
});

export const member = (m: Member): Msg => ({
  ID: m.id.toString(),
  name: m.name,
  peerURLs: m.peerUrls,
  clientURLs: m.clientUrls,
  isLearner: m.isLearner,
});

// ---- KV ---------------------------------------------------------------------------------

export function rangeRequest(r: Msg): Record<string, unknown> {
  const limit = int(r['limit']);
  return {
    key: bytes(r['key']),
    ...optBytes('rangeEnd', r['range_end']),
    ...(limit > 0n ? { limit: limit > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(limit) } : limit < 0n ? { limit: -1 } : {}),
    ...optInt('revision', r['revision']),
    sortOrder: enumName(r['sort_order'], 'none'),
    sortTarget: enumName(r['sort_target'], 'key'),
    ...optTrue('serializable', r['serializable']),
    ...optTrue('keysOnly', r['keys_only']),
    ...optTrue('countOnly', r['count_only']),
    ...optInt('minModRevision', r['min_mod_revision']),
    ...optInt('maxModRevision', r['max_mod_revision']),
    ...optInt('minCreateRevision', r['min_create_revision']),
    ...optInt('maxCreateRevision', r['max_create_revision']),
  };
}

export const rangeResponse = (r: { header: ResponseHeader; kvs: KeyValue[]; more: boolean; count: number }): Msg => ({
  header: header(r.header),
  kvs: r.kvs.map(kv),
  more: r.more,
  count: String(r.count),
});

export const putRequest = (r: Msg): Record<string, unknown> => ({
  key: bytes(r['key']),
  value: bytes(r['value']),
  ...optInt('lease', r['lease']),
  ...optTrue('prevKv', r['prev_kv']),
  ...optTrue('ignoreValue', r['ignore_value']),
  ...optTrue('ignoreLease', r['ignore_lease']),
});

export const putResponse = (r: { header: ResponseHeader; prevKv?: KeyValue }): Msg => ({
  header: header(r.header),
  ...(r.prevKv !== undefined ? { prev_kv: kv(r.prevKv) } : {}),
});

export const deleteRangeRequest = (r: Msg): Record<string, unknown> => ({
  key: bytes(r['key']),
  ...optBytes('rangeEnd', r['range_end']),
  ...optTrue('prevKv', r['prev_kv']),
});

export const deleteRangeResponse = (r: { header: ResponseHeader; deleted: number; prevKvs?: KeyValue[] }): Msg => ({
  header: header(r.header),
  deleted: String(r.deleted),
  prev_kvs: (r.prevKvs ?? []).map(kv),
});

const compareTargets: Readonly<Record<string, CompareTarget>> = { VERSION: 'version', CREATE: 'create', MOD: 'mod', VALUE: 'value', LEASE: 'lease' };
const compareValueField: Readonly<Record<CompareTarget, string>> = {
  version: 'version',
  create: 'create_revision',
  mod: 'mod_revision',
  value: 'value',
  lease: 'lease',
};

function compare(c: Msg): Compare {
  const target = compareTargets[str(c['target'])] ?? 'version';
  const head = {
    key: bytes(c['key']),
    ...optBytes('rangeEnd', c['range_end']),
    result: enumName(c['result'], 'equal') as CompareResult,
  };
  const raw = c[compareValueField[target]];
  return target === 'value' ? { ...head, target, value: bytes(raw) } : { ...head, target, value: int(raw) };
}

/** Nesting is bounded by Cairn's txn decoder (maxTxnOps counts nested ops); this only maps. */
function requestOp(o: Msg): Record<string, unknown> {
  switch (o['request']) {
    case 'request_range':
      return { range: rangeRequest(msg(o['request_range'])) };
    case 'request_put':
      return { put: putRequest(msg(o['request_put'])) };
    case 'request_delete_range':
      return { deleteRange: deleteRangeRequest(msg(o['request_delete_range'])) };
    case 'request_txn':
      return { txn: txnRequest(msg(o['request_txn'])) };
    default:
      // An op with nothing set: Cairn's decoder refuses it as invalid.
      return {};
  }
}

/** Txn params for Cairn's txn decoder (which checks the ops and bounds their count). */
export function txnRequest(r: Msg): Record<string, unknown> {
  return {
    compare: list(r['compare']).map((c) => compare(msg(c))),
    success: list(r['success']).map((o) => requestOp(msg(o))),
    failure: list(r['failure']).map((o) => requestOp(msg(o))),
  };
}

/** etcd sets only the revision in the headers of a txn's inner responses. */
const inner = (m: Msg): Msg => ({ ...m, header: { revision: msg(m['header'])['revision'] } });

function responseOp(o: ResponseOp): Msg {
  if ('range' in o) return { response_range: inner(rangeResponse(o.range)) };
  if ('put' in o) return { response_put: inner(putResponse(o.put)) };
  if ('deleteRange' in o) return { response_delete_range: inner(deleteRangeResponse(o.deleteRange)) };
  return { response_txn: inner(txnResponse(o.txn)) };
}

export const txnResponse = (r: { header: ResponseHeader; succeeded: boolean; responses: ResponseOp[] }): Msg => ({
  header: header(r.header),
  succeeded: r.succeeded,
  responses: r.responses.map(responseOp),
});

// ---- Watch ------------------------------------------------------------------------------

export const watchCreateRequest = (r: Msg): Record<string, unknown> => {
  const filters = list(r['filters']).map((f) => enumName(f, ''));
  return {
    key: bytes(r['key']),
    ...optBytes('rangeEnd', r['range_end']),
    ...optInt('startRevision', r['start_revision']),
    ...optTrue('prevKv', r['prev_kv']),
    ...(filters.length > 0 ? { filters } : {}),
    ...optTrue('progressNotify', r['progress_notify']),
    ...optTrue('fragment', r['fragment']),
  };
};

const event = (e: WatchEvent): Msg => ({
  type: e.type === 'put' ? 'PUT' : 'DELETE',
  kv: kv(e.kv),
  ...(e.prevKv !== undefined ? { prev_kv: kv(e.prevKv) } : {}),
});

export const watchResponse = (watchId: bigint, r: WatchResponse & { fragment?: boolean }): Msg => ({
  header: header(r.header),
  watch_id: watchId.toString(),
  created: r.created === true,
  canceled: r.canceled === true,
  compact_revision: (r.compactRevision ?? 0n).toString(),
  cancel_reason: r.cancelReason ?? '',
  fragment: r.fragment === true,
  events: r.events.map(event),
});

/** A response of just a header. */
export const headerOnly = (r: { header: ResponseHeader }): Msg => ({ header: header(r.header) });
