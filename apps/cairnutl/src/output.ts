import type { OfflineHashKv, RestoreResult, SnapshotStatus } from '@cairn/server';

/** The output formats of `-w` (etcdutl's, minus protobuf). */
export const FORMATS = ['simple', 'table', 'json', 'fields'] as const;
export type Format = (typeof FORMATS)[number];

/**
 * etcdctl's tables (olekukonko/tablewriter, ALIGN_RIGHT): headers centred (odd padding goes
 * right), cells right-aligned, one space of margin, `+`/`-`/`|` borders.
 */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const centre = (s: string, w: number): string => {
    const left = Math.floor((w - s.length) / 2);
    return ' '.repeat(left) + s + ' '.repeat(w - s.length - left);
  };
  const right = (s: string, w: number): string => s.padStart(w);
  const line = (cells: readonly string[], align: (s: string, w: number) => string): string => `| ${widths.map((w, i) => align(cells[i] ?? '', w)).join(' | ')} |`;
  return `${[rule, line(header, centre), rule, ...rows.map((r) => line(r, right)), rule].join('\n')}\n`;
}

/**
 * go-humanize's Bytes, as etcdctl prints TOTAL SIZE: SI units, one decimal below 10 (`1.5 MB`),
 * none from 10 on (`20 kB`, halves to even as Go's %.0f does), plain bytes below 10.
 */
export function humanBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.min(Math.floor(Math.log(n) / Math.log(1000)), units.length - 1);
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  if (val < 10) return `${val.toFixed(1)} ${units[e]}`;
  const floor = Math.floor(val);
  const whole = val - floor === 0.5 ? (floor % 2 === 0 ? floor : floor + 1) : Math.round(val);
  return `${whole} ${units[e]}`;
}

/** `snapshot status`, shaped like etcdctl 3.4's (hash in hex, as Go's %x). */
export function formatStatus(s: SnapshotStatus, format: Format): string {
  const cells = [s.hash.toString(16), String(s.revision), String(s.totalKey), humanBytes(s.totalSize)];
  switch (format) {
    case 'simple':
      return `${cells.join(', ')}\n`;
    case 'table':
      return renderTable(['HASH', 'REVISION', 'TOTAL KEYS', 'TOTAL SIZE'], [cells]);
    case 'json':
      return `{"hash":${s.hash},"revision":${s.revision},"totalKey":${s.totalKey},"totalSize":${s.totalSize}}\n`;
    case 'fields':
      return `"Hash" : ${s.hash}\n"Revision" : ${s.revision}\n"Keys" : ${s.totalKey}\n"Size" : ${s.totalSize}\n`;
  }
}

/** `hashkv`, shaped like etcdutl's (hash, hash revision, compact revision). */
export function formatHashKv(h: OfflineHashKv, format: Format): string {
  const cells = [String(h.hash), String(h.hashRevision), String(h.compactRevision)];
  switch (format) {
    case 'simple':
      return `${cells.join(', ')}\n`;
    case 'table':
      return renderTable(['HASH', 'HASH REVISION', 'COMPACT REVISION'], [cells]);
    case 'json':
      return `{"hash":${h.hash},"hashRevision":${h.hashRevision},"compactRevision":${h.compactRevision}}\n`;
    case 'fields':
      return `"Hash" : ${h.hash}\n"HashRevision" : ${h.hashRevision}\n"CompactRevision" : ${h.compactRevision}\n`;
  }
}

/** What `snapshot restore` says it did. */
export function formatRestore(file: string, dataDir: string, r: RestoreResult, ms: number): string {
  const members = r.members.map((m) => `${m.name}=${m.id.toString(16)}`).join(',');
  return (
    `restored snapshot ${file} into ${dataDir} in ${ms} ms\n` +
    `cluster ${r.clusterId.toString(16)}, member ${r.memberId.toString(16)}, members ${members}\n` +
    `revision ${r.revision}, compact revision ${r.compactRevision}, ${r.rows} rows\n`
  );
}
