import { CairnError, decodeValue, encodePlainValue, encodeValue, ErrorCode, type MemberId } from '@cairn/protocol';
import type { ProposalAuth } from '../auth/permissions.js';
import { kindDecoders, type WriteRequest } from './kinds.js';
import type { MemberRecord } from './membership.js';

export type { ProposalAuth } from '../auth/permissions.js';
export type { MemberAttrOp, MembersResponse, ResponseFor, WriteRequest, WriteResponse } from './kinds.js';

/**
 * A log entry's data: the request in the protocol's MessagePack encoding, as plain maps.
 * (Entries written before were packed with records; `decodeValue` reads both.)
 */
export function encodeWriteRequest(req: WriteRequest): Uint8Array {
  return encodePlainValue(req);
}

const variants = kindDecoders;

/** The MessagePack value of a log entry's request, with its one variant name. */
function unpackWriteRequest(data: Uint8Array): { name: keyof typeof variants; body: unknown; value: object } {
  const v = decodeValue(data);
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    throw new CairnError(ErrorCode.Corrupt, 'log entry is not a map');
  }
  let name: string | undefined;
  for (const k in v) {
    if (name !== undefined || !(k in variants)) throw new CairnError(ErrorCode.Corrupt, `log entry has an unknown shape: ${Object.keys(v).join(',')}`);
    name = k;
  }
  if (name === undefined) throw new CairnError(ErrorCode.Corrupt, 'log entry has an unknown shape: (empty)');
  return { name: name as keyof typeof variants, body: (v as Record<string, unknown>)[name], value: v };
}

/**
 * Decodes a log entry and checks every field, as the client edge checks a request: for
 * entries from another member, before they enter this member's log (raftNode/inbound.ts).
 * A failure means the entry could not be applied here.
 */
export function decodeWriteRequest(data: Uint8Array): WriteRequest {
  const { name, body } = unpackWriteRequest(data);
  return { [name]: variants[name](body, name) } as WriteRequest;
}

/**
 * Decodes a log entry for the applier, as trusted (ARCHITECTURE.md, "Apply as layers"):
 * every entry in the log was a request checked at an edge (the client API of the member that
 * proposed it, then `decodeWriteRequest` on each member it was appended to) and encoded by
 * `encodeWriteRequest` from the checked value, so its MessagePack value already has the
 * checked types (bigint ids, byte arrays) and only its variant is looked at. A failure means a
 * corrupt log; the caller treats it as fatal.
 */
export function decodeTrustedWriteRequest(data: Uint8Array): WriteRequest {
  return unpackWriteRequest(data).value as WriteRequest;
}

/**
 * What a normal log entry carries: the request, who proposed it and, for a client request,
 * who it was authorized for. `origin` (a member id) and `seq` (unique on that member across
 * restarts) let the proposing member find the waiter to answer when it applies the entry;
 * every other member ignores them.
 *
 *   entry.data = 0x01 | origin:u64be | seq:u64be | encodeWriteRequest(req)
 *   entry.data = 0x02 | origin:u64be | seq:u64be | authRevision:u64be | userBytes:u16be | user utf8 | encodeWriteRequest(req)
 *
 * A fixed binary header rather than MessagePack: it is on the path of every write, and the
 * request bytes are then used in place, never copied. Format 0x01 (no auth) is what the
 * member's own proposals use (lease expiry, member attributes): the applier trusts them.
 */
export interface Proposal {
  readonly origin: MemberId;
  readonly seq: bigint;
  readonly request: Uint8Array;
  readonly auth?: ProposalAuth;
}

const PROPOSAL_FORMAT = 0x01;
const PROPOSAL_FORMAT_AUTH = 0x02;
const PROPOSAL_HEADER_BYTES = 17;
const AUTH_HEADER_BYTES = 10;
/** Auth names are short (validate.authName); this bounds the header. */
const MAX_USER_BYTES = 0xffff;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

export function encodeProposal(p: Proposal): Uint8Array {
  const user = p.auth === undefined ? undefined : utf8.encode(p.auth.user);
  if (user !== undefined && user.length > MAX_USER_BYTES) throw new CairnError(ErrorCode.InvalidArgument, 'user name is too long');
  const header = PROPOSAL_HEADER_BYTES + (user === undefined ? 0 : AUTH_HEADER_BYTES + user.length);
  const out = new Uint8Array(header + p.request.length);
  const dv = new DataView(out.buffer);
  out[0] = user === undefined ? PROPOSAL_FORMAT : PROPOSAL_FORMAT_AUTH;
  dv.setBigUint64(1, BigInt.asUintN(64, p.origin));
  dv.setBigUint64(9, BigInt.asUintN(64, p.seq));
  if (user !== undefined) {
    dv.setBigUint64(17, BigInt.asUintN(64, p.auth!.authRevision));
    dv.setUint16(25, user.length);
    out.set(user, 27);
  }
  out.set(p.request, header);
  return out;
}

