import {
  Compact,
  DeleteRange,
  Put,
  Range,
  Txn,
  bytesToString,
  type BytesLike,
  type CompactionResponse,
  type DeleteRangeResponse,
  type KeyValue,
  type PutResponse,
  type RangeResponse,
  type TxnResponse,
} from '@cairn/protocol';
import type { CallOptions, Transport } from './transport.js';
import {
  callOptionsOf,
  toDeleteRequest,
  toInt64,
  toPutRequest,
  toRangeRequest,
  type DeleteOptions,
  type Int64Like,
  type RangeQuery,
  type ReadOptions,
  type WriteOptions,
} from './options.js';
import { TxnBuilder } from './txn.js';

/** Options of a single-key read. */
export type GetOptions = Pick<ReadOptions, 'revision' | 'serializable' | 'keysOnly'> & CallOptions;
/** Options of a prefix read. */
export type GetPrefixOptions = Omit<ReadOptions, 'prefix' | 'fromKey' | 'rangeEnd'> & CallOptions;
export type RangeOptions = RangeQuery & CallOptions;
export type PutOptions = WriteOptions & CallOptions;
export type DeleteKeyOptions = DeleteOptions & CallOptions;
export interface CompactOptions extends CallOptions {
  /** Answer only once the compaction is physically applied. */
  readonly physical?: boolean;
}

/** The key-value API. Keys and values are bytes; strings are encoded as UTF-8. */
export class KV {
  private readonly transport: Transport;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  /** One key, or undefined if it does not exist. */
  async get(key: BytesLike, options: GetOptions = {}): Promise<KeyValue | undefined> {
    const res = await this.transport.request(Range, toRangeRequest(key, options), callOptionsOf(options));
    return res.kvs[0];
  }

  /** One key's value as a string, or undefined if the key does not exist. */
  async getString(key: BytesLike, options: GetOptions = {}): Promise<string | undefined> {
    const kv = await this.get(key, options);
    return kv === undefined ? undefined : bytesToString(kv.value);
  }

  /** Every key starting with `prefix`, in key order unless sorted otherwise. */
  async getPrefix(prefix: BytesLike, options: GetPrefixOptions = {}): Promise<KeyValue[]> {
    const res = await this.range({ ...options, key: prefix, prefix: true });
    return res.kvs;
  }

  range(query: RangeOptions): Promise<RangeResponse> {
    return this.transport.request(Range, toRangeRequest(query.key, query), callOptionsOf(query));
  }

  put(key: BytesLike, value: BytesLike, options: PutOptions = {}): Promise<PutResponse> {
    return this.transport.request(Put, toPutRequest(key, value, options), callOptionsOf(options));
  }

  /** Deletes one key, or a range/prefix of keys. `deleted` counts them. */
  delete(key: BytesLike, options: DeleteKeyOptions = {}): Promise<DeleteRangeResponse> {
    return this.transport.request(DeleteRange, toDeleteRequest(key, options), callOptionsOf(options));
  }

  /** Drops history before `revision`; reads below it then fail with `compacted`. */
  compact(revision: Int64Like, options: CompactOptions = {}): Promise<CompactionResponse> {
    const params = { revision: toInt64(revision, 'revision'), ...(options.physical === true ? { physical: true } : {}) };
    return this.transport.request(Compact, params, callOptionsOf(options));
  }

  txn(): TxnBuilder {
    return new TxnBuilder((req, options): Promise<TxnResponse> => this.transport.request(Txn, req, options));
  }
}
