import { EdnError, Keyword, ednGet, isEdnMap, readEdnForms, type Edn } from './edn.js';
import type { KvInput, KvOutput, RegisterInput, RegisterOutput, RegisterValue } from './models.js';
import type { Operation } from './types.js';

/**
 * Parsers for Jepsen-style histories. Times are event positions (0, 1, 2, ... in file order),
 * which is all a linearizability check needs. Completions pair with the pending invocation of
 * the same process:
 * - `:ok`: the operation took effect and returned;
 * - `:fail`: it certainly did not take effect, and is dropped;
 * - `:info`: outcome unknown; `ret` is `Number.POSITIVE_INFINITY` and there is no output;
 * - an invocation that never completes (end of history, or the process invokes again) is
 *   treated like `:info`.
 * Events of keyword processes (e.g. `:nemesis`) are skipped. Anything else that cannot be read
 * is a `HistoryParseError` naming its line: nothing is dropped silently, and an input with
 * content that yields no operation at all is an error too.
 */

export class HistoryParseError extends Error {
  /**
   * @param line the 1-based line the problem is on; 0 when it is about the input as a whole
   * (e.g. an input that holds no operation at all).
   */
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(line > 0 ? `line ${line}: ${message}` : message);
    this.name = 'HistoryParseError';
  }
}

/**
 * An input with something in it must yield operations: a history read as empty would be
 * called linearizable whatever the input said.
 */
function nonEmpty<T>(ops: T[], text: string, what: string): T[] {
  if (ops.length === 0 && text.trim() !== '') throw new HistoryParseError(`no operations found: ${what}`, 0);
  return ops;
}

interface Pending<I> {
  readonly input: I;
  readonly call: number;
  readonly line: number;
}

/** Collects invocation / completion pairs into operations. */
class Pairing<I, O> {
  private readonly pending = new Map<number, Pending<I>>();
  private readonly ops: Operation<I, O>[] = [];
  private time = 0;

  invoke(client: number, input: I, line: number): void {
    const open = this.pending.get(client);
    if (open !== undefined) this.unknown(client, open);
    this.pending.set(client, { input, call: this.time++, line });
  }

  /** Returns the pending invocation of `client`, removed, with the completion's time. */
  complete(client: number, line: number): { readonly pending: Pending<I>; readonly ret: number } {
    const open = this.pending.get(client);
    if (open === undefined)
      throw new HistoryParseError(
        `completion for process ${client}, which has no pending invocation`,
        line,
      );
    this.pending.delete(client);
    return { pending: open, ret: this.time++ };
  }

  ok(client: number, p: Pending<I>, ret: number, output?: O): void {
    this.ops.push(
      output === undefined
        ? { client, input: p.input, call: p.call, ret }
        : { client, input: p.input, call: p.call, ret, output },
    );
  }

  unknown(client: number, p: Pending<I>): void {
    this.ops.push({ client, input: p.input, call: p.call, ret: Number.POSITIVE_INFINITY });
  }

  finish(): Operation<I, O>[] {
    for (const [client, p] of this.pending) this.unknown(client, p);
    this.pending.clear();
    return this.ops.sort((a, b) => a.call - b.call);
  }
}

// ---------------------------------------------------------------------------------------------
// Jepsen etcd register logs
// ---------------------------------------------------------------------------------------------

type JepsenValue = RegisterValue | { readonly keyword: string } | readonly JepsenValue[];

function parseJepsenValue(raw: string, line: number): JepsenValue {
  const s = raw.trim();
  if (s === 'nil' || s === '') return null;
  if (s.startsWith(':')) return { keyword: s.slice(1) };
  if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(s)) return Number(s);
  if (s.startsWith('"') && s.endsWith('"') && s.length >= 2) {
    try {
      return JSON.parse(s) as string;
    } catch {
      throw new HistoryParseError(`bad string ${s}`, line);
    }
  }
  if (s.startsWith('[') && s.endsWith(']')) {
    const inner = s.slice(1, -1).trim();
    return inner === '' ? [] : inner.split(/[\s,]+/).map((part) => parseJepsenValue(part, line));
  }
  return s;
}

function registerValue(v: JepsenValue, what: string, line: number): RegisterValue {
  if (v === null || typeof v === 'number' || typeof v === 'string') return v;
  throw new HistoryParseError(`${what}: expected a value, got ${JSON.stringify(v)}`, line);
}

/** `<process> :<type> :<f>` and the rest of the line as the value; fields split by spaces or tabs. */
const JEPSEN_EVENT = /^(\S+)\s+(\S+)\s+(\S+)(?:\s+(.*))?$/;

/**
 * Parses a Jepsen register log: `INFO  jepsen.util - <process> :<type> :<f> <value>`, the
 * fields separated by tabs or spaces, with f = read / write / cas and cas values `[old new]`.
 * Lines that are not `jepsen.util` lines (other loggers, stack traces, blank lines) are
 * skipped; a `jepsen.util` line that is not such an event is an error. A `:fail :read` (e.g.
 * `:timed-out`) is an unknown-outcome read.
 */
