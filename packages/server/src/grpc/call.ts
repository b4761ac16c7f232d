import type { ServerDuplexStream, ServerUnaryCall, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import { CairnError, ErrorCode, toCairnError } from '@cairn/protocol';
import type { Caller } from '../auth/authorizer.js';
import type { SessionHost } from '../api/session.js';
import { checkRequestBytes } from '../api/limits.js';
import { grpcStatusOf, toServiceError } from './status.js';
import type { Msg } from './convert.js';

/** What the gRPC services need: the same handler tables as the WebSocket sessions. */
export interface GrpcHost {
  readonly session: SessionHost;
  /** The byte size of a decoded request message (recorded by the deserializer). */
  readonly sizeOf: (message: object) => number;
}

type AnyCall = ServerUnaryCall<Msg, Msg> | ServerWritableStream<Msg, Msg> | ServerDuplexStream<Msg, Msg>;

const seconds = (sinceMs: number): number => (performance.now() - sinceMs) / 1000;

/**
 * Who a call speaks for: the `token` metadata as etcd's clients send it, and the common name of
 * a verified client certificate (the TLS socket only has one with --client-cert-auth).
 */
export function callerOf(call: AnyCall): Caller {
  const token = call.metadata.get('token')[0];
  const cn = call.getAuthContext().sslPeerCertificate?.subject?.CN;
  const peer = call.getPeer();
  // "127.0.0.1:5000" or "[::1]:5000"
  const remoteAddress = peer.replace(/^\[?(.*?)\]?:\d+$/, '$1');
  return {
    ...(typeof token === 'string' && token !== '' ? { token } : {}),
    ...(typeof cn === 'string' && cn !== '' ? { certUser: cn } : {}),
    ...(remoteAddress !== '' ? { remoteAddress } : {}),
  };
}

/** The checks every call passes before its handler: the server accepts, the message fits. */
export function admit(host: GrpcHost, request: object): void {
  if (!host.session.accepting()) throw new CairnError(ErrorCode.Stopped);
  checkRequestBytes(host.sizeOf(request), host.session.limits);
}

/** Runs Cairn's unary handler `method` for one call, under Cairn's name in the metrics. */
export async function runUnary(host: GrpcHost, method: string, params: unknown, caller: Caller): Promise<unknown> {
  const handler = host.session.unary.get(method);
  if (handler === undefined) throw new CairnError(ErrorCode.UnknownMethod, `${method} is not served`);
  return handler(params, caller);
}

/**
 * A gRPC unary method over Cairn's handler `method`: etcd's request is mapped to Cairn's
 * params, the result back to etcd's response. Every failure, a bad message included, is a
 * gRPC status; nothing throws out of here.
 */
export function unaryMethod(
  host: GrpcHost,
  method: string,
  toCairn: (m: Msg) => unknown,
  fromCairn: (r: never) => Msg,
): (call: ServerUnaryCall<Msg, Msg>, callback: sendUnaryData<Msg>) => void {
  return (call, callback) => {
    const t0 = performance.now();
    const run = async (): Promise<Msg> => {
      admit(host, call.request);
      const res = await runUnary(host, method, toCairn(call.request), callerOf(call));
      return fromCairn(res as never);
    };
    run().then(
      (res) => {
        host.session.observe(method, 'ok', seconds(t0));
        callback(null, res);
      },
      (err: unknown) => {
        const e = toCairnError(err);
        host.session.observe(method, e.code, seconds(t0));
        callback(toServiceError(e));
      },
    );
  };
}

/** Ends a server stream with a Cairn error as etcd's status. */
export function endWithError(call: ServerWritableStream<Msg, Msg> | ServerDuplexStream<Msg, Msg>, err: unknown): void {
  const { code, message } = grpcStatusOf(toCairnError(err));
  // grpc-js's stream takes an 'error' event as "end with this status" (after what was written).
  call.emit('error', Object.assign(new Error(message), { code, details: message }));
}

/** Bytes waiting to be written on a stream: the socket's backlog as the watch hub sees it. */
export function bufferedBytes(call: ServerWritableStream<Msg, Msg> | ServerDuplexStream<Msg, Msg>): number {
  return call.writableLength;
}
