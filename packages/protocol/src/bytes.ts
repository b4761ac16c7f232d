/** Byte-string helpers shared by client and server. Keys sort as unsigned bytes, like etcd. */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export type BytesLike = Uint8Array | string;

export function toBytes(v: BytesLike): Uint8Array {
  return typeof v === 'string' ? encoder.encode(v) : v;
}

export function bytesToString(b: Uint8Array): string {
  return decoder.decode(b);
}

/** Unsigned lexicographic order: negative, zero or positive like Array.sort wants. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The single byte 0x00: as a range end it means "to the end of the keyspace" (from-key). */
export const FROM_KEY_END: Uint8Array = new Uint8Array([0]);

/**
 * The smallest key greater than every key with this prefix: the prefix with its last byte
 * below 0xff incremented and what follows dropped. A prefix of only 0xff bytes (or empty)
 * has no such key, so the range runs to the end: [0].
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      // A copy, never a view: Buffer's slice shares memory, and the caller's key must not change.
      const end = new Uint8Array(prefix.subarray(0, i + 1));
      end[i]! += 1;
      return end;
    }
  }
  return FROM_KEY_END;
}

export function bytesToHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