export function parseJepsenRegisterLog(text: string): Operation<RegisterInput, RegisterOutput>[] {
  const pairs = new Pairing<RegisterInput, RegisterOutput>();
  const lines = text.split('\n');
  let events = 0;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!.replace(/\r$/, '');
    const m = /jepsen\.util\s+-\s+(.*)$/.exec(raw);
    if (m === null) continue;
    const event = JEPSEN_EVENT.exec(m[1]!.trim());
    if (event === null) throw new HistoryParseError(`expected "<process> :<type> :<f> <value>", got ${JSON.stringify(m[1]!.trim())}`, lineNo);
    const [, proc, type, fn, value = ''] = event as unknown as [string, string, string, string, string | undefined];
    if (/^:[^\s]+$/.test(proc)) continue; // :nemesis and the like
    if (!/^\d+$/.test(proc)) throw new HistoryParseError(`the process must be a number or a keyword, got ${JSON.stringify(proc)}`, lineNo);
    events++;
    const client = Number(proc);
    const v = parseJepsenValue(value, lineNo);
    switch (type) {
      case ':invoke': {
        let input: RegisterInput;
        if (fn === ':read') input = { kind: 'read' };
        else if (fn === ':write')
          input = { kind: 'write', value: registerValue(v, 'write', lineNo) };
        else if (fn === ':cas') {
          if (!Array.isArray(v) || v.length !== 2)
            throw new HistoryParseError(`cas needs [old new], got ${value}`, lineNo);
          input = {
            kind: 'cas',
            from: registerValue(v[0]!, 'cas', lineNo),
            to: registerValue(v[1]!, 'cas', lineNo),
          };
        } else throw new HistoryParseError(`unknown operation ${fn}`, lineNo);
        pairs.invoke(client, input, lineNo);
        break;
      }
      case ':ok': {
        const { pending, ret } = pairs.complete(client, lineNo);
        const kind = pending.input.kind;
        if (kind === 'read')
          pairs.ok(client, pending, ret, registerValue(v, 'read result', lineNo));
        else if (kind === 'cas') pairs.ok(client, pending, ret, true);
        else pairs.ok(client, pending, ret);
        break;
      }
      case ':fail': {
        const { pending } = pairs.complete(client, lineNo);
        // A failed read changed nothing either way; record it as unknown, which constrains nothing.
        if (pending.input.kind === 'read') pairs.unknown(client, pending);
        break;
      }
      case ':info': {
        const { pending } = pairs.complete(client, lineNo);
        pairs.unknown(client, pending);
        break;
      }
      default:
        throw new HistoryParseError(`unknown event type ${type}`, lineNo);
    }
  }
  return nonEmpty(
    pairs.finish(),
    text,
    events === 0 ? 'no jepsen.util event of a client process (is this a Jepsen register log?)' : `every one of the ${events} events was a failed operation`,
  );
}

// ---------------------------------------------------------------------------------------------
// EDN key-value histories
// ---------------------------------------------------------------------------------------------

function ednString(v: Edn | undefined, what: string, line: number): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (v instanceof Keyword) return v.name;
  throw new HistoryParseError(`${what}: expected a string, got ${String(v)}`, line);
}

function keywordName(v: Edn | undefined, what: string, line: number): string {
  if (v instanceof Keyword) return v.name;
  throw new HistoryParseError(`${what}: expected a keyword, got ${String(v)}`, line);
}

/**
 * Parses a key-value history of EDN maps, one per operation event:
 * `{:process 0, :type :invoke, :f :append, :key "4", :value "x 0 1 y"}` with f = get / put /
 * append (and delete / cas, whose value is `[old new]`). A get that read `nil` read `""`.
 */
export function parseKvEdnHistory(text: string): Operation<KvInput, KvOutput>[] {
  const pairs = new Pairing<KvInput, KvOutput>();
  let events = 0;
  try {
    for (const { value: form, line } of readEdnForms(text)) {
      if (!isEdnMap(form)) throw new HistoryParseError('expected a map', line);
      const proc = ednGet(form, 'process');
      if (proc instanceof Keyword) continue; // :nemesis and the like
      if (typeof proc !== 'number' || !Number.isSafeInteger(proc)) throw new HistoryParseError(`:process must be a whole number or a keyword, got ${String(proc)}`, line);
      events++;
      const type = keywordName(ednGet(form, 'type'), ':type', line);
      const f = keywordName(ednGet(form, 'f'), ':f', line);
      const key = ednString(ednGet(form, 'key'), ':key', line);
      const value = ednGet(form, 'value');
      switch (type) {
        case 'invoke': {
          let input: KvInput;
          if (f === 'get' || f === 'read') input = { kind: 'get', key };
          else if (f === 'put' || f === 'write')
            input = { kind: 'put', key, value: ednString(value, ':value', line) };
          else if (f === 'append')
            input = { kind: 'append', key, value: ednString(value, ':value', line) };
          else if (f === 'delete') input = { kind: 'delete', key };
          else if (f === 'cas') {
            if (!Array.isArray(value) || value.length !== 2)
              throw new HistoryParseError('cas needs [old new]', line);
            input = {
              kind: 'cas',
              key,
              from: ednString(value[0], 'cas', line),
              to: ednString(value[1], 'cas', line),
            };
          } else throw new HistoryParseError(`unknown operation :${f}`, line);
          pairs.invoke(proc, input, line);
          break;
        }
        case 'ok': {
          const { pending, ret } = pairs.complete(proc, line);
          if (pending.input.kind === 'get')
            pairs.ok(
              proc,
              pending,
              ret,
              value === null || value === undefined ? '' : ednString(value, ':value', line),
            );
          else if (pending.input.kind === 'cas') pairs.ok(proc, pending, ret, true);
          else pairs.ok(proc, pending, ret);
          break;
        }
        case 'fail': {
          pairs.complete(proc, line);
          break;
        }
        case 'info': {
          const { pending } = pairs.complete(proc, line);
          pairs.unknown(proc, pending);
          break;
        }
        default:
          throw new HistoryParseError(`unknown :type :${type}`, line);
      }
    }
  } catch (e) {
    if (e instanceof EdnError) throw new HistoryParseError(e.message, e.line);
    throw e;
  }
  return nonEmpty(pairs.finish(), text, events === 0 ? 'no event map of a client process' : `every one of the ${events} events was a failed operation`);
}
