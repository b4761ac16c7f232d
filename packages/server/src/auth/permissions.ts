import {
  CairnError,
  ErrorCode,
  type DeleteRangeRequest,
  type PutRequest,
  type RequestOp,
  type TxnRequest,
} from '@cairn/protocol';
import type { AuthStore } from './store.js';

/**
 * What a user may do, decided from the auth store alone: no clock, no token. The API runs
 * these before proposing and the applier runs them again when the auth revision moved
 * between the two (so they must be deterministic: they are part of apply).
 */

/**
 * Who a client request was checked for: the user (empty when auth was off) and the auth
 * revision the check saw. It travels in the log with the request (see apply/requests.ts);
 * the applier checks again when the auth store has moved past that revision (a role revoked
 * between propose and apply), as etcd does.
 */
export interface ProposalAuth {
  readonly user: string;
  readonly authRevision: bigint;
}

export const denied = (why?: string): CairnError => new CairnError(ErrorCode.PermissionDenied, why);

export function needPerm(store: AuthStore, user: string, kind: 'read' | 'write', key: Uint8Array, rangeEnd: Uint8Array | undefined): void {
  if (!store.permitted(user, kind, key, rangeEnd)) throw denied();
}

export function needRoot(store: AuthStore, user: string): void {
  if (!store.isRoot(user)) throw denied();
}

export function checkPut(store: AuthStore, user: string, req: PutRequest): void {
  needPerm(store, user, 'write', req.key, undefined);
  // The previous value is a read.
  if (req.prevKv === true) needPerm(store, user, 'read', req.key, undefined);
}

export function checkDelete(store: AuthStore, user: string, req: DeleteRangeRequest): void {
  needPerm(store, user, 'write', req.key, req.rangeEnd);
  if (req.prevKv === true) needPerm(store, user, 'read', req.key, req.rangeEnd);
}

/** Compares need read; every op of both branches is checked, whichever would run. */
export function checkTxn(store: AuthStore, user: string, req: TxnRequest): void {
  for (const c of req.compare) needPerm(store, user, 'read', c.key, c.rangeEnd);
  const ops = (list: readonly RequestOp[]): void => {
    for (const op of list) {
      if ('range' in op) needPerm(store, user, 'read', op.range.key, op.range.rangeEnd);
      else if ('put' in op) checkPut(store, user, op.put);
      else if ('deleteRange' in op) checkDelete(store, user, op.deleteRange);
      else checkTxn(store, user, op.txn);
    }
  };
  ops(req.success);
  ops(req.failure);
}

/**
 * Who may keep a lease alive, ask its time to live, or revoke it:
 * - root, always;
 * - for a lease granted with auth on (it records the granting user as its owner): the owner;
 * - for a lease without an owner (granted while auth was off): any user with write permission
 *   on every key attached to it (etcd's rule for revoke), since nobody can be told apart.
 */
export function checkLeaseAccess(store: AuthStore, user: string, owner: string | undefined, keys: Iterable<Uint8Array>): void {
  if (store.user(user) === undefined) throw denied();
  if (store.isRoot(user)) return;
  if (owner !== undefined && owner !== '') {
    if (owner !== user) throw denied(`permission denied: lease belongs to another user`);
    return;
  }
  for (const k of keys) needPerm(store, user, 'write', k, undefined);
}

/** Revoking deletes the attached keys: lease access, and write permission on each key. */
export function checkLeaseRevoke(store: AuthStore, user: string, owner: string | undefined, keys: readonly Uint8Array[]): void {
  checkLeaseAccess(store, user, owner, keys);
  for (const k of keys) needPerm(store, user, 'write', k, undefined);
}
