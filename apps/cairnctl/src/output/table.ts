/**
 * The ASCII tables etcdctl prints with olekukonko/tablewriter and ALIGN_RIGHT: headers
 * centred (odd padding goes right), cells right-aligned, one space of margin, `+`/`-`/`|` borders.
 *
 *   +-----+-------+
 *   | KEY | VALUE |
 *   +-----+-------+
 *   | foo |   bar |
 *   +-----+-------+
 */
const width = (s: string): number => [...s].length;

export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const centre = (s: string, w: number): string => {
    const pad = w - width(s);
    const left = Math.floor(pad / 2);
    return ' '.repeat(left) + s + ' '.repeat(pad - left);
  };
  const right = (s: string, w: number): string => ' '.repeat(w - width(s)) + s;
  const line = (cells: readonly string[], align: (s: string, w: number) => string): string =>
    `| ${widths.map((w, i) => align(cells[i] ?? '', w)).join(' | ')} |`;
  const out = [rule, line(header, centre), rule, ...rows.map((r) => line(r, right)), rule];
  return `${out.join('\n')}\n`;
}

/**
 * go-humanize's Bytes (SI units, as etcdctl's DB SIZE column): `20 kB`, `1.5 MB`, `7 B`.
 * Rounds to one decimal, prints it only below 10, and ties to even like Go's %.0f.
 */
export function humanBytes(n: bigint | number): string {
  const s = Number(n);
  if (s < 10) return `${s} B`;
  const sizes = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.min(Math.floor(Math.log(s) / Math.log(1000)), sizes.length - 1);
  const val = Math.floor((s / 1000 ** e) * 10 + 0.5) / 10;
  let text: string;
  if (val < 10) {
    text = val.toFixed(1);
  } else {
    const floor = Math.floor(val);
    const rounded = val - floor === 0.5 ? (floor % 2 === 0 ? floor : floor + 1) : Math.round(val);
    text = String(rounded);
  }
  return `${text} ${sizes[e]}`;
}
