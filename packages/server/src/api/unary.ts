import type { Decoder, RequestDescriptor } from '@cairn/protocol';
import type { Caller } from '../auth/authorizer.js';

/** Runs one decoded-but-unchecked request for a caller; resolves with the result or rejects. */
export type UnaryHandler = (params: unknown, caller: Caller) => Promise<unknown>;

/**
 * One table entry: a protocol descriptor, its params decoder, and the code that runs it.
 * `Res` ties the handler's result to the descriptor's response type.
 */
export function unary<Req, Res>(
  d: RequestDescriptor<Req, Res>,
  decode: Decoder<Req>,
  run: (req: Req, caller: Caller) => Promise<Res> | Res,
): [string, UnaryHandler] {
  // Absent params are an empty map, so parameterless methods need not send one.
  return [d.method, async (params, caller) => run(decode(params ?? {}, ''), caller)];
}

