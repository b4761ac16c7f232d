import { z } from 'zod';
import type { KeyValue } from '@cairn/client';
import { invalid, parseField } from './fields.js';

/**
 * The configuration a `set()` would leave, checked against the schema; throws `invalid_config`
 * if the fields being set make it fail. A field not being set whose stored value is invalid
 * (not JSON, or failing the schema) does not block the write: it is checked as the value this
 * client last accepted for it (or as absent), which is what the config runs on meanwhile.
 *
 *   stored: greeting "hi", limits {"rps":-1}   accepted: limits {"rps":5}   set({ greeting: "yo" })
 *   -> checked: { greeting: "yo", limits: { rps: 5 } }: written
 */
export function mergeForSet(
  prefix: string,
  schema: z.ZodType,
  stored: ReadonlyMap<string, KeyValue>,
  setting: ReadonlyMap<string, unknown>,
  accepted: ReadonlyMap<string, unknown>,
): unknown {
  const values: Record<string, unknown> = {};
  const broken = new Set<string>();
  for (const [f, kv] of stored) {
    if (setting.has(f)) continue;
    try {
      values[f] = parseField(prefix, kv);
    } catch {
      broken.add(f);
    }
  }
  for (const [f, v] of setting) values[f] = v;
  let r = schema.safeParse(values);
  if (!r.success) {
    for (const issue of r.error.issues) {
      const f = issue.path[0];
      // An issue of the whole object, or of a field being set: the change itself is bad.
      if (typeof f !== 'string' || setting.has(f)) throw fails(prefix, r.error);
      broken.add(f);
    }
  }
  if (broken.size === 0) return r.data;
  for (const f of broken) {
    if (accepted.has(f)) values[f] = accepted.get(f);
    else delete values[f];
  }
  r = schema.safeParse(values);
  if (!r.success) throw fails(prefix, r.error);
  return r.data;
}

function fails(prefix: string, error: z.ZodError): Error {
  return invalid(`config ${prefix} fails its schema: ${z.prettifyError(error)}`, error.issues);
}
