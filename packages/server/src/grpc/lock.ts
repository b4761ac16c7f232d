import { CairnError, ErrorCode, toCairnError, type ResponseHeader } from '@cairn/protocol';
import type { ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import { admit, callerOf, type GrpcHost } from './call.js';
import * as c from './convert.js';
import { deleteKey, enqueue, waitTurn, waiterKey } from './recipes.js';
import { toServiceError } from './status.js';

/** A unary call that may wait long (a lock, a campaign): aborted when the client cancels. */
export function waitingMethod(
  host: GrpcHost,
  run: (req: c.Msg, caller: ReturnType<typeof callerOf>, signal: AbortSignal) => Promise<c.Msg>,
): (call: ServerUnaryCall<c.Msg, c.Msg>, callback: sendUnaryData<c.Msg>) => void {
  return (call, callback) => {
    const abort = new AbortController();
    call.on('cancelled', () => abort.abort());
    (async () => {
      admit(host, call.request);
      return run(call.request, callerOf(call), abort.signal);
    })().then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(toCairnError(err))),
    );
  };
}

/** v3lockpb.Lock: etcd's lock service, on the lease the client names (it must exist). */
export function lockService(host: GrpcHost): UntypedServiceImplementation {
  return {
    Lock: waitingMethod(host, async (r, caller, signal) => {
      const name = c.bytes(r['name']);
      const lease = c.int(r['lease']);
      if (name.length === 0) throw new CairnError(ErrorCode.EmptyKey);
      if (lease === 0n) throw new CairnError(ErrorCode.LeaseNotFound);
      const key = waiterKey(name, lease);
      const { rev } = await enqueue(host, caller, key, new Uint8Array(0), lease);
      try {
        await waitTurn(host, caller, name, rev, signal);
      } catch (err) {
        // Gave up waiting: leave the queue, so that those behind are not stuck on this key.
        await deleteKey(host, caller, key).catch(() => undefined);
        throw err;
      }
      const res = (await host.session.unary.get('kv.range')!({ key }, caller)) as { header: ResponseHeader };
      return { header: c.header(res.header), key };
    }),
    Unlock: waitingMethod(host, async (r, caller) => {
      const res = (await deleteKey(host, caller, c.bytes(r['key']))) as { header: ResponseHeader };
      return { header: c.header(res.header) };
    }),
  };
}
