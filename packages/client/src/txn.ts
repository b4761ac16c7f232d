import {
  CairnError,
  ErrorCode,
  toBytes,
  type BytesLike,
  type Compare,
  type CompareResult,
  type RequestOp,
  type TxnRequest,
  type TxnResponse,
} from '@cairn/protocol';
import type { CallOptions } from './transport.js';
import {
  resolveKeyRange,
  toDeleteRequest,
  toInt64,
  toPutRequest,
  toRangeRequest,
  type DeleteOptions,
  type Int64Like,
  type KeyRange,
  type RangeQuery,
  type ReadOptions,
  type WriteOptions,
} from './options.js';

/** A comparison operator, as written in etcdctl's txn scripts. */
export type CompareOperator = '=' | '==' | '!=' | '<' | '>';

const results: Readonly<Record<CompareOperator, CompareResult>> = {
  '=': 'equal',
  '==': 'equal',
  '!=': 'not_equal',
  '<': 'less',
  '>': 'greater',
};

function resultOf(operator: CompareOperator): CompareResult {
  const r = results[operator] as CompareResult | undefined;
  if (r === undefined) throw new CairnError(ErrorCode.InvalidArgument, `unknown comparison operator ${JSON.stringify(operator)}`);
  return r;
}

function numeric(
  target: 'version' | 'create' | 'mod' | 'lease',
  key: BytesLike,
  operator: CompareOperator,
  value: Int64Like,
  range: KeyRange,
): Compare {
  return { ...resolveKeyRange(key, range), target, result: resultOf(operator), value: toInt64(value, target) };
}

/**
 * Guards of a transaction. Each compares one attribute of `key` (or of every key in a range)
 * with a value; a key that does not exist has version, create and mod revision 0 and no value.
 *
 *   compare.value('config', '=', 'v1')
 *   compare.version('lock', '=', 0)        // the key does not exist
 *   compare.mod('config', '<', 42n)
 */
export const compare = {
  value(key: BytesLike, operator: CompareOperator, value: BytesLike, range: KeyRange = {}): Compare {
    return { ...resolveKeyRange(key, range), target: 'value', result: resultOf(operator), value: toBytes(value) };
  },
  /** Number of puts since the key was created. */
  version(key: BytesLike, operator: CompareOperator, value: Int64Like, range: KeyRange = {}): Compare {
    return numeric('version', key, operator, value, range);
  },
  /** The key's create revision. */
  create(key: BytesLike, operator: CompareOperator, value: Int64Like, range: KeyRange = {}): Compare {
    return numeric('create', key, operator, value, range);
  },
  /** The key's last modification revision. */
  mod(key: BytesLike, operator: CompareOperator, value: Int64Like, range: KeyRange = {}): Compare {
    return numeric('mod', key, operator, value, range);
  },
  /** The key's lease id (0: none). */
  lease(key: BytesLike, operator: CompareOperator, value: Int64Like, range: KeyRange = {}): Compare {
    return numeric('lease', key, operator, value, range);
  },
} as const;

/** Operations of a transaction's branches. */
export const op = {
  get(key: BytesLike, options: ReadOptions = {}): RequestOp {
    return { range: toRangeRequest(key, options) };
  },
  range(query: RangeQuery): RequestOp {
    return { range: toRangeRequest(query.key, query) };
  },
  put(key: BytesLike, value: BytesLike, options: WriteOptions = {}): RequestOp {
    return { put: toPutRequest(key, value, options) };
  },
  delete(key: BytesLike, options: DeleteOptions = {}): RequestOp {
    return { deleteRange: toDeleteRequest(key, options) };
  },
  /** A nested transaction. */
  txn(txn: TxnBuilder | TxnRequest): RequestOp {
    return { txn: txn instanceof TxnBuilder ? txn.build() : txn };
  },
} as const;

/**
 * An atomic transaction: if every compare holds, the `then` operations run, otherwise the
 * `else` ones, all in one revision.
 *
 *   const res = await client
 *     .txn()
 *     .if(compare.value('config', '=', 'v1'))
 *     .then(op.put('config', 'v2'))
 *     .else(op.get('config'))
 *     .commit();
 *
 * The builder is not a promise: `await` it without `.commit()` and it rejects, saying so.
 */
export class TxnBuilder {
  private readonly compares: Compare[] = [];
  private readonly success: RequestOp[] = [];
  private readonly failure: RequestOp[] = [];
  private readonly run: ((req: TxnRequest, options: CallOptions) => Promise<TxnResponse>) | undefined;

  constructor(run?: (req: TxnRequest, options: CallOptions) => Promise<TxnResponse>) {
    this.run = run;
  }

  if(...compares: Compare[]): this {
    this.compares.push(...compares);
    return this;
  }

  then(...ops: RequestOp[]): this {
    // `await builder` calls then(resolve, reject): answer with a clear error instead of hanging.
    if (typeof (ops[1] as unknown) === 'function') {
      (ops[1] as unknown as (e: Error) => void)(
        new CairnError(ErrorCode.InvalidArgument, 'a transaction builder is not a promise: call .commit() to run it'),
      );
      return this;
    }
    this.success.push(...ops);
    return this;
  }

  else(...ops: RequestOp[]): this {
    this.failure.push(...ops);
    return this;
  }

  build(): TxnRequest {
    return { compare: [...this.compares], success: [...this.success], failure: [...this.failure] };
  }

  commit(options: CallOptions = {}): Promise<TxnResponse> {
    if (this.run === undefined) {
      return Promise.reject(new CairnError(ErrorCode.InvalidArgument, 'this transaction is not bound to a client'));
    }
    return this.run(this.build(), options);
  }
}
