/**
 * A revision inside the store: `main` increases by one per write transaction that changed
 * something, `sub` numbers the changes inside it from 0. Inside the server both are JS numbers
 * (asserted below 2^53, which at a million writes a second lasts 285 years); on the wire a
 * revision is the bigint `main`.
 */
export interface Rev {
  readonly main: number;
  readonly sub: number;
}

export function revCompare(a: Rev, b: Rev): number {
  return a.main !== b.main ? a.main - b.main : a.sub - b.sub;
}

/** A broken invariant: stop rather than continue with corrupt state. */
export function invariant(cond: unknown, what: string): asserts cond {
  if (!cond) throw new InvariantError(what);
}

export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

/** Converts a wire revision to the internal number; callers have range-checked it. */
export function mainOf(rev: bigint): number {
  return rev > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(rev);
}
