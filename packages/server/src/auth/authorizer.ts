import {
  CairnError,
  ErrorCode,
  type DeleteRangeRequest,
  type PutRequest,
  type RangeRequest,
  type RequestOp,
  type TxnRequest,
} from '@cairn/protocol';
import type { Clock } from '../clock.js';
import { verifyPassword } from './password.js';
import type { AuthStore } from './store.js';
import { issueToken, readToken } from './token.js';

/** Who is calling, as one client socket says: the token of its hello/auth frame, its certificate. */
export interface Caller {
  token?: string;
  /** The common name of a verified client certificate (with --client-cert-auth). */
  readonly certUser?: string;
}

/** etcd's default --auth-token-ttl. */
export const DEFAULT_AUTH_TOKEN_TTL_SECONDS = 300;

const denied = (): CairnError => new CairnError(ErrorCode.PermissionDenied);

/**
 * Authentication and the permission check of every request, against the auth store as it is
 * now (a revoked role stops working on the very next request). With auth disabled everything
 * is allowed and nobody is asked who they are.
 */
export class Authorizer {
  constructor(
    /** Read at each call: a snapshot install replaces the store. */
    private readonly storeOf: () => AuthStore,
    private readonly clock: Clock,
    private readonly tokenTtlSeconds: number = DEFAULT_AUTH_TOKEN_TTL_SECONDS,
  ) {}

  private get store(): AuthStore {
    return this.storeOf();
  }

  get enabled(): boolean {
    return this.store.enabled;
  }

  /** Checks the password and issues a token; AuthFailed for a wrong user or password. */
  async authenticate(name: string, password: string): Promise<string> {
    if (!this.store.enabled) throw new CairnError(ErrorCode.AuthNotEnabled);
    // The revision before checking: should the password change while scrypt runs, the token
    // predates the change and is refused.
    const revision = this.store.revision;
    const ok = await verifyPassword(password, this.store.user(name)?.passwordHash);
    // Re-read after the await: the user may have gone, or auth been disabled, meanwhile.
    const secret = this.store.secret;
    if (!ok || this.store.user(name) === undefined) throw new CairnError(ErrorCode.AuthFailed);
    if (!this.store.enabled || secret === undefined) throw new CairnError(ErrorCode.AuthNotEnabled);
    return issueToken(secret, { user: name, authRevision: revision, expiresAtMs: this.clock.now() + this.tokenTtlSeconds * 1000 });
  }

  /**
   * The user a request runs as: undefined with auth disabled. Throws InvalidAuthToken for a
   * bad or expired token (the client re-authenticates), UserEmpty for an anonymous caller.
   */
  user(caller: Caller): string | undefined {
    if (!this.store.enabled) return undefined;
    if (caller.token !== undefined && caller.token !== '') {
      const secret = this.store.secret;
      const claims = secret === undefined ? undefined : readToken(secret, caller.token);
      const user = claims === undefined ? undefined : this.store.user(claims.user);
      // Refused: forged, expired, the user gone, or credentials changed since it was issued.
      if (claims === undefined || user === undefined || claims.expiresAtMs <= this.clock.now() || claims.authRevision < user.credentialsRevision) {
        throw new CairnError(ErrorCode.InvalidAuthToken);
      }
      return claims.user;
    }
    if (caller.certUser !== undefined && caller.certUser !== '') {
      if (this.store.user(caller.certUser) === undefined) throw new CairnError(ErrorCode.AuthFailed);
      return caller.certUser;
    }
    throw new CairnError(ErrorCode.UserEmpty);
  }

  /** Root only (membership, maintenance, auth management, compaction). */
  admin(caller: Caller): void {
    const user = this.user(caller);
    if (user !== undefined && !this.store.isRoot(user)) throw denied();
  }

  /** Root, or the user `name` itself (user get). */
  adminOrSelf(caller: Caller, name: string): void {
    const user = this.user(caller);
    if (user !== undefined && user !== name && !this.store.isRoot(user)) throw denied();
  }

  /** Root, or a user holding `role` (role get). */
  adminOrHolder(caller: Caller, role: string): void {
    const user = this.user(caller);
    if (user === undefined || this.store.isRoot(user)) return;
    if (this.store.user(user)?.roles.includes(role) !== true) throw denied();
  }

  range(caller: Caller, req: Pick<RangeRequest, 'key' | 'rangeEnd'>): void {
    const user = this.user(caller);
    if (user !== undefined) this.need(user, 'read', req.key, req.rangeEnd);
  }

  /**
   * A watch on [key, rangeEnd) needs read permission on the whole range. For the watch stream
   * to call when it opens (the stream lives in another task's code).
   */
  watch(caller: Caller, key: Uint8Array, rangeEnd: Uint8Array | undefined): void {
    this.range(caller, { key, ...(rangeEnd !== undefined ? { rangeEnd } : {}) });
  }

  put(caller: Caller, req: PutRequest): void {
    const user = this.user(caller);
    if (user !== undefined) this.checkPut(user, req);
  }

  deleteRange(caller: Caller, req: DeleteRangeRequest): void {
    const user = this.user(caller);
    if (user !== undefined) this.checkDelete(user, req);
  }

  /** Compares need read; every op of both branches is checked, whichever would run. */
  txn(caller: Caller, req: TxnRequest): void {
    const user = this.user(caller);
    if (user !== undefined) this.checkTxn(user, req);
  }

  /**
   * Revoking a lease deletes its keys: write permission on each. For the lease code to call
   * with the lease's attached keys (the lessor lives in another task's code).
   */
  leaseRevoke(caller: Caller, keys: readonly Uint8Array[]): void {
    const user = this.user(caller);
    if (user !== undefined) for (const k of keys) this.need(user, 'write', k, undefined);
  }

  private need(user: string, kind: 'read' | 'write', key: Uint8Array, rangeEnd: Uint8Array | undefined): void {
    if (!this.store.permitted(user, kind, key, rangeEnd)) throw denied();
  }

  private checkPut(user: string, req: PutRequest): void {
    this.need(user, 'write', req.key, undefined);
    // The previous value is a read.
    if (req.prevKv === true) this.need(user, 'read', req.key, undefined);
  }

  private checkDelete(user: string, req: DeleteRangeRequest): void {
    this.need(user, 'write', req.key, req.rangeEnd);
    if (req.prevKv === true) this.need(user, 'read', req.key, req.rangeEnd);
  }

  private checkTxn(user: string, req: TxnRequest): void {
    for (const c of req.compare) this.need(user, 'read', c.key, c.rangeEnd);
    const ops = (list: readonly RequestOp[]): void => {
      for (const op of list) {
        if ('range' in op) this.need(user, 'read', op.range.key, op.range.rangeEnd);
        else if ('put' in op) this.checkPut(user, op.put);
        else if ('deleteRange' in op) this.checkDelete(user, op.deleteRange);
        else this.checkTxn(user, op.txn);
      }
    };
    ops(req.success);
    ops(req.failure);
  }
}
