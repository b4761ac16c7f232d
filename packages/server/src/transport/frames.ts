import { CairnError, decodeValue, encodeValue, ErrorCode } from '@cairn/protocol';
import type { Entry, Message, MessageType } from '@cairn/raft';
import { PEER_NONCE_BYTES } from './peerAuth.js';

/**
 * Frames between members, MessagePack like the client protocol. Every frame carries the
 * sender's cluster id (`c`): a member refuses frames of another cluster (one started with a
 * different initial-cluster-token, or a stray member of an old cluster on a reused port).
 *
 * Every socket opens with the mutual handshake of peerAuth.ts; nothing else is read before it:
 *   -> hello { c, from, to, v, n, term? }  <- challenge { c, n, p } | refused
 *   -> proof { c, p }                      <- ok { c } | refused { c, code, message } (then closed)
 *
 * A raft socket (`/raft`) is dialled by the sender; after the handshake:
 *   -> msgs  { c, m: Message[] }                                  (one-way, batched)
 *   -> rpc   { c, id, method, params }  <- rpcres { c, id, result } | { c, id, code, message }
 *
 * A snapshot socket (`/snapshot`) is dialled by the leader for one transfer (hello with `term`):
 *   -> chunk { c, seq, rows }          <- ack { c, seq }           (rows: [k, v, k, v, ...])
 *   -> end   { c, rows: total }        <- done { c } | refused { c, code, message }
 */
export type PeerFrame =
  | { readonly t: 'hello'; readonly c: bigint; readonly from: bigint; readonly to: bigint; readonly v: number; readonly n: Uint8Array; readonly term?: number }
  | { readonly t: 'challenge'; readonly c: bigint; readonly n: Uint8Array; readonly p: Uint8Array }
  | { readonly t: 'proof'; readonly c: bigint; readonly p: Uint8Array }
  | { readonly t: 'ok'; readonly c: bigint }
  | { readonly t: 'refused'; readonly c: bigint; readonly code: string; readonly message: string }
  | { readonly t: 'msgs'; readonly c: bigint; readonly m: readonly Message[] }
  | { readonly t: 'rpc'; readonly c: bigint; readonly id: number; readonly method: string; readonly params: unknown }
  | { readonly t: 'rpcres'; readonly c: bigint; readonly id: number; readonly result?: unknown; readonly code?: string; readonly message?: string }
  | { readonly t: 'chunk'; readonly c: bigint; readonly seq: number; readonly rows: readonly Uint8Array[] }
  | { readonly t: 'ack'; readonly c: bigint; readonly seq: number }
  | { readonly t: 'end'; readonly c: bigint; readonly rows: number }
  | { readonly t: 'done'; readonly c: bigint };

/** Bumped on an incompatible change of peer frames. */
export const PEER_PROTOCOL_VERSION = 2;

/** Refusal codes a peer may answer a hello with. */
export const PeerRefusal = {
  ClusterIdMismatch: ErrorCode.ClusterIdMismatch,
  /** The dialled member is not the one the dialler meant (a port reused by another member). */
  WrongMember: 'wrong_member',
  /** The dialling member was removed from the cluster: it must stop. */
  Removed: 'member_removed',
  /** A snapshot is already being received. */
  Busy: 'busy',
  UnsupportedVersion: ErrorCode.UnsupportedVersion,
  /** The handshake failed: no proof, or a proof made with another peer secret. */
  Unauthenticated: 'peer_unauthenticated',
  /** The sender is not a member of the cluster as this member knows it (yet): retry later. */
  NotMember: 'not_member',
  /** A frame the receiver will not take from this sender (logged on the receiving side). */
  Refused: 'peer_refused',
} as const;

export function encodePeerFrame(f: PeerFrame): Uint8Array {
  return encodeValue(f);
}

