import { compareBytes, concatBytes, type Permission } from '@cairn/protocol';

/**
 * Key intervals for permission checks. A request or a grant names a key, a [key, rangeEnd)
 * range, or everything from a key (rangeEnd = [0]); each becomes a half-open interval
 * [start, end) where `end` undefined means "to the end of the keyspace".
 *
 * Worked example: grants `foo` (single key) and [fop, fz) cover the request [foo, fz)? The
 * single key is [foo, foo\0); sorted by start the sweep reaches foo\0, and the next grant
 * starts at fop > foo\0: a gap (e.g. key `foo1`), so no.
 */
export interface Interval {
  readonly start: Uint8Array;
  readonly end: Uint8Array | undefined;
}

const ZERO = new Uint8Array([0]);

/** The interval of a key with an optional range end, etcd's conventions. */
export function intervalOf(key: Uint8Array, rangeEnd: Uint8Array | undefined): Interval {
  if (rangeEnd === undefined || rangeEnd.length === 0) return { start: key, end: concatBytes(key, ZERO) };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start: key, end: undefined };
  return { start: key, end: rangeEnd };
}

/** a < b, with undefined as +infinity. */
function endBefore(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined) return false;
  if (b === undefined) return true;
  return compareBytes(a, b) < 0;
}

/** Whether the union of `grants` covers every key of `want`. An empty `want` is covered. */
export function covered(want: Interval, grants: readonly Interval[]): boolean {
  if (want.end !== undefined && compareBytes(want.start, want.end) >= 0) return true;
  const sorted = [...grants].sort((a, b) => compareBytes(a.start, b.start));
  let reached: Uint8Array | undefined = want.start;
  for (const g of sorted) {
    if (reached === undefined) return true;
    if (compareBytes(g.start, reached) > 0) break;
    if (endBefore(reached, g.end)) reached = g.end;
  }
  return !endBefore(reached, want.end);
}

export function grants(perm: Permission, kind: 'read' | 'write'): boolean {
  return perm.permType === 'readwrite' || perm.permType === kind;
}
