import type { ServerDuplexStream, ServerWritableStream } from '@grpc/grpc-js';
import { CairnError, ErrorCode, toCairnError } from '@cairn/protocol';
import type { Caller } from '../auth/authorizer.js';
import type { StreamSession } from '../api/streams.js';
import { bufferedBytes, type GrpcHost } from './call.js';
import type { Msg } from './convert.js';

const seconds = (sinceMs: number): number => (performance.now() - sinceMs) / 1000;

/** Ids for Cairn stream contexts opened from gRPC (they are only labels there). */
let nextStreamId = 1;

/**
 * Opens Cairn's stream `method` for a gRPC call: what the Cairn stream sends goes to `onData`,
 * its end to `onEnd` (with the error, if any). Counted in the stream metrics like a WebSocket
 * stream. Throws a CairnError if the opener refuses.
 */
export function openCairnStream(
  host: GrpcHost,
  method: string,
  call: ServerWritableStream<Msg, Msg> | ServerDuplexStream<Msg, Msg>,
  params: unknown,
  caller: Caller,
  onData: (result: unknown) => void,
  onEnd: (error?: CairnError) => void,
): StreamSession {
  const opener = host.session.streams.get(method);
  if (opener === undefined) throw new CairnError(ErrorCode.UnknownMethod, `${method} is not served`);
  if (!host.session.accepting()) throw new CairnError(ErrorCode.Stopped);
  const t0 = performance.now();
  let open = true;
  host.session.streamStarted?.(method);
  const done = (code: string): void => {
    if (!open) return;
    open = false;
    host.session.streamEnded?.(method, code, seconds(t0));
  };
  let session: StreamSession;
  try {
    session = opener(params, {
      id: nextStreamId++,
      caller,
      send: (result) => {
        if (open) onData(result);
      },
      end: (error) => {
        if (!open) return;
        done(error === undefined ? 'ok' : error.code);
        onEnd(error);
      },
      bufferedBytes: () => bufferedBytes(call),
    });
  } catch (err) {
    done(toCairnError(err).code);
    throw err;
  }
  return {
    message: (m) => session.message(m),
    close: () => {
      if (!open) return;
      done(ErrorCode.Canceled);
      session.close();
    },
  };
}

/** Writes to a stream unless it has ended (a late event after a cancel is dropped). */
export function write(call: ServerWritableStream<Msg, Msg> | ServerDuplexStream<Msg, Msg>, m: Msg): void {
  if (call.writableEnded || call.destroyed || call.cancelled) return;
  call.write(m);
}
