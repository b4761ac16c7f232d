import type { Msg } from './convert.js';
import { ProtoReader, ProtoWriter } from './wire.js';

/**
 * Hand-written codecs for the messages every KV call and watch event passes through, in place
 * of protobuf.js's generic ones (which turn each 64-bit decimal string into a Long and build
 * the message twice). They take and give the very objects proto-loader does (snake_case, longs
 * as decimal strings, bytes as Buffers, enums by name, every field present), so the services
 * and the JSON gateway see no difference; codecs.test.ts checks them against protobuf.js.
 * Field numbers are etcd's (proto/etcdserverpb/rpc.proto, proto/mvccpb/kv.proto).
 */

export interface Codec {
  readonly decode?: (buf: Buffer) => Msg;
  readonly encode?: (m: Msg) => Buffer;
}

const obj = (v: unknown): Msg | undefined =>
  typeof v === 'object' && v !== null ? (v as Msg) : undefined;
const arr = (v: unknown): readonly unknown[] => (Array.isArray(v) ? v : []);

// ---- encoding ---------------------------------------------------------------------------

function header(w: ProtoWriter, field: number, h: unknown): void {
  const m = obj(h);
  if (m === undefined) return;
  w.message(field, () => {
    w.int64(1, m['cluster_id']);
    w.int64(2, m['member_id']);
    w.int64(3, m['revision']);
    w.int64(4, m['raft_term']);
  });
}

function keyValue(w: ProtoWriter, field: number, v: unknown): void {
  const m = obj(v);
  if (m === undefined) return;
  w.message(field, () => {
    w.bytes(1, m['key']);
    w.int64(2, m['create_revision']);
    w.int64(3, m['mod_revision']);
    w.int64(4, m['version']);
    w.bytes(5, m['value']);
    w.int64(6, m['lease']);
  });
}

const rangeResponseFields = (w: ProtoWriter, m: Msg): void => {
  header(w, 1, m['header']);
  for (const kv of arr(m['kvs'])) keyValue(w, 2, kv);
  w.bool(3, m['more']);
  w.int64(4, m['count']);
};

const putResponseFields = (w: ProtoWriter, m: Msg): void => {
  header(w, 1, m['header']);
  keyValue(w, 2, m['prev_kv']);
};

const deleteRangeResponseFields = (w: ProtoWriter, m: Msg): void => {
  header(w, 1, m['header']);
  w.int64(2, m['deleted']);
  for (const kv of arr(m['prev_kvs'])) keyValue(w, 3, kv);
};

/** The sub-message field of a ResponseOp, by its oneof member's name. */
const responseOps: readonly (readonly [string, number, (w: ProtoWriter, m: Msg) => void])[] = [
  ['response_range', 1, rangeResponseFields],
  ['response_put', 2, putResponseFields],
  ['response_delete_range', 3, deleteRangeResponseFields],
  ['response_txn', 4, (w, m) => txnResponseFields(w, m)],
];

function txnResponseFields(w: ProtoWriter, m: Msg): void {
  header(w, 1, m['header']);
  w.bool(2, m['succeeded']);
  for (const op of arr(m['responses'])) {
    const o = obj(op) ?? {};
    w.message(3, () => {
      // One member is set; `response` (proto-loader's oneof name), when present, says which.
      const chosen = typeof o['response'] === 'string' ? o['response'] : undefined;
      for (const [name, field, fields] of responseOps) {
        const sub = obj(o[name]);
        if (sub === undefined || (chosen !== undefined && chosen !== name)) continue;
        w.message(field, () => fields(w, sub));
        return;
      }
    });
  }
}

const eventTypes: Readonly<Record<string, number>> = { PUT: 0, DELETE: 1 };

const watchResponseFields = (w: ProtoWriter, m: Msg): void => {
  header(w, 1, m['header']);
  w.int64(2, m['watch_id']);
  w.bool(3, m['created']);
  w.bool(4, m['canceled']);
  w.int64(5, m['compact_revision']);
  w.string(6, m['cancel_reason']);
  w.bool(7, m['fragment']);
  for (const e of arr(m['events'])) {
    const ev = obj(e) ?? {};
    w.message(11, () => {
      const t = ev['type'];
      w.enumValue(1, typeof t === 'number' ? t : (eventTypes[String(t)] ?? 0));
      keyValue(w, 2, ev['kv']);
      keyValue(w, 3, ev['prev_kv']);
    });
  }
};

const encoder =
  (fields: (w: ProtoWriter, m: Msg) => void) =>
  (m: Msg): Buffer => {
    const w = new ProtoWriter();
    fields(w, m);
    return w.finish();
  };

// ---- decoding ---------------------------------------------------------------------------

const EMPTY = Buffer.alloc(0);
/** An enum's name by number, or the number when the name is unknown (as protobuf.js gives it). */
const enumOf = (names: readonly string[], n: number): string | number => names[n] ?? n;
const SORT_ORDERS = ['NONE', 'ASCEND', 'DESCEND'];
const SORT_TARGETS = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'];
const FILTER_TYPES = ['NOPUT', 'NODELETE'];

const RANGE_INT64: Readonly<Record<number, string>> = {
  3: 'limit',
  4: 'revision',
  10: 'min_mod_revision',
  11: 'max_mod_revision',
  12: 'min_create_revision',
  13: 'max_create_revision',
};

