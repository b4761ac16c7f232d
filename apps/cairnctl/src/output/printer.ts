import type {
  DeleteRangeResponse,
  HashKvResponse,
  MemberListResponse,
  PutResponse,
  RangeResponse,
  StatusResponse,
  TxnResponse,
} from '@cairn/client';

/** One endpoint's answer to `endpoint status`. */
export interface EndpointStatus {
  readonly endpoint: string;
  readonly status: StatusResponse;
}

/** One endpoint's answer to `endpoint hashkv`. */
export interface EndpointHashKv {
  readonly endpoint: string;
  readonly hashKv: HashKvResponse;
}

/** One endpoint's result of `endpoint health`. */
export interface EndpointHealth {
  readonly endpoint: string;
  readonly health: boolean;
  /** How long the check took, in nanoseconds. */
  readonly tookNs: bigint;
  /** Empty when healthy. */
  readonly error: string;
}

export interface PrinterOptions {
  /** `--hex`: keys and values as `\x..` escapes, ids in hex where etcdctl does so. */
  readonly hex: boolean;
  /** `--print-value-only` (simple format). */
  readonly valueOnly: boolean;
  /** get's `--count-only`: the simple format prints the count, 0 included. */
  readonly countOnly?: boolean;
}

/**
 * Turns responses into the text etcdctl prints for them in one `--write-out` format. Every
 * method returns the full text, newline-terminated (or '' for nothing), so it can be tested
 * as a golden string.
 */
export interface Printer {
  get(res: RangeResponse): string;
  put(res: PutResponse): string;
  del(res: DeleteRangeResponse): string;
  txn(res: TxnResponse): string;
  memberList(res: MemberListResponse): string;
  endpointStatus(list: readonly EndpointStatus[]): string;
  endpointHashKv(list: readonly EndpointHashKv[]): string;
  /** Lines for stdout and, for unhealthy endpoints in simple format, for stderr. */
  endpointHealth(list: readonly EndpointHealth[]): { out: string; err: string };
}

/**
 * The inner responses of a txn carry only a revision in etcd's header; the member and
 * cluster ids are in the outer header. Printers show them the same way.
 */
export function innerResponses(res: TxnResponse): TxnResponse['responses'] {
  const strip = <T extends { header: RangeResponse['header'] }>(r: T): T => ({
    ...r,
    header: { clusterId: 0n, memberId: 0n, revision: r.header.revision, raftTerm: 0n },
  });
  return res.responses.map((op) => {
    if ('range' in op) return { range: strip(op.range) };
    if ('put' in op) return { put: strip(op.put) };
    if ('deleteRange' in op) return { deleteRange: strip(op.deleteRange) };
    return { txn: strip(op.txn) };
  });
}

export const hexId = (id: bigint): string => BigInt.asUintN(64, id).toString(16);

/** `"foo"` as etcdctl's --hex prints it: `\x66\x6f\x6f`. */
export function hexEscape(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += `\\x${b.toString(16).padStart(2, '0')}`;
  return s;
}

const decoder = new TextDecoder();
/** Bytes as text, the way Go's string(b) prints them (invalid UTF-8 becomes U+FFFD). */
export function bytesToString(b: Uint8Array): string {
  return decoder.decode(b);
}
