/**
 * Protobuf's wire format, just what the hand-written codecs of the hot messages need
 * (codecs.ts): varints, 64-bit integers given as decimal strings, bigints or numbers,
 * length-delimited bytes and sub-messages. Field order and packing follow the encoding spec
 * (https://protobuf.dev/programming-guides/encoding/); zero values are left out, as proto3
 * allows.
 */

const VARINT = 0;
const LEN = 2;
/** Strings this short are integers below 2^53: Number() reads them exactly. */
const SAFE_DIGITS = 15;

/** One growing buffer; a sub-message reserves one length byte and moves up if it needs more. */
export class ProtoWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 256) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A non-negative integer below 2^53. */
  private varint(n: number): void {
    this.ensure(8);
    while (n > 127) {
      this.buf[this.pos++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  private tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  /** An int64 or uint64 field (a negative int64 as its 64-bit two's complement). */
  int64(field: number, v: unknown): void {
    if (typeof v === 'number') {
      if (v === 0) return;
      if (v > 0 && Number.isSafeInteger(v)) {
        this.tag(field, VARINT);
        this.varint(v);
        return;
      }
    } else if (typeof v === 'string') {
      if (v === '0' || v === '') return;
      if (v.length <= SAFE_DIGITS && v[0] !== '-') {
        this.tag(field, VARINT);
        this.varint(Number(v));
        return;
      }
    }
    const big = BigInt.asUintN(
      64,
      typeof v === 'bigint' ? v : BigInt(typeof v === 'string' || typeof v === 'number' ? v : 0),
    );
    if (big === 0n) return;
    this.tag(field, VARINT);
    this.ensure(10);
    let rest = big;
    while (rest > 127n) {
      this.buf[this.pos++] = Number(rest & 127n) | 128;
      rest >>= 7n;
    }
    this.buf[this.pos++] = Number(rest);
  }

  /** An enum field by its number. */
  enumValue(field: number, n: number): void {
    if (n === 0) return;
    this.tag(field, VARINT);
    this.varint(n);
  }

  bool(field: number, v: unknown): void {
    if (v !== true) return;
    this.tag(field, VARINT);
    this.varint(1);
  }

  bytes(field: number, v: unknown): void {
    if (!(v instanceof Uint8Array) || v.length === 0) return;
    this.tag(field, LEN);
    this.varint(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  string(field: number, v: unknown): void {
    if (typeof v !== 'string' || v === '') return;
    const n = Buffer.byteLength(v);
    this.tag(field, LEN);
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.write(v, this.pos);
  }

  /** A sub-message: `body` writes its fields. Written even when empty (a set message field). */
  message(field: number, body: () => void): void {
    this.tag(field, LEN);
    this.ensure(1);
    const start = ++this.pos;
    body();
    const len = this.pos - start;
    if (len < 128) {
      this.buf[start - 1] = len;
      return;
    }
    // The length needs more than the one byte reserved: move the body up.
    let extra = 0;
    for (let n = len; n > 127; n = Math.floor(n / 128)) extra++;
    this.ensure(extra);
    this.buf.copy(this.buf, start + extra, start, this.pos);
    this.pos = start - 1;
    this.varint(len);
    this.pos += len;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Wire-format errors: the message cannot be decoded (grpc-js fails the call as INTERNAL). */
export class ProtoDecodeError extends Error {}

export class ProtoReader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** A varint of up to 64 bits as [low 32 bits, high 32 bits], both unsigned. */
  private varint64(): [number, number] {
    let lo = 0;
    let hi = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.buf.length) throw new ProtoDecodeError('truncated varint');
      const b = this.buf[this.pos++]!;
      const bits = b & 127;
      if (shift < 28) lo |= bits << shift;
      else if (shift === 28) {
        lo |= (bits & 15) << 28;
        hi |= bits >> 4;
      } else hi |= bits << (shift - 32);
      if (b < 128) return [lo >>> 0, hi >>> 0];
    }
    throw new ProtoDecodeError('varint longer than 10 bytes');
  }

  /** A field's [number, wire type]. */
  tag(): [number, number] {
    const [lo] = this.varint64();
    return [lo >>> 3, lo & 7];
  }

  uint32(): number {
    return this.varint64()[0];
  }

  bool(): boolean {
    const [lo, hi] = this.varint64();
    return lo !== 0 || hi !== 0;
  }

  /** An int64 as a signed decimal string (proto-loader's `longs: String`). */
  int64(): string {
    const [lo, hi] = this.varint64();
    if (hi < 0x200000) return String(hi * 2 ** 32 + lo); // below 2^53
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
  }

  /** Length-delimited bytes, sharing the input's memory (as protobuf.js's reader does). */
  bytes(): Buffer {
    const n = this.uint32();
    if (this.pos + n > this.buf.length)
      throw new ProtoDecodeError('length past the end of the message');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A packed run of varints (or one unpacked value), for repeated enums. */
  varints(wireType: number): number[] {
    if (wireType === VARINT) return [this.uint32()];
    const sub = new ProtoReader(this.bytes());
    const out: number[] = [];
    while (!sub.done) out.push(sub.uint32());
    return out;
  }

  /** Skips a field of an unknown number. */
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint64();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.bytes();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new ProtoDecodeError(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.buf.length) throw new ProtoDecodeError('field past the end of the message');
  }
}
