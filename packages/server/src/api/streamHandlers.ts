import { CairnError, ErrorCode, LeaseKeepAlive, toCairnError, validate, Watch } from '@cairn/protocol';
import type { Authorizer } from '../auth/authorizer.js';
import type { Member } from '../member.js';
import type { WatchHub } from '../watch/hub.js';
import { checkKeyLimits, type ApiLimits } from './limits.js';
import type { StreamOpener } from './streams.js';

const progressControl = validate.object<{ progressRequest: boolean }>({ progressRequest: validate.bool });

/** The stream methods a member serves: watch and lease keep-alive. */
export function memberStreams(member: Member, hub: WatchHub, limits: ApiLimits, auth: Authorizer): Map<string, StreamOpener> {
  const watch: StreamOpener = (params, ctx) => {
    const req = validate.watchCreateRequest(params ?? {}, '');
    if (req.key.length === 0) throw new CairnError(ErrorCode.EmptyKey);
    checkKeyLimits(req.key, limits, req.rangeEnd);
    auth.watch(ctx.caller, req.key, req.rangeEnd);
    // A member named by a CORRUPT alarm serves no reads: no new watches either.
    member.checkNotCorrupt();
    if (req.startRevision !== undefined && req.startRevision < 0n) {
      throw new CairnError(ErrorCode.InvalidArgument, 'startRevision must not be negative');
    }
    const handle = hub.open(req, {
      send: (r) => ctx.send(r),
      end: () => ctx.end(),
      bufferedBytes: () => ctx.bufferedBytes(),
    });
    return {
      message: (m) => {
        progressControl(m, '');
        handle.requestProgress();
      },
      close: () => handle.close(),
    };
  };

  // One stream serves any number of leases: each message renews one.
  const keepAlive: StreamOpener = (params, ctx) => {
    validate.emptyRequest(params ?? {}, '');
    return {
      message: (m) => {
        const { id } = validate.leaseIdRequest(m, '');
        // Only the leader knows expiries: a follower forwards the renewal there. A renewal that
        // cannot reach a leader ends the stream; the client reopens it (maybe elsewhere).
        member.leaseRenew(id).then(
          (ttlSeconds) => ctx.send({ header: member.header(), id, ttlSeconds: ttlSeconds < 0 ? 0 : ttlSeconds }),
          (err: unknown) => ctx.end(toCairnError(err)),
        );
      },
      close: () => undefined,
    };
  };
  return new Map([
    [Watch.method, watch],
    [LeaseKeepAlive.method, keepAlive],
  ]);
}
