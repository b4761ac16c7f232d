/**
 * Go's `%q` of a byte string (strconv.Quote): printable UTF-8 kept, `"` and `\` escaped,
 * the usual C escapes, other control or invalid bytes as `\xNN`, non-printable runes as
 * `\uNNNN`. etcdctl's `-w fields` quotes keys and values this way.
 */
const shortEscapes: Readonly<Record<number, string>> = {
  0x07: '\\a',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x0b: '\\v',
  0x22: '\\"',
  0x5c: '\\\\',
};

const hex2 = (b: number): string => `\\x${b.toString(16).padStart(2, '0')}`;

/** Decodes one UTF-8 sequence at `i`: [codepoint, length], or undefined if invalid. */
function decodeRune(b: Uint8Array, i: number): [number, number] | undefined {
  const c = b[i]!;
  const cont = (k: number): number | undefined => {
    const x = b[i + k];
    return x !== undefined && (x & 0xc0) === 0x80 ? x & 0x3f : undefined;
  };
  if (c < 0x80) return [c, 1];
  if (c >= 0xc2 && c <= 0xdf) {
    const c1 = cont(1);
    return c1 === undefined ? undefined : [((c & 0x1f) << 6) | c1, 2];
  }
  if (c >= 0xe0 && c <= 0xef) {
    const c1 = cont(1);
    const c2 = cont(2);
    if (c1 === undefined || c2 === undefined) return undefined;
    const r = ((c & 0x0f) << 12) | (c1 << 6) | c2;
    return r < 0x800 || (r >= 0xd800 && r <= 0xdfff) ? undefined : [r, 3];
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const c1 = cont(1);
    const c2 = cont(2);
    const c3 = cont(3);
    if (c1 === undefined || c2 === undefined || c3 === undefined) return undefined;
    const r = ((c & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3;
    return r < 0x10000 || r > 0x10ffff ? undefined : [r, 4];
  }
  return undefined;
}

/** Approximates Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space. */
function isPrint(r: number): boolean {
  if (r === 0x20) return true;
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(String.fromCodePoint(r));
}

export function goQuote(input: Uint8Array | string): string {
  const b = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  let out = '"';
  for (let i = 0; i < b.length; ) {
    const rune = decodeRune(b, i);
    if (rune === undefined) {
      out += hex2(b[i]!);
      i += 1;
      continue;
    }
    const [r, n] = rune;
    i += n;
    const short = shortEscapes[r];
    if (short !== undefined) out += short;
    else if (isPrint(r)) out += String.fromCodePoint(r);
    else if (r < 0x80) out += hex2(r);
    else if (r < 0x10000) out += `\\u${r.toString(16).padStart(4, '0')}`;
    else out += `\\U${r.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}
