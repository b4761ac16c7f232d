import { CairnError, ErrorCode } from '@cairn/protocol';
import { denied, type ProposalAuth } from '../auth/permissions.js';
import type { AuthStore } from '../auth/store.js';
import type { Lessor } from '../lease/lessor.js';
import { recheckKind, type WriteRequest } from './kinds.js';

/**
 * The auth layer of apply (etcd's authApplierV3): a client request was checked by the API
 * against the auth store at `stamp.authRevision`; if the store has moved since (a role or
 * permission revoked, a user deleted, auth enabled) while the entry waited in the log, the
 * same check runs again here, against the store as this entry finds it. Deterministic: the
 * stamp is in the log and the store is replicated state, so every member decides alike.
 *
 * Not looked at again: the token (its expiry is a matter of the clock, not of the log).
 * Requests without a stamp are the member's own (lease expiry, published attributes) and
 * are trusted.
 */
export function recheckAtApply(auth: AuthStore, lessor: Lessor, stamp: ProposalAuth | undefined, req: WriteRequest): void {
  if (stamp === undefined || !auth.enabled || stamp.authRevision === auth.revision) return;
  const user = stamp.user;
  // Checked while auth was off, applied after `auth enable`: nobody to authorize.
  if (user === '') throw new CairnError(ErrorCode.UserEmpty);
  if (auth.user(user) === undefined) throw denied();
  // Each kind's own re-check (kinds.ts); compact, alarm, auth management, member update: root only.
  recheckKind({ auth, lessor }, user, req);
}
