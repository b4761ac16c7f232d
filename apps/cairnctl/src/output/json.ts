/**
 * A JSON writer shaped like Go's encoding/json, which etcdctl's `-w json` goes through:
 * bigint is written as an exact integer literal (never through a double), strings escape
 * `<`, `>`, `&`, U+2028 and U+2029 like Go does, and `undefined` fields are left out.
 */
export type Json = string | number | bigint | boolean | null | undefined | readonly Json[] | { readonly [key: string]: Json };

function quote(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function writeJson(value: Json): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'bigint':
      return value.toString();
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot write ${value} as JSON`);
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    case 'undefined':
    case 'function':
    case 'symbol':
      throw new TypeError(`cannot write a ${typeof value} as JSON`);
  }
  if (Array.isArray(value)) return `[${(value as readonly Json[]).map(writeJson).join(',')}]`;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value as { readonly [key: string]: Json })) {
    if (v !== undefined) parts.push(`${quote(k)}:${writeJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

/** Go's `omitempty`: the value when it is not the zero value of its type, else undefined. */
export function omitEmpty<T extends Json>(value: T): T | undefined {
  if (value === 0 || value === 0n || value === false || value === '' || value === null) return undefined;
  if (Array.isArray(value) && value.length === 0) return undefined;
  return value;
}

/** Bytes as standard base64 with padding, like Go's encoding of []byte. */
export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
