import { decodeValue, encodeValue, type KeyValue } from '@cairn/protocol';
import { invariant } from './revision.js';

/**
 * A history record: the value stored under 'h' main sub. A msgpack array
 *   [key, createRevision, modRevision, version, value, lease, tombstone(0|1)]
 * with numbers where they fit in 53 bits (msgpack's compact forms) and the lease as a number
 * or bigint. A tombstone carries only the key and its revision.
 */
export interface HistoryRecord {
  readonly kv: KeyValue;
  readonly tombstone: boolean;
}

const EMPTY = new Uint8Array(0);

const small = (b: bigint): number | bigint => (b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= 0n ? Number(b) : b);

export function encodeRecord(kv: KeyValue, tombstone: boolean): Uint8Array {
  return encodeValue([
    kv.key,
    Number(kv.createRevision),
    Number(kv.modRevision),
    Number(kv.version),
    kv.value,
    small(kv.lease),
    tombstone ? 1 : 0,
  ]);
}

const toBig = (v: unknown): bigint => {
  invariant(typeof v === 'number' || typeof v === 'bigint', 'history record: not an integer');
  return BigInt(v);
};

export function decodeRecord(bytes: Uint8Array): HistoryRecord {
  const a = decodeValue(bytes);
  invariant(Array.isArray(a) && a.length === 7, 'history record: bad shape');
  const [key, create, mod, version, value, lease, tomb] = a as unknown[];
  invariant(key instanceof Uint8Array && value instanceof Uint8Array, 'history record: bad bytes');
  return {
    kv: {
      key,
      createRevision: toBig(create),
      modRevision: toBig(mod),
      version: toBig(version),
      value: value.length === 0 ? EMPTY : value,
      lease: toBig(lease),
    },
    tombstone: tomb === 1,
  };
}
