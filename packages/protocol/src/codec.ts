import { Packr } from 'msgpackr';
import { CairnError, ErrorCode } from './errors.js';
import type { ClientFrame, ServerFrame } from './frames.js';

/**
 * MessagePack codec for frames. 64-bit integers decode as bigint, every other integer as a
 * number, byte strings as Uint8Array (a Buffer on Node).
 *
 * Records are on, defined inside each message (no state shared between frames or sockets).
 * Measured on this machine (docs/protocol.md): a 100-key range response is 28% smaller and
 * decodes 2.3x faster than plain maps (39 vs 91 us), while a small put request costs 0.6 us
 * more to encode. Shared structures per socket would halve that again but tie every frame to
 * the ones before it; not worth the fragility yet.
 */
const packr = new Packr({
  useRecords: true,
  int64AsType: 'bigint',
  mapsAsObjects: true,
  moreTypes: false,
  // bigint outside 64 bits is a programming error, not something to send.
  largeBigIntToFloat: false,
});

/** Hard cap on one frame; larger frames close the socket (nothing can be attributed). */
export const DEFAULT_MAX_FRAME_BYTES = 32 * 1024 * 1024;
/** Like etcd's --max-request-bytes: larger requests fail with `request_too_large`. */
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

export function encodeFrame(frame: ClientFrame | ServerFrame): Uint8Array {
  return packr.pack(frame);
}

/** Decodes any MessagePack value; throws CairnError(malformed_frame) on bad bytes. */
export function decodeValue(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes);
  } catch (err) {
    throw new CairnError(ErrorCode.MalformedFrame, `malformed frame: ${(err as Error).message}`);
  }
}

export function encodeValue(value: unknown): Uint8Array {
  return packr.pack(value);
}

/**
 * The same codec with plain maps (no record definitions): for a small value stored or sent
 * alone, such as a raft log entry's request, where a record is defined and then used once.
 * Measured on this machine: a put request packs in 1.4 us instead of 1.8 and unpacks in 1.0
 * instead of 1.3. `decodeValue` reads both forms, so values written either way stay readable.
 */
const plainPackr = new Packr({
  useRecords: false,
  int64AsType: 'bigint',
  mapsAsObjects: true,
  moreTypes: false,
  largeBigIntToFloat: false,
});

export function encodePlainValue(value: unknown): Uint8Array {
  return plainPackr.pack(value);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Decodes and shape-checks a frame from a client. Throws CairnError(malformed_frame) with
 * `details.id` set when the frame named a request id, so the server can fail just that request.
 */
export function decodeClientFrame(bytes: Uint8Array): ClientFrame {
  const v = decodeValue(bytes);
  if (!isRecord(v)) throw new CairnError(ErrorCode.MalformedFrame, 'frame is not a map');
  const id = v['id'];
  const bad = (why: string): never => {
    throw new CairnError(ErrorCode.MalformedFrame, `malformed frame: ${why}`, isId(id) ? { id } : undefined);
  };
  switch (v['t']) {
    case 'hello':
      if (typeof v['version'] !== 'number') bad('hello without version');
      if (v['token'] !== undefined && typeof v['token'] !== 'string') bad('token is not a string');
      return v as ClientFrame;
    case 'req':
    case 'open':
      if (!isId(id)) bad('missing or invalid id');
      if (typeof v['method'] !== 'string') bad('missing method');
      return v as ClientFrame;
    case 'send':
      if (!isId(id)) bad('missing or invalid id');
      return v as ClientFrame;
    case 'close':
      if (!isId(id)) bad('missing or invalid id');
      return v as ClientFrame;
    case 'auth':
      if (typeof v['token'] !== 'string') bad('auth without token');
      return v as ClientFrame;
    default:
      return bad(`unknown frame type ${JSON.stringify(v['t'])}`);
  }
}

/** Decodes a frame from a server. Trusts the server's shapes beyond the frame type. */
export function decodeServerFrame(bytes: Uint8Array): ServerFrame {
  const v = decodeValue(bytes);
  if (!isRecord(v) || typeof v['t'] !== 'string') {
    throw new CairnError(ErrorCode.MalformedFrame, 'malformed frame from server');
  }
  return v as ServerFrame;
}