export function decodeProposal(data: Uint8Array): Proposal {
  const format = data[0];
  if (data.length < PROPOSAL_HEADER_BYTES || (format !== PROPOSAL_FORMAT && format !== PROPOSAL_FORMAT_AUTH)) {
    throw new CairnError(ErrorCode.Corrupt, 'log entry is not a proposal');
  }
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const origin = dv.getBigUint64(1);
  const seq = dv.getBigUint64(9);
  if (format === PROPOSAL_FORMAT) return { origin, seq, request: data.subarray(PROPOSAL_HEADER_BYTES) };
  if (data.length < PROPOSAL_HEADER_BYTES + AUTH_HEADER_BYTES) throw new CairnError(ErrorCode.Corrupt, 'log entry has a truncated auth header');
  const authRevision = dv.getBigUint64(17);
  const userBytes = dv.getUint16(25);
  const start = PROPOSAL_HEADER_BYTES + AUTH_HEADER_BYTES;
  if (data.length < start + userBytes) throw new CairnError(ErrorCode.Corrupt, 'log entry has a truncated auth header');
  let user: string;
  try {
    user = fromUtf8.decode(data.subarray(start, start + userBytes));
  } catch {
    throw new CairnError(ErrorCode.Corrupt, 'log entry names a user that is not UTF-8');
  }
  return { origin, seq, request: data.subarray(start + userBytes), auth: { user, authRevision } };
}

/**
 * The context of a confChange entry: who proposed it (as for a Proposal), and for an add the
 * new member's record, which the applier stores in the membership table.
 */
export interface ConfChangeContext {
  readonly origin: MemberId;
  readonly seq: bigint;
  readonly member?: MemberRecord;
}

export function encodeConfContext(c: ConfChangeContext): Uint8Array {
  const m = c.member;
  return encodeValue([c.origin, c.seq, m === undefined ? null : [m.id, m.name, m.peerUrls, m.clientUrls, m.isLearner]]);
}

export function decodeConfContext(data: Uint8Array): ConfChangeContext {
  const v = decodeValue(data);
  if (!Array.isArray(v) || v.length !== 3) throw new CairnError(ErrorCode.Corrupt, 'confChange context is corrupt');
  const id = (x: unknown): bigint => (typeof x === 'bigint' ? x : typeof x === 'number' ? BigInt(x) : -1n);
  const m = v[2] as unknown[] | null;
  if (m === null) return { origin: id(v[0]), seq: id(v[1]) };
  const strings = (x: unknown): string[] => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : []);
  return {
    origin: id(v[0]),
    seq: id(v[1]),
    member: { id: id(m[0]), name: typeof m[1] === 'string' ? m[1] : '', peerUrls: strings(m[2]), clientUrls: strings(m[3]), isLearner: m[4] === true },
  };
}

/** A normal entry's data, decoded: its proposal header and its request as the applier takes it. */
export interface DecodedEntry {
  readonly proposal: Proposal;
  readonly request: WriteRequest;
}

/**
 * Entries checked where they entered this member (`checkEntryData`), by the identity of their
 * data, until the applier takes them: a follower then decodes each appended entry once, not
 * once to check it and again to apply it. Only a cache: an entry the applier reads back from
 * disk, or one that was never checked (the leader's own), is decoded again as trusted.
 * Weak, so entries raft drops (a rejected or conflicting append) take their value with them.
 */
const checkedEntries = new WeakMap<Uint8Array, DecodedEntry>();

/**
 * Checks a normal entry's data from another member as the edge checks a request (throws a
 * CairnError if it could not be applied here), and keeps what the applier needs of it.
 * The request kept is the MessagePack value itself, exactly what `decodeTrustedWriteRequest`
 * returns for the same bytes (the checks read it and build their own values), so every member
 * applies the same value whichever way it decoded it.
 */
export function checkEntryData(data: Uint8Array): void {
  const proposal = decodeProposal(data);
  const { name, body, value } = unpackWriteRequest(proposal.request);
  variants[name](body, name);
  checkedEntries.set(data, { proposal, request: value as WriteRequest });
}

/** What `checkEntryData` kept for this data, once (it is forgotten here). */
export function takeCheckedEntry(data: Uint8Array): DecodedEntry | undefined {
  const d = checkedEntries.get(data);
  if (d !== undefined) checkedEntries.delete(data);
  return d;
}
