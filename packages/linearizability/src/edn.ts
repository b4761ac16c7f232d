/**
 * A small reader for the EDN subset that Jepsen-style histories use: maps, vectors, lists,
 * sets, strings, keywords, symbols, numbers, nil, booleans, comments and `#_` discards.
 */

export class Keyword {
  constructor(readonly name: string) {}
  toString(): string {
    return `:${this.name}`;
  }
}

export class EdnSymbol {
  constructor(readonly name: string) {}
  toString(): string {
    return this.name;
  }
}

export interface EdnMap {
  readonly kind: 'map';
  readonly entries: readonly (readonly [Edn, Edn])[];
}

export interface EdnSet {
  readonly kind: 'set';
  readonly items: readonly Edn[];
}

export type Edn =
  null | boolean | number | string | Keyword | EdnSymbol | EdnMap | EdnSet | readonly Edn[];

/** The value under keyword `:name` in an EDN map, `undefined` if absent. */
export function ednGet(map: EdnMap, name: string): Edn | undefined {
  for (const [k, v] of map.entries) if (k instanceof Keyword && k.name === name) return v;
  return undefined;
}

export function isEdnMap(v: Edn | undefined): v is EdnMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && (v as EdnMap).kind === 'map';
}

const DELIMS = new Set(['{', '}', '[', ']', '(', ')', '"', ';']);

function isSpace(c: string): boolean {
  return c === ' ' || c === ',' || c === '\t' || c === '\n' || c === '\r' || c === '\f';
}

export class EdnError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`EDN line ${line}: ${message}`);
    this.name = 'EdnError';
  }
}

/** Reads the top-level forms of `text` one after another, each with the line it started on. */
export function* readEdnForms(
  text: string,
): Generator<{ readonly value: Edn; readonly line: number }> {
  let pos = 0;
  let line = 1;

  const fail = (msg: string): never => {
    throw new EdnError(msg, line);
  };

  const skip = (): void => {
    for (;;) {
      while (pos < text.length && isSpace(text[pos]!)) {
        if (text[pos] === '\n') line++;
        pos++;
      }
      if (text[pos] === ';') {
        while (pos < text.length && text[pos] !== '\n') pos++;
        continue;
      }
      if (text.startsWith('#_', pos)) {
        pos += 2;
        read();
        continue;
      }
      return;
    }
  };

  const readSeq = (close: string): Edn[] => {
    const items: Edn[] = [];
    for (;;) {
      skip();
      if (pos >= text.length) fail(`unterminated collection, expected '${close}'`);
      if (text[pos] === close) {
        pos++;
        return items;
      }
      items.push(read());
    }
  };

  const readString = (): string => {
    pos++; // opening quote
    let out = '';
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const c = text[pos++]!;
      if (c === '"') return out;
      if (c === '\n') line++;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[pos++] ?? '';
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'u': {
          const hex = text.slice(pos, pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail(`bad unicode escape \\u${hex}`);
          out += String.fromCharCode(parseInt(hex, 16));
          pos += 4;
          break;
        }
        default:
          fail(`bad escape \\${e}`);
      }
    }
  };

  const readToken = (): string => {
    const start = pos;
    while (pos < text.length && !isSpace(text[pos]!) && !DELIMS.has(text[pos]!)) pos++;
    return text.slice(start, pos);
  };

  function read(): Edn {
    skip();
    if (pos >= text.length) fail('unexpected end of input');
    const c = text[pos]!;
    switch (c) {
      case '{': {
        pos++;
        const items = readSeq('}');
        if (items.length % 2 !== 0) fail('map with an odd number of forms');
        const entries: (readonly [Edn, Edn])[] = [];
        for (let i = 0; i < items.length; i += 2) entries.push([items[i]!, items[i + 1]!]);
        return { kind: 'map', entries };
      }
      case '[':
        pos++;
        return readSeq(']');
      case '(':
        pos++;
        return readSeq(')');
      case '"':
        return readString();
      case '}':
      case ']':
      case ')':
        return fail(`unexpected '${c}'`);
      case '#':
        if (text[pos + 1] === '{') {
          pos += 2;
          return { kind: 'set', items: readSeq('}') };
        }
        return fail('unsupported dispatch form');
      case '\\': {
        pos++;
        const tok = readToken();
        const named: Record<string, string> = {
          newline: '\n',
          space: ' ',
          tab: '\t',
          return: '\r',
        };
        return (
          named[tok] ?? (tok.length > 0 ? tok : (text[pos++] ?? fail('bad character literal')))
        );
      }
      default: {
        const tok = readToken();
        if (tok.length === 0) return fail(`unexpected '${c}'`);
        if (tok[0] === ':') return new Keyword(tok.slice(1));
        if (tok === 'nil') return null;
        if (tok === 'true') return true;
        if (tok === 'false') return false;
        if (/^[+-]?\d/.test(tok)) {
          const num = Number(tok.replace(/[NM]$/, ''));
          if (Number.isNaN(num)) fail(`bad number ${tok}`);
          return num;
        }
        return new EdnSymbol(tok);
      }
    }
  }

  for (;;) {
    skip();
    if (pos >= text.length) return;
    const at = line;
    yield { value: read(), line: at };
  }
}
