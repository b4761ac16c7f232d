// Numbers with units, relative times, value decoding and a line diff: the console's display
// helpers, free of any UI toolkit so they are easy to test.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number | bigint): string {
  let n = Number(bytes);
  let u = 0;
  while (n >= 1024 && u < UNITS.length - 1) {
    n /= 1024;
    u++;
  }
  return `${u === 0 ? n : n.toFixed(n < 10 ? 1 : 0)} ${UNITS[u]}`;
}

/** Elapsed time since `thenMs` as "3 s ago", "4 min ago", "2 h ago", "5 d ago". */
export function relativeTime(thenMs: number, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - thenMs) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** Seconds as "45 s", "3 min 20 s", "2 h 5 min". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export const hexId = (id: bigint): string => id.toString(16);

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The bytes as UTF-8 text, or undefined when they are not valid UTF-8. */
export function asText(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The bytes as pretty-printed JSON, or undefined when they are not JSON. */
export function asJson(bytes: Uint8Array): string | undefined {
  const text = asText(bytes);
  if (text === undefined) return undefined;
  try {
    return JSON.stringify(JSON.parse(text) as unknown, null, 2);
  } catch {
    return undefined;
  }
}

/** A hex dump: offset, 16 bytes in hex, their printable ASCII. */
export function hexDump(bytes: Uint8Array, maxBytes = 64 * 1024): string {
  const lines: string[] = [];
  const n = Math.min(bytes.length, maxBytes);
  for (let off = 0; off < n; off += 16) {
    const row = bytes.subarray(off, Math.min(off + 16, n));
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  if (bytes.length > n) lines.push(`… ${bytes.length - n} more bytes`);
  return lines.join('\n');
}

/** A short one-line preview of a value for tables. */
export function preview(bytes: Uint8Array, maxChars = 80): string {
  const text = asText(bytes);
  if (text === undefined) return `<${bytes.length} bytes binary>`;
  const one = text.replace(/\s+/g, ' ');
  return one.length > maxChars ? `${one.slice(0, maxChars)}…` : one;
}

export interface DiffLine {
  readonly op: ' ' | '+' | '-';
  readonly text: string;
}

/** Most lines a diff compares (its table is lines^2); longer values are diffed on a prefix. */
const MAX_DIFF_LINES = 2000;

/** A line diff from `before` to `after` (longest common subsequence). */
export function lineDiff(before: string, after: string): DiffLine[] {
  const a = before.split('\n').slice(0, MAX_DIFF_LINES);
  const b = after.split('\n').slice(0, MAX_DIFF_LINES);
  // lcs[i][j]: length of the LCS of a[i..] and b[j..].
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push({ op: ' ', text: a[i]! });
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) out.push({ op: '-', text: a[i++]! });
    else out.push({ op: '+', text: b[j++]! });
  }
  while (i < a.length) out.push({ op: '-', text: a[i++]! });
  while (j < b.length) out.push({ op: '+', text: b[j++]! });
  return out;
}

export interface TreeNode {
  /** The full prefix of this node (ends with '/' for a folder). */
  readonly path: string;
  readonly name: string;
  /** Keys at or under this node. */
  count: number;
  /** Whether a key with exactly this name exists. */
  isKey: boolean;
  readonly children: Map<string, TreeNode>;
}

/** Builds a tree of keys split on '/': "a/b/c" is a/ -> b/ -> c. */
export function keyTree(keys: readonly string[], root = ''): TreeNode {
  const top: TreeNode = { path: root, name: root === '' ? '(all keys)' : root, count: 0, isKey: false, children: new Map() };
  for (const key of keys) {
    top.count++;
    const rest = key.slice(root.length);
    const parts = rest.split('/');
    let node = top;
    let path = root;
    for (let i = 0; i < parts.length; i++) {
      const last = i === parts.length - 1;
      const name = last ? parts[i]! : `${parts[i]!}/`;
      path += name;
      if (last && name === '') {
        node.isKey = true;
        break;
      }
      let child = node.children.get(name);
      if (child === undefined) node.children.set(name, (child = { path, name, count: 0, isKey: false, children: new Map() }));
      child.count++;
      if (last) child.isKey = true;
      node = child;
    }
  }
  return top;
}
