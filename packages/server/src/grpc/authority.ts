/**
 * etcdctl 3.4 dials some calls (`endpoint status`, also with `--cluster`) with the whole
 * endpoint URL as the HTTP/2 `:authority` ("http://127.0.0.1:2379"). etcd's Go server takes
 * it; Node's HTTP/2 parser resets the stream as malformed ('/' is not allowed there). So the
 * first request's header block is looked at before the HTTP/2 server sees it, and such
 * characters are replaced by '_' in place: same length, same HPACK dynamic-table entry size, so
 * both sides' tables stay in step, and later requests that name the entry by index get the
 * fixed value too.
 */

/**
 * HPACK's Huffman code (RFC 7541, Appendix B) for the symbols of 8 bits or fewer: canonical,
 * so each code follows from the symbols of each length in order. An authority (host names,
 * addresses, ports, a scheme) uses no other symbol; a value that does is left as it is.
 */
const BY_LENGTH: readonly (readonly [number, string])[] = [
  [5, '012aceiost'],
  [6, ' %-./3456789=A_bdfghlmnpru'],
  [7, ':BCDEFGHIJKLMNOPQRSTUVWYjkqvwxyz'],
  [8, '&*,;XZ'],
];

interface Code {
  readonly bits: number;
  readonly code: number;
}

const encodeTable = new Map<string, Code>();
/** Decoding: "length:code" -> symbol. */
const decodeTable = new Map<string, string>();
{
  let code = 0;
  let prevBits = BY_LENGTH[0]![0];
  for (const [bits, symbols] of BY_LENGTH) {
    code <<= bits - prevBits;
    prevBits = bits;
    for (const s of symbols) {
      encodeTable.set(s, { bits, code });
      decodeTable.set(`${bits}:${code}`, s);
      code++;
    }
  }
}

/** Decodes a Huffman string made of the table's symbols; undefined if it has any other. */
export function huffmanDecode(b: Uint8Array): string | undefined {
  let out = '';
  let acc = 0;
  let n = 0;
  for (const byte of b) {
    for (let i = 7; i >= 0; i--) {
      acc = (acc << 1) | ((byte >> i) & 1);
      n++;
      const s = decodeTable.get(`${n}:${acc}`);
      if (s !== undefined) {
        out += s;
        acc = 0;
        n = 0;
      } else if (n > 8) return undefined;
    }
  }
  // What is left must be padding: fewer than 8 bits, all ones (EOS's prefix).
  return n < 8 && acc === (1 << n) - 1 ? out : undefined;
}

export function huffmanEncode(s: string): Uint8Array | undefined {
  const bytes: number[] = [];
  let acc = 0;
  let n = 0;
  for (const ch of s) {
    const c = encodeTable.get(ch);
    if (c === undefined) return undefined;
    acc = (acc << c.bits) | c.code;
    n += c.bits;
    while (n >= 8) {
      n -= 8;
      bytes.push((acc >> n) & 0xff);
    }
    acc &= (1 << n) - 1;
  }
  if (n > 0) bytes.push(((acc << (8 - n)) | ((1 << (8 - n)) - 1)) & 0xff);
  return Uint8Array.from(bytes);
}

