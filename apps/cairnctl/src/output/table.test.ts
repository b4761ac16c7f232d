import { describe, expect, it } from 'vitest';
import { goQuote } from './goquote.js';
import { humanBytes, renderTable } from './table.js';

describe('renderTable', () => {
  it('centres headers (odd padding to the right) and right-aligns cells', () => {
    expect(renderTable(['KEY', 'VALUE'], [['foo', 'bar'], ['longer-key', 'v']])).toBe(
      [
        '+------------+-------+',
        '|    KEY     | VALUE |',
        '+------------+-------+',
        '|        foo |   bar |',
        '| longer-key |     v |',
        '+------------+-------+',
        '',
      ].join('\n'),
    );
  });

  it('prints a header-only table for no rows', () => {
    expect(renderTable(['A'], [])).toBe('+---+\n| A |\n+---+\n+---+\n');
  });

  it('measures width in characters, not UTF-16 units or bytes', () => {
    expect(renderTable(['K'], [['µ😀']])).toBe('+----+\n| K  |\n+----+\n| µ😀 |\n+----+\n');
  });
});

describe('humanBytes (go-humanize Bytes)', () => {
  it.each([
    [0, '0 B'],
    [9, '9 B'],
    [10, '10 B'],
    [999, '999 B'],
    [1000, '1.0 kB'],
    [8376, '8.4 kB'],
    [20480, '20 kB'],
    [21500, '22 kB'],
    [20500, '20 kB'],
    [1_500_000, '1.5 MB'],
    [123_456_789, '124 MB'],
    [122_456_789, '122 MB'],
  ])('%d -> %s', (n, text) => {
    expect(humanBytes(n)).toBe(text);
  });
});

describe('goQuote (Go %q)', () => {
  const b = (...x: number[]) => new Uint8Array(x);
  it.each<[Uint8Array | string, string]>([
    ['foo', '"foo"'],
    ['say "hi"\\', '"say \\"hi\\"\\\\"'],
    ['a\tb\nc', '"a\\tb\\nc"'],
    ['héllo 日本', '"héllo 日本"'],
    [b(0x00, 0x7f, 0x1b), '"\\x00\\x7f\\x1b"'],
    [b(0xff, 0x66), '"\\xff\\x66"'.replace('\\x66', 'f')],
    ['\u200b', '"\\u200b"'],
  ])('%j -> %s', (input, out) => {
    expect(goQuote(input)).toBe(out);
  });
});
