import { bytesEqual, CairnError, ErrorCode, prefixEnd, Txn, Watch, toCairnError, type KeyValue, type ResponseHeader, type TxnResponse, type WatchResponse } from '@cairn/protocol';
import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { StreamSession } from '../api/streams.js';
import { admit, callerOf, endWithError, runUnary, type GrpcHost } from './call.js';
import * as c from './convert.js';
import { waitingMethod } from './lock.js';
import { deleteKey, enqueue, neighbour, prefixOf, waitTurn, waiterKey } from './recipes.js';
import { openCairnStream, write } from './streamCall.js';

const notLeader = (): CairnError => new CairnError(ErrorCode.ElectionNotLeader, 'election: not leader');

/** A leader key as etcd's LeaderKey message. */
interface LeaderKey {
  readonly name: Uint8Array;
  readonly key: Uint8Array;
  readonly rev: bigint;
  readonly lease: bigint;
}

const leaderKey = (m: c.Msg): LeaderKey => ({ name: c.bytes(m['name']), key: c.bytes(m['key']), rev: c.int(m['rev']), lease: c.int(m['lease']) });
const leaderMsg = (l: LeaderKey): c.Msg => ({ name: l.name, key: l.key, rev: l.rev.toString(), lease: l.lease.toString() });

/** v3electionpb.Election: etcd's election service (campaign, proclaim, leader, observe, resign). */
export function electionService(host: GrpcHost): UntypedServiceImplementation {
  /** Sets the leader's value, if `l` still leads. */
  const proclaim = async (l: LeaderKey, value: Uint8Array, caller: ReturnType<typeof callerOf>): Promise<ResponseHeader> => {
    const res = (await runUnary(
      host,
      Txn.method,
      { compare: [{ key: l.key, target: 'create', result: 'equal', value: l.rev }], success: [{ put: { key: l.key, value, lease: l.lease } }], failure: [] },
      caller,
    )) as TxnResponse;
    if (!res.succeeded) throw notLeader();
    return res.header;
  };
  const leader = async (name: Uint8Array, caller: ReturnType<typeof callerOf>): Promise<{ header: ResponseHeader; kv?: KeyValue }> => {
    const res = await neighbour(host, caller, name);
    const kv = res.kvs[0];
    return kv === undefined ? { header: res.header } : { header: res.header, kv };
  };
  return {
    Campaign: waitingMethod(host, async (r, caller, signal) => {
      const name = c.bytes(r['name']);
      const lease = c.int(r['lease']);
      const value = c.bytes(r['value']);
      if (name.length === 0) throw new CairnError(ErrorCode.EmptyKey);
      if (lease === 0n) throw new CairnError(ErrorCode.LeaseNotFound);
      const key = waiterKey(name, lease);
      const q = await enqueue(host, caller, key, value, lease);
      const l: LeaderKey = { name, key, rev: q.rev, lease };
      // Already queued (a retried campaign) with another value: the new value is the one proclaimed.
      if (q.kv !== undefined && !bytesEqual(q.kv.value, value)) await proclaim(l, value, caller);
      try {
        await waitTurn(host, caller, name, q.rev, signal);
      } catch (err) {
        await deleteKey(host, caller, key).catch(() => undefined);
        throw err;
      }
      const now = await leader(name, caller);
      return { header: c.header(now.header), leader: leaderMsg(l) };
    }),
    Proclaim: waitingMethod(host, async (r, caller) => {
      const header = await proclaim(leaderKey(c.msg(r['leader'])), c.bytes(r['value']), caller);
      return { header: c.header(header) };
    }),
    Leader: waitingMethod(host, async (r, caller) => {
      const now = await leader(c.bytes(r['name']), caller);
      if (now.kv === undefined) throw new CairnError(ErrorCode.InvalidArgument, 'election: no leader');
      return { header: c.header(now.header), kv: c.kv(now.kv) };
    }),
    Resign: waitingMethod(host, async (r, caller) => {
      const l = leaderKey(c.msg(r['leader']));
      const res = (await runUnary(
        host,
        Txn.method,
        { compare: [{ key: l.key, target: 'create', result: 'equal', value: l.rev }], success: [{ deleteRange: { key: l.key } }], failure: [] },
        caller,
      )) as TxnResponse;
      return { header: c.header(res.header) };
    }),
    // The current leader's key now, and again each time the leader or its value changes.
    Observe: (call: ServerWritableStream<c.Msg, c.Msg>) => {
      const caller = callerOf(call);
      const name = c.bytes(call.request['name']);
      let last: KeyValue | undefined;
      let stream: StreamSession | undefined;
      let checking = false;
      let again = false;
      const check = async (): Promise<void> => {
        if (checking) {
          again = true;
          return;
        }
        checking = true;
        try {
          do {
            again = false;
            const now = await leader(name, caller);
            const kv = now.kv;
            if (kv !== undefined && (last === undefined || !bytesEqual(kv.key, last.key) || kv.modRevision !== last.modRevision)) {
              last = kv;
              write(call, { header: c.header(now.header), kv: c.kv(kv) });
            }
          } while (again);
        } finally {
          checking = false;
        }
      };
      try {
        admit(host, call.request);
        if (name.length === 0) throw new CairnError(ErrorCode.EmptyKey);
        const key = prefixOf(name);
        stream = openCairnStream(
          host,
          Watch.method,
          call,
          { key, rangeEnd: prefixEnd(key) },
          caller,
          (res) => {
            const w = res as WatchResponse;
            if (w.created === true || w.events.length > 0) check().catch((err: unknown) => endWithError(call, toCairnError(err)));
          },
          (err) => endWithError(call, err ?? new CairnError(ErrorCode.Canceled, 'watch ended')),
        );
      } catch (err) {
        endWithError(call, err);
        return;
      }
      call.on('cancelled', () => stream?.close());
    },
  };
}
