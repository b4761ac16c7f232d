import {
  Compact,
  DeleteRange,
  MemberList,
  Put,
  Range,
  Status,
  Txn,
  validate,
  type Decoder,
  type RequestDescriptor,
} from '@cairn/protocol';
import type { Member } from '../member.js';
import { checkKeyLimits, checkTxnLimits, type ApiLimits } from './limits.js';

/** Runs one decoded-but-unchecked request; resolves with the result or rejects. */
export type UnaryHandler = (params: unknown) => Promise<unknown>;

/**
 * One table entry: a protocol descriptor, its params decoder, and the code that runs it.
 * `Res` ties the handler's result to the descriptor's response type.
 */
function unary<Req, Res>(
  d: RequestDescriptor<Req, Res>,
  decode: Decoder<Req>,
  run: (req: Req) => Promise<Res> | Res,
): [string, UnaryHandler] {
  // Absent params are an empty map, so parameterless methods need not send one.
  return [d.method, async (params) => run(decode(params ?? {}, ''))];
}

/** The unary methods a single member serves, keyed by the descriptors' method names. */
export function unaryHandlers(member: Member, limits: ApiLimits): ReadonlyMap<string, UnaryHandler> {
  return new Map<string, UnaryHandler>([
    unary(Range, validate.rangeRequest, (req) => {
      checkKeyLimits(req.key, limits, req.rangeEnd);
      return member.range(req);
    }),
    unary(Put, validate.putRequest, (req) => {
      checkKeyLimits(req.key, limits);
      return member.propose({ put: req });
    }),
    unary(DeleteRange, validate.deleteRangeRequest, (req) => {
      checkKeyLimits(req.key, limits, req.rangeEnd);
      return member.propose({ deleteRange: req });
    }),
    unary(Txn, validate.txnRequest, (req) => {
      checkTxnLimits(req, limits);
      return member.propose({ txn: req });
    }),
    unary(Compact, validate.compactionRequest, (req) => member.propose({ compact: req })),
    unary(Status, validate.emptyRequest, () => member.status()),
    unary(MemberList, validate.memberListRequest, () => member.memberList()),
  ]);
}
