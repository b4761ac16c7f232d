import type { Model, Operation } from './types.js';

// ---------------------------------------------------------------------------------------------
// Single register
// ---------------------------------------------------------------------------------------------

/** What a register can hold. `null` is the initial value (never written; Jepsen's `nil`). */
export type RegisterValue = string | number | null;

export type RegisterInput =
  | { readonly kind: 'read' }
  | { readonly kind: 'write'; readonly value: RegisterValue }
  | { readonly kind: 'cas'; readonly from: RegisterValue; readonly to: RegisterValue };

/**
 * read: the value read. write: ignored (leave it out). cas: `true` if it swapped, `false` if
 * the comparison failed (a cas that certainly did nothing can also simply be left out).
 */
export type RegisterOutput = RegisterValue | boolean;

function sameValue(a: RegisterValue, b: RegisterValue): boolean {
  return a === b;
}

function registerKey(v: RegisterValue): string {
  if (v === null) return 'n';
  return typeof v === 'number' ? `d${v}` : `s${v}`;
}

function showValue(v: RegisterValue | boolean): string {
  return v === null ? 'nil' : typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** One register, initially `null`: read / write / compare-and-set. */
export const registerModel: Model<RegisterValue, RegisterInput, RegisterOutput> = {
  init: () => null,
  step(state, input, output) {
    switch (input.kind) {
      case 'read':
        if (output === undefined) return state;
        if (typeof output === 'boolean')
          throw new TypeError('registerModel: a read returns a value, not a boolean');
        return sameValue(output, state) ? state : undefined;
      case 'write':
        return input.value;
      case 'cas': {
        const matches = sameValue(state, input.from);
        if (output === undefined) return matches ? input.to : state;
        if (typeof output !== 'boolean')
          throw new TypeError('registerModel: a cas returns a boolean (true = swapped)');
        if (output !== matches) return undefined;
        return matches ? input.to : state;
      }
    }
  },
  key: registerKey,
  readOnly: (input) => input.kind === 'read',
  describe(input, output) {
    switch (input.kind) {
      case 'read':
        return `read -> ${output === undefined ? '?' : showValue(output)}`;
      case 'write':
        return `write ${showValue(input.value)}`;
      case 'cas':
        return `cas ${showValue(input.from)} -> ${showValue(input.to)}: ${output === undefined ? '?' : output === true ? 'ok' : 'failed'}`;
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Key-value map with independent keys
// ---------------------------------------------------------------------------------------------

/**
 * Every key starts as `""`; a missing key reads as `""` (so `delete` sets it back to `""`).
 * append concatenates. cas compares the whole value.
 */
export type KvInput =
  | { readonly kind: 'get'; readonly key: string }
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly kind: 'append'; readonly key: string; readonly value: string }
  | { readonly kind: 'delete'; readonly key: string }
  | { readonly kind: 'cas'; readonly key: string; readonly from: string; readonly to: string };

/** get: the value read. put / append / delete: ignored (leave it out). cas: `true` if it swapped. */
export type KvOutput = string | boolean | null;

/**
 * Many independent keys. The state is the value of a single key: the model relies on
 * `partition` (which `checkHistory` always applies) to give it one key's operations at a time.
 */
export const kvModel: Model<string, KvInput, KvOutput> = {
  init: () => '',
  step(state, input, output) {
    switch (input.kind) {
      case 'get':
        if (output === undefined) return state;
        if (typeof output === 'boolean')
          throw new TypeError('kvModel: a get returns a string, not a boolean');
        return (output ?? '') === state ? state : undefined;
      case 'put':
        return input.value;
      case 'append':
        return state + input.value;
      case 'delete':
        return '';
      case 'cas': {
        const matches = state === input.from;
        if (output === undefined) return matches ? input.to : state;
        if (typeof output !== 'boolean')
          throw new TypeError('kvModel: a cas returns a boolean (true = swapped)');
        if (output !== matches) return undefined;
        return matches ? input.to : state;
      }
    }
  },
  key: (state) => state,
  readOnly: (input) => input.kind === 'get',
  partition(ops) {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const op of ops) {
      let list = byKey.get(op.input.key);
      if (list === undefined) {
        list = [];
        byKey.set(op.input.key, list);
      }
      list.push(op);
    }
    return [...byKey.values()];
  },
  describe(input, output) {
    const k = JSON.stringify(input.key);
    const out = output === undefined ? '?' : output === null ? 'nil' : JSON.stringify(output);
    switch (input.kind) {
      case 'get':
        return `get ${k} -> ${out}`;
      case 'put':
        return `put ${k} ${JSON.stringify(input.value)}`;
      case 'append':
        return `append ${k} ${JSON.stringify(input.value)}`;
      case 'delete':
        return `delete ${k}`;
      case 'cas':
        return `cas ${k} ${JSON.stringify(input.from)} -> ${JSON.stringify(input.to)}: ${output === undefined ? '?' : output === true ? 'ok' : 'failed'}`;
    }
  },
};
