/**
 * What the `cairnctl config ...` commands print, as pure functions of plain data so that each
 * format can be checked as a golden string. Formats: simple (default), json, table; a command
 * that has no table (diff, and the one-line results) prints simple for it.
 *
 *   $ cairnctl config get config/prod/            $ cairnctl config history config/prod/ greeting
 *   greeting = "hello"                            12 "hi"
 *   limits = {"rps":100,"burst":20}               5 "hello"
 */
import { renderTable } from './table.js';
import { writeJson, type Json } from './json.js';

export type ConfigFormat = 'simple' | 'json' | 'table';

export interface FieldRow {
  readonly field: string;
  /** The stored text (JSON unless someone wrote otherwise). */
  readonly value: string;
  readonly modRevision: bigint;
  readonly version: bigint;
}

export interface VersionRow {
  readonly revision: bigint;
  readonly version: bigint;
  readonly value: string;
}

export interface RolloutView {
  readonly id: bigint;
  readonly step: string;
  readonly revision: bigint;
  readonly target: string;
  readonly values: Readonly<Record<string, unknown>>;
}

export interface ReportRow {
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly running: string;
  readonly rollout: string | null;
  readonly revision: string;
  readonly error?: string;
}

/** A stored value as JSON data for -w json; text that is not JSON stays a string under `raw`. */
function jsonValue(text: string): { value?: Json; raw?: string } {
  try {
    return { value: JSON.parse(text) as Json };
  } catch {
    return { raw: text };
  }
}

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ');

const labelsText = (labels: Readonly<Record<string, string>>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

export function printFields(format: ConfigFormat, prefix: string, revision: bigint, rows: readonly FieldRow[]): string {
  if (format === 'json') {
    const fields = rows.map((r) => ({ field: r.field, ...jsonValue(r.value), mod_revision: r.modRevision, version: r.version }));
    return `${writeJson({ prefix, revision, fields })}\n`;
  }
  if (format === 'table') return renderTable(['FIELD', 'VALUE', 'MOD REVISION', 'VERSION'], rows.map((r) => [r.field, r.value, String(r.modRevision), String(r.version)]));
  return rows.map((r) => `${r.field} = ${r.value}\n`).join('');
}

export function printSet(format: ConfigFormat, prefix: string, field: string, revision: bigint): string {
  if (format === 'json') return `${writeJson({ prefix, field, revision })}\n`;
  return `set ${field} at revision ${revision}\n`;
}

export function printHistory(format: ConfigFormat, field: string, rows: readonly VersionRow[]): string {
  if (format === 'json') return `${writeJson({ field, versions: rows.map((r) => ({ revision: r.revision, version: r.version, ...jsonValue(r.value) })) })}\n`;
  if (format === 'table') return renderTable(['REVISION', 'VERSION', 'VALUE'], rows.map((r) => [String(r.revision), String(r.version), r.value]));
  return rows.map((r) => `${r.revision} ${r.value}\n`).join('');
}

/** A value as lines to compare: JSON pretty-printed two spaces deep, other text as it is. */
function linesOf(text: string): string[] {
  try {
    return JSON.stringify(JSON.parse(text), null, 2).split('\n');
  } catch {
    return text.split('\n');
  }
}

/** Most lines diffed line by line; longer values are shown whole, old then new. */
export const MAX_DIFF_LINES = 2000;

/** A line diff (longest common subsequence): `' '` kept, `-` only in a, `+` only in b. */
export function diffLines(a: readonly string[], b: readonly string[]): string[] {
  if (a.length > MAX_DIFF_LINES || b.length > MAX_DIFF_LINES) return [...a.map((l) => `-${l}`), ...b.map((l) => `+${l}`)];
  // lcs[i][j]: the length of the longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push(` ${a[i]!}`);
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) out.push(`-${a[i++]!}`);
    else out.push(`+${b[j++]!}`);
  }
  while (i < a.length) out.push(`-${a[i++]!}`);
  while (j < b.length) out.push(`+${b[j++]!}`);
  return out;
}

/** `undefined`: the field did not exist at that revision. */
export function printDiff(format: ConfigFormat, field: string, from: { revision: bigint; value: string | undefined }, to: { revision: bigint; value: string | undefined }): string {
  if (format === 'json') {
    const side = (s: { revision: bigint; value: string | undefined }): Json => ({ revision: s.revision, exists: s.value !== undefined, ...(s.value === undefined ? {} : jsonValue(s.value)) });
    return `${writeJson({ field, from: side(from), to: side(to), changed: from.value !== to.value })}\n`;
  }
  const head = (mark: string, s: { revision: bigint; value: string | undefined }): string => `${mark} ${field}@${s.revision}${s.value === undefined ? ' (absent)' : ''}\n`;
  const body = diffLines(from.value === undefined ? [] : linesOf(from.value), to.value === undefined ? [] : linesOf(to.value));
  return head('---', from) + head('+++', to) + body.map((l) => `${l}\n`).join('');
}

export function printRollback(format: ConfigFormat, field: string, fromRevision: bigint, revision: bigint): string {
  if (format === 'json') return `${writeJson({ field, restored_from: fromRevision, revision })}\n`;
  return `rolled ${field} back to its value at revision ${fromRevision}, as revision ${revision}\n`;
}

const valuesText = (values: Readonly<Record<string, unknown>>): string =>
  Object.entries(values)
    .map(([f, v]) => `${f} = ${JSON.stringify(v)}`)
    .join(', ');

export function printRolloutStep(format: ConfigFormat, step: 'started' | 'promoted' | 'aborted', id: bigint, revision: bigint, detail?: { target: string; values: Readonly<Record<string, unknown>> }): string {
  if (format === 'json') return `${writeJson({ rollout: id, step, revision })}\n`;
  if (step === 'started') return `rollout ${id} started: ${valuesText(detail!.values)} on ${detail!.target}\n`;
  return `rollout ${id} ${step} at revision ${revision}\n`;
}

export function printRolloutStatus(format: ConfigFormat, rollout: RolloutView | undefined, instances: readonly ReportRow[]): string {
  if (format === 'json') {
    const r: Json =
      rollout === undefined
        ? null
        : { id: rollout.id, step: rollout.step, revision: rollout.revision, target: rollout.target, values: rollout.values as Json };
    const list = instances.map((i) => ({ id: i.id, labels: i.labels, running: i.running, rollout: i.rollout, revision: i.revision, error: i.error }));
    return `${writeJson({ rollout: r, instances: list })}\n`;
  }
  const head =
    rollout === undefined
      ? 'no rollout\n'
      : `rollout ${rollout.id} ${rollout.step}${rollout.step === 'started' ? '' : ` at revision ${rollout.revision}`}: ${valuesText(rollout.values)} on ${rollout.target}\n`;
  const on = instances.filter((i) => i.running === 'candidate').length;
  const count = `${on} of ${instances.length} instances run the candidate\n`;
  if (format === 'table') {
    const rows = instances.map((i) => [i.id, labelsText(i.labels), i.running, i.rollout ?? '', i.revision, oneLine(i.error ?? '')]);
    return head + count + renderTable(['INSTANCE', 'LABELS', 'RUNNING', 'ROLLOUT', 'REVISION', 'ERROR'], rows);
  }
  const lines = instances.map((i) => `${i.id}: ${i.running === 'candidate' ? `candidate of rollout ${i.rollout}` : 'base'}, revision ${i.revision}${i.error === undefined ? '' : ` (${oneLine(i.error)})`}\n`);
  return head + count + lines.join('');
}
