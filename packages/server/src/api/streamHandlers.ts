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
    // Who opened it, fixed now: an auth change checks this user again (see WatchHub.recheckAuth).
    const who = auth.principal(ctx.caller);
    // A member named by a CORRUPT alarm serves no reads: no new watches either.
    member.checkNotCorrupt();
    if (req.startRevision !== undefined && req.startRevision < 0n) {
      throw new CairnError(ErrorCode.InvalidArgument, 'startRevision must not be negative');
    }
    const handle = hub.open(
      req,
      {
        send: (r) => ctx.send(r),
        end: (err) => ctx.end(err),
        bufferedBytes: () => ctx.bufferedBytes(),
      },
      () => auth.watchDenial(who, req.key, req.rangeEnd),
    );
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
        // The owner's or root's (see checkLeaseAccess); a lease this member does not know is
        // answered as gone by the leader.
        const lease = member.applier.lessor.get(id);
        try {
          auth.user(ctx.caller);
          if (lease !== undefined) auth.lease(ctx.caller, lease.owner, lease.keys.values());
        } catch (err) {
          ctx.end(toCairnError(err));
          return;
        }
        // Only the leader knows expiries: a follower forwards the renewal there. A renewal that
        // cannot reach a leader ends the stream; the client reopens it (maybe elsewhere).
        member.leases.renew(id).then(
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