export function decodeRangeRequest(buf: Buffer): Msg {
  const m: Record<string, unknown> = {
    key: EMPTY,
    range_end: EMPTY,
    limit: '0',
    revision: '0',
    sort_order: 'NONE',
    sort_target: 'KEY',
    serializable: false,
    keys_only: false,
    count_only: false,
    min_mod_revision: '0',
    max_mod_revision: '0',
    min_create_revision: '0',
    max_create_revision: '0',
  };
  const r = new ProtoReader(buf);
  while (!r.done) {
    const [field, wt] = r.tag();
    const long = RANGE_INT64[field];
    if (field === 1 && wt === 2) m['key'] = r.bytes();
    else if (field === 2 && wt === 2) m['range_end'] = r.bytes();
    else if (long !== undefined && wt === 0) m[long] = r.int64();
    else if (field === 5 && wt === 0) m['sort_order'] = enumOf(SORT_ORDERS, r.uint32());
    else if (field === 6 && wt === 0) m['sort_target'] = enumOf(SORT_TARGETS, r.uint32());
    else if (field === 7 && wt === 0) m['serializable'] = r.bool();
    else if (field === 8 && wt === 0) m['keys_only'] = r.bool();
    else if (field === 9 && wt === 0) m['count_only'] = r.bool();
    else r.skip(wt);
  }
  return m;
}

export function decodePutRequest(buf: Buffer): Msg {
  const m: Record<string, unknown> = {
    key: EMPTY,
    value: EMPTY,
    lease: '0',
    prev_kv: false,
    ignore_value: false,
    ignore_lease: false,
  };
  const r = new ProtoReader(buf);
  while (!r.done) {
    const [field, wt] = r.tag();
    if (field === 1 && wt === 2) m['key'] = r.bytes();
    else if (field === 2 && wt === 2) m['value'] = r.bytes();
    else if (field === 3 && wt === 0) m['lease'] = r.int64();
    else if (field === 4 && wt === 0) m['prev_kv'] = r.bool();
    else if (field === 5 && wt === 0) m['ignore_value'] = r.bool();
    else if (field === 6 && wt === 0) m['ignore_lease'] = r.bool();
    else r.skip(wt);
  }
  return m;
}

function decodeWatchCreate(buf: Buffer): Msg {
  const m: Record<string, unknown> = {
    key: EMPTY,
    range_end: EMPTY,
    start_revision: '0',
    progress_notify: false,
    filters: [],
    prev_kv: false,
    watch_id: '0',
    fragment: false,
  };
  const filters: (string | number)[] = [];
  const r = new ProtoReader(buf);
  while (!r.done) {
    const [field, wt] = r.tag();
    if (field === 1 && wt === 2) m['key'] = r.bytes();
    else if (field === 2 && wt === 2) m['range_end'] = r.bytes();
    else if (field === 3 && wt === 0) m['start_revision'] = r.int64();
    else if (field === 4 && wt === 0) m['progress_notify'] = r.bool();
    else if (field === 5 && (wt === 0 || wt === 2))
      for (const n of r.varints(wt)) filters.push(enumOf(FILTER_TYPES, n));
    else if (field === 6 && wt === 0) m['prev_kv'] = r.bool();
    else if (field === 7 && wt === 0) m['watch_id'] = r.int64();
    else if (field === 8 && wt === 0) m['fragment'] = r.bool();
    else r.skip(wt);
  }
  m['filters'] = filters;
  return m;
}

function decodeWatchCancel(buf: Buffer): Msg {
  const m: Record<string, unknown> = { watch_id: '0' };
  const r = new ProtoReader(buf);
  while (!r.done) {
    const [field, wt] = r.tag();
    if (field === 1 && wt === 0) m['watch_id'] = r.int64();
    else r.skip(wt);
  }
  return m;
}

/** WatchRequest's oneof request_union: the last member on the wire wins, as in protobuf. */
export function decodeWatchRequest(buf: Buffer): Msg {
  const m: Record<string, unknown> = {};
  const r = new ProtoReader(buf);
  let union: string | undefined;
  while (!r.done) {
    const [field, wt] = r.tag();
    if (wt !== 2 || field < 1 || field > 3) {
      r.skip(wt);
      continue;
    }
    const body = r.bytes();
    if (union !== undefined) delete m[union];
    union = field === 1 ? 'create_request' : field === 2 ? 'cancel_request' : 'progress_request';
    m[union] = field === 1 ? decodeWatchCreate(body) : field === 2 ? decodeWatchCancel(body) : {};
  }
  if (union !== undefined) m['request_union'] = union;
  return m;
}

/** The hand-written codecs by gRPC method path; every other message goes through protobuf.js. */
export const hotCodecs: ReadonlyMap<string, Codec> = new Map<string, Codec>([
  ['/etcdserverpb.KV/Range', { decode: decodeRangeRequest, encode: encoder(rangeResponseFields) }],
  ['/etcdserverpb.KV/Put', { decode: decodePutRequest, encode: encoder(putResponseFields) }],
  ['/etcdserverpb.KV/DeleteRange', { encode: encoder(deleteRangeResponseFields) }],
  ['/etcdserverpb.KV/Txn', { encode: encoder(txnResponseFields) }],
  [
    '/etcdserverpb.Watch/Watch',
    { decode: decodeWatchRequest, encode: encoder(watchResponseFields) },
  ],
]);
