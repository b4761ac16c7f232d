import { toCairnError, Watch, type WatchEvent, type WatchResponse } from '@cairn/protocol';
import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { StreamSession } from '../api/streams.js';
import { admit, callerOf, type GrpcHost } from './call.js';
import * as c from './convert.js';
import { grpcStatusOf } from './status.js';
import { openCairnStream, write } from './streamCall.js';

/** Most watches one gRPC Watch stream may hold (etcd has no limit; a bound keeps one stream from hoarding). */
export const MAX_WATCHES_PER_STREAM = 10_000;

/** About the bytes an event takes in a response (keys, values, the previous ones, the fixed fields). */
const eventBytes = (e: WatchEvent): number => 64 + e.kv.key.length + e.kv.value.length + (e.prevKv === undefined ? 0 : 64 + e.prevKv.key.length + e.prevKv.value.length);

/**
 * etcd's `fragment`: a response over --max-request-bytes is sent as several, each with
 * `fragment` set but the last, every piece holding at least one event. Unasked, one response.
 */
export function fragments(res: WatchResponse, asked: boolean, limitBytes: number): (WatchResponse & { fragment?: boolean })[] {
  if (!asked || res.events.length < 2 || res.events.reduce((n, e) => n + eventBytes(e), 0) <= limitBytes) return [res];
  const out: (WatchResponse & { fragment?: boolean })[] = [];
  let events: WatchEvent[] = [];
  let bytes = 0;
  for (const e of res.events) {
    const n = eventBytes(e);
    if (events.length > 0 && bytes + n > limitBytes) {
      out.push({ ...res, events, fragment: true });
      events = [];
      bytes = 0;
    }
    events.push(e);
    bytes += n;
  }
  out.push({ ...res, events });
  return out;
}

/**
 * etcdserverpb.Watch: one bidi stream carries any number of watches, told apart by watch_id
 * (assigned from 0 up unless the client picks one). Each is one Cairn watch stream, so the
 * watch hub's filters, progress, compaction and auth rules are the same as on the WebSocket.
 */
export function watchService(host: GrpcHost): UntypedServiceImplementation {
  return {
    Watch: (call: ServerDuplexStream<c.Msg, c.Msg>) => {
      const caller = callerOf(call);
      const watches = new Map<bigint, StreamSession>();
      let nextId = 0n;
      const canceled = (id: bigint, reason: string, created: boolean): void =>
        write(call, { header: {}, watch_id: id.toString(), created, canceled: true, cancel_reason: reason, compact_revision: '0', fragment: false, events: [] });

      const create = (r: c.Msg): void => {
        let id = c.int(r['watch_id']);
        if (id === 0n || id === -1n) {
          while (watches.has(nextId)) nextId++;
          id = nextId++;
        } else if (watches.has(id)) {
          canceled(id, 'etcdserver: duplicate watch ID', true);
          return;
        }
        if (watches.size >= MAX_WATCHES_PER_STREAM) {
          canceled(id, `etcdserver: too many watches on one stream (at most ${MAX_WATCHES_PER_STREAM})`, true);
          return;
        }
        const placeholder: StreamSession = { message: () => undefined, close: () => undefined };
        watches.set(id, placeholder);
        try {
          const s = openCairnStream(
            host,
            Watch.method,
            call,
            c.watchCreateRequest(r),
            caller,
            (res) => {
              for (const piece of fragments(res as WatchResponse, r['fragment'] === true, host.session.limits.maxRequestBytes)) write(call, c.watchResponse(id, piece));
            },
            (err) => {
              watches.delete(id);
              if (err !== undefined) canceled(id, grpcStatusOf(err).message, false);
            },
          );
          if (watches.get(id) === placeholder) watches.set(id, s);
        } catch (err) {
          watches.delete(id);
          // As etcd: the create is answered, created and canceled at once, with the reason.
          canceled(id, grpcStatusOf(toCairnError(err)).message, true);
        }
      };

      call.on('data', (m: c.Msg) => {
        try {
          admit(host, m);
        } catch (err) {
          canceled(-1n, grpcStatusOf(toCairnError(err)).message, false);
          return;
        }
        switch (m['request_union']) {
          case 'create_request':
            create(c.msg(m['create_request']));
            return;
          case 'cancel_request': {
            const id = c.int(c.msg(m['cancel_request'])['watch_id']);
            const w = watches.get(id);
            if (w === undefined) return;
            watches.delete(id);
            w.close();
            canceled(id, '', false);
            return;
          }
          case 'progress_request':
            for (const w of watches.values()) {
              try {
                w.message({ progressRequest: true });
              } catch {
                // a watch still being opened: it reports its own state once created
              }
            }
            return;
          default:
            return;
        }
      });
      const closeAll = (): void => {
        for (const w of watches.values()) w.close();
        watches.clear();
      };
      call.on('end', () => {
        closeAll();
        call.end();
      });
      call.on('cancelled', closeAll);
      call.on('error', closeAll);
    },
  };
}
