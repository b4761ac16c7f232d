// The replicated state machine of the simulation: a few string keys with put / cas, plus
// the set of applied operation ids, which makes application idempotent (a proposal
// duplicated by the network is appended twice but takes effect once).

export type KvCommand =
  | { readonly op: number; readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly op: number; readonly kind: 'cas'; readonly key: string; readonly from: string; readonly to: string };

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeCommand(c: KvCommand): Uint8Array {
  return enc.encode(JSON.stringify(c));
}

export function decodeCommand(b: Uint8Array): KvCommand {
  return JSON.parse(dec.decode(b)) as KvCommand;
}

export class KvStateMachine {
  private readonly values = new Map<string, string>();
  private readonly appliedOps = new Set<number>();

  get(key: string): string {
    return this.values.get(key) ?? '';
  }

  /** Applies a command; returns its output (cas: swapped?), or undefined for a duplicate. */
  apply(c: KvCommand): boolean | undefined {
    if (this.appliedOps.has(c.op)) return undefined;
    this.appliedOps.add(c.op);
    if (c.kind === 'put') {
      this.values.set(c.key, c.value);
      return true;
    }
    if (this.get(c.key) !== c.from) return false;
    this.values.set(c.key, c.to);
    return true;
  }

  snapshot(): Uint8Array {
    const values = [...this.values.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const ops = [...this.appliedOps].sort((a, b) => a - b);
    return enc.encode(JSON.stringify({ values, ops }));
  }

  static restore(data: Uint8Array): KvStateMachine {
    const sm = new KvStateMachine();
    if (data.length === 0) return sm;
    const o = JSON.parse(dec.decode(data)) as { values: [string, string][]; ops: number[] };
    for (const [k, v] of o.values) sm.values.set(k, v);
    for (const op of o.ops) sm.appliedOps.add(op);
    return sm;
  }
}