const bad = (why: string): never => {
  throw new CairnError(ErrorCode.MalformedFrame, `malformed peer frame: ${why}`);
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const asId = (v: unknown, what: string): bigint => {
  if (typeof v === 'bigint' && v >= 0n && v < 1n << 64n) return v;
  if (isCount(v)) return BigInt(v);
  return bad(`${what} is not a 64-bit id`);
};

/** Decodes and checks a peer frame. Throws CairnError(malformed_frame); never anything else. */
export function decodePeerFrame(bytes: Uint8Array): PeerFrame {
  const v = decodeValue(bytes);
  if (!isRecord(v)) return bad('not a map');
  const c = asId(v['c'], 'cluster id');
  switch (v['t']) {
    case 'hello': {
      if (!isCount(v['v'])) bad('hello without version');
      const term = v['term'];
      if (term !== undefined && !isCount(term)) bad('bad term');
      const n = v['n'];
      if (!(n instanceof Uint8Array) || n.length !== PEER_NONCE_BYTES) bad('hello without a nonce');
      return { t: 'hello', c, from: asId(v['from'], 'from'), to: asId(v['to'], 'to'), v: v['v'] as number, n: n as Uint8Array, ...(term !== undefined ? { term: term as number } : {}) };
    }
    case 'challenge': {
      const { n, p } = v;
      if (!(n instanceof Uint8Array) || n.length !== PEER_NONCE_BYTES || !(p instanceof Uint8Array) || p.length > 64) bad('bad challenge');
      return { t: 'challenge', c, n: n as Uint8Array, p: p as Uint8Array };
    }
    case 'proof': {
      const p = v['p'];
      if (!(p instanceof Uint8Array) || p.length > 64) bad('bad proof');
      return { t: 'proof', c, p: p as Uint8Array };
    }
    case 'ok':
      return { t: 'ok', c };
    case 'done':
      return { t: 'done', c };
    case 'refused':
      return { t: 'refused', c, code: String(v['code']), message: String(v['message']) };
    case 'msgs': {
      const m = v['m'];
      if (!Array.isArray(m)) return bad('msgs without messages');
      return { t: 'msgs', c, m: m.map(decodeMessage) };
    }
    case 'rpc':
      if (!isCount(v['id']) || typeof v['method'] !== 'string') bad('bad rpc');
      return { t: 'rpc', c, id: v['id'] as number, method: v['method'] as string, params: v['params'] };
    case 'rpcres': {
      if (!isCount(v['id'])) bad('bad rpc result');
      const code = v['code'];
      return code === undefined
        ? { t: 'rpcres', c, id: v['id'] as number, result: v['result'] }
        : { t: 'rpcres', c, id: v['id'] as number, code: String(code), message: String(v['message'] ?? '') };
    }
    case 'chunk': {
      const rows = v['rows'];
      if (!isCount(v['seq']) || !Array.isArray(rows) || rows.length % 2 !== 0 || !rows.every((r) => r instanceof Uint8Array)) bad('bad chunk');
      return { t: 'chunk', c, seq: v['seq'] as number, rows: rows as Uint8Array[] };
    }
    case 'ack':
      if (!isCount(v['seq'])) bad('bad ack');
      return { t: 'ack', c, seq: v['seq'] as number };
    case 'end':
      if (!isCount(v['rows'])) bad('bad end');
      return { t: 'end', c, rows: v['rows'] as number };
    default:
      return bad(`unknown frame type ${JSON.stringify(v['t'])}`);
  }
}

const MESSAGE_TYPES: ReadonlySet<string> = new Set<MessageType>([
  'MsgProp',
  'MsgApp',
  'MsgAppResp',
  'MsgVote',
  'MsgVoteResp',
  'MsgPreVote',
  'MsgPreVoteResp',
  'MsgHeartbeat',
  'MsgHeartbeatResp',
  'MsgTransferLeader',
  'MsgTimeoutNow',
  'MsgReadIndex',
  'MsgReadIndexResp',
]);

function decodeEntry(v: unknown): Entry {
  if (!isRecord(v)) return bad('entry is not a map');
  const { term, index, type, data } = v;
  if (!isCount(term) || !isCount(index) || (type !== 'normal' && type !== 'confChange') || !(data instanceof Uint8Array)) bad('bad entry');
  return { term: term as number, index: index as number, type: type as Entry['type'], data: data as Uint8Array };
}

/**
 * A raft message from a peer, checked field by field: raft trusts its input's shape. Snapshot
 * messages never travel here (they are streamed on their own socket), nor local types.
 */
export function decodeMessage(v: unknown): Message {
  if (!isRecord(v)) return bad('message is not a map');
  const type = v['type'];
  if (typeof type !== 'string' || !MESSAGE_TYPES.has(type)) return bad(`message type ${JSON.stringify(type)}`);
  for (const f of ['term', 'logTerm', 'index', 'commit', 'rejectHint'] as const) if (!isCount(v[f])) bad(`message ${f}`);
  const entries = v['entries'];
  if (!Array.isArray(entries)) return bad('message entries');
  const context = v['context'];
  if (!(context instanceof Uint8Array)) return bad('message context');
  if (typeof v['reject'] !== 'boolean') bad('message reject');
  return {
    type: type as MessageType,
    to: asId(v['to'], 'to'),
    from: asId(v['from'], 'from'),
    term: v['term'] as number,
    logTerm: v['logTerm'] as number,
    index: v['index'] as number,
    entries: entries.map(decodeEntry),
    commit: v['commit'] as number,
    reject: v['reject'] as boolean,
    rejectHint: v['rejectHint'] as number,
    context,
    snapshot: null,
  };
}
