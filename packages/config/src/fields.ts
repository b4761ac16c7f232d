import { CairnError, ErrorCode, bytesToString, type KeyValue } from '@cairn/client';

/** The field a key stands for under `prefix`, or undefined if it is not a field key. */
export function fieldOf(prefix: string, kv: KeyValue): string | undefined {
  const key = bytesToString(kv.key);
  if (!key.startsWith(prefix)) return undefined;
  const field = key.slice(prefix.length);
  return field === '' || field.includes('/') ? undefined : field;
}

/** A field's stored JSON; `invalid_config` naming the key if it is not JSON. */
export function parseField(prefix: string, kv: KeyValue): unknown {
  const text = bytesToString(kv.value);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalid(`config ${prefix}: ${bytesToString(kv.key)} is not JSON: ${JSON.stringify(text.slice(0, 80))}`, []);
  }
}

export function invalid(message: string, issues: readonly unknown[]): CairnError {
  return new CairnError(ErrorCode.InvalidConfig, message, { issues });
}

/** `config/prod` -> `config/prod/`. */
export function normalisePrefix(prefix: string): string {
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

/** A field name usable as a key below a prefix: not empty, no `/`, not starting with `.` (reserved). */
export function checkField(field: string): string {
  if (field === '' || field.includes('/') || field.startsWith('.')) {
    throw new CairnError(ErrorCode.InvalidArgument, `bad config field name ${JSON.stringify(field)} (not empty, no "/", not starting with ".")`);
  }
  return field;
}