/** Characters nghttp2 refuses in an authority (it takes unreserved, sub-delims, ':', '@', '[', ']', '%'). */
const BAD = /[^A-Za-z0-9\-._~!$&'()*+,;=:@[\]%]/;
const BAD_ALL = new RegExp(BAD.source, 'g');

/** An HPACK integer with a `prefix`-bit prefix at `at`: its value and the offset after it. */
function hpackInt(b: Uint8Array, at: number, prefix: number): [number, number] | undefined {
  const max = (1 << prefix) - 1;
  if (at >= b.length) return undefined;
  let v = b[at]! & max;
  at++;
  if (v < max) return [v, at];
  for (let shift = 0; shift < 28; shift += 7) {
    if (at >= b.length) return undefined;
    const byte = b[at++]!;
    v += (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [v, at];
  }
  return undefined;
}

/** A string at `at`: [huffman, start, end], or undefined if it runs past the block. */
function hpackString(b: Uint8Array, at: number): [boolean, number, number] | undefined {
  if (at >= b.length) return undefined;
  const huffman = (b[at]! & 0x80) !== 0;
  const len = hpackInt(b, at, 7);
  if (len === undefined || len[1] + len[0] > b.length) return undefined;
  return [huffman, len[1], len[1] + len[0]];
}

/**
 * Fixes, in place, an `:authority` (static index 1) of one header block whose value has
 * characters Node refuses. Stops at anything it does not follow; never changes a length.
 */
export function fixAuthority(block: Uint8Array): boolean {
  let at = 0;
  while (at < block.length) {
    const first = block[at]!;
    if ((first & 0x80) !== 0 || (first & 0xe0) === 0x20) {
      // indexed field, or a dynamic table size update
      const r = hpackInt(block, at, (first & 0x80) !== 0 ? 7 : 5);
      if (r === undefined) return false;
      at = r[1];
      continue;
    }
    const idx = hpackInt(block, at, (first & 0xc0) === 0x40 ? 6 : 4);
    if (idx === undefined) return false;
    at = idx[1];
    if (idx[0] === 0) {
      const name = hpackString(block, at);
      if (name === undefined) return false;
      at = name[2];
    }
    const value = hpackString(block, at);
    if (value === undefined) return false;
    const [huffman, start, end] = value;
    at = end;
    if (idx[0] !== 1) continue;
    const raw = block.subarray(start, end);
    const text = huffman ? huffmanDecode(raw) : Buffer.from(raw).toString('latin1');
    if (text === undefined || !BAD.test(text)) return false;
    const fixed = text.replace(BAD_ALL, '_');
    const bytes = huffman ? huffmanEncode(fixed) : Buffer.from(fixed, 'latin1');
    if (bytes === undefined || bytes.length !== raw.length) return false;
    block.set(bytes, start);
    return true;
  }
  return false;
}

const FRAME_HEADER_BYTES = 9;
const HEADERS = 0x1;
const SETTINGS = 0x4;
const PING = 0x6;
const CONTINUATION = 0x9;
const END_HEADERS = 0x4;
const ACK = 0x1;
const PADDED = 0x8;
const PRIORITY = 0x20;

/** An empty SETTINGS frame (every setting at its default): the server preface sent early. */
export const EARLY_SETTINGS = Buffer.from([0, 0, 0, SETTINGS, 0, 0, 0, 0, 0]);

/**
 * The client's first frames, after the preface, while the connection waits to be handed to the
 * HTTP/2 server. grpc-go sends its first request only once it has the server's SETTINGS, so
 * the listener sends EARLY_SETTINGS first; the client's ACK of those is taken out here (the
 * HTTP/2 server never sent them), and the first request's `:authority` fixed. 'more' until
 * both the ACK and the first request's headers were seen; then the bytes to hand over. A PING
 * before the first request also ends the wait (once the ACK is out): that client waits for the
 * answer (a keepalive ping of an idle connection), so it is handed over, its authority unfixed.
 */
export function firstFrames(buf: Buffer, prefaceBytes: number): { readonly state: 'more' | 'done'; readonly bytes: Buffer } {
  let at = prefaceBytes;
  let acked = false;
  let headers = false;
  let pinged = false;
  let out = buf;
  for (;;) {
    if (acked && (headers || pinged)) return { state: 'done', bytes: out };
    if (out.length < at + FRAME_HEADER_BYTES) return { state: 'more', bytes: out };
    const len = out.readUIntBE(at, 3);
    const type = out[at + 3]!;
    const flags = out[at + 4]!;
    const body = at + FRAME_HEADER_BYTES;
    if (out.length < body + len) return { state: 'more', bytes: out };
    if (type === PING && (flags & ACK) === 0) pinged = true;
    if (!acked && type === SETTINGS && (flags & ACK) !== 0) {
      out = Buffer.concat([out.subarray(0, at), out.subarray(body + len)]);
      acked = true;
      continue;
    }
    if (!headers && (type === HEADERS || type === CONTINUATION)) {
      headers = true;
      if (type === HEADERS && (flags & END_HEADERS) !== 0) {
        let start = body;
        let end = body + len;
        if ((flags & PADDED) !== 0) {
          end -= out[start]!;
          start++;
        }
        if ((flags & PRIORITY) !== 0) start += 5;
        if (start <= end) fixAuthority(out.subarray(start, end));
      }
    }
    at = body + len;
  }
}
