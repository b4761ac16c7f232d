// Test helpers shared by the client's, cairnctl's, the daemon's and the end-to-end tests.
import { expect } from 'vitest';

/** Awaits `p`, which must reject with an instance of `type`; returns the error for more checks. */
export async function rejectionOf<E extends Error>(p: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(type);
    return err as E;
  }
  throw new Error(`expected a rejection with ${type.name}`);
}

/** Buffers (what the codec decodes) as plain Uint8Arrays, so toEqual compares bytes only. */
export function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}
