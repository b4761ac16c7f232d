import {
  CairnError,
  ErrorCode,
  type DeleteRangeRequest,
  type PutRequest,
  type RangeRequest,
  type TxnRequest,
} from '@cairn/protocol';
import type { Clock } from '../clock.js';
import type { LoginThrottle } from './loginThrottle.js';
import { verifyPassword } from './password.js';
import type { AuthStore } from './store.js';
import { issueToken, readToken } from './token.js';
import {
  checkDelete,
  checkLeaseAccess,
  checkLeaseRevoke,
  checkPut,
  checkTxn,
  denied,
  needPerm,
  needRoot,
  type ProposalAuth,
} from './permissions.js';

/** Who is calling, as one client socket says: the token of its hello/auth frame, its certificate. */
export interface Caller {
  token?: string;
  /** The common name of a verified client certificate (with --client-cert-auth). */
  readonly certUser?: string;
  /** The socket's remote address (failed logins are slowed down per address). */
  readonly remoteAddress?: string;
}

/** etcd's default --auth-token-ttl. */
export const DEFAULT_AUTH_TOKEN_TTL_SECONDS = 300;

/**
 * Authentication and the permission check of every request, against the auth store as it is
 * now (a revoked role stops working on the very next request). With auth disabled everything
 * is allowed and nobody is asked who they are.
 */
export class Authorizer {
  constructor(
    /** Read at each call: a snapshot install replaces the store. */
    private readonly storeOf: () => AuthStore,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly tokenTtlSeconds: number = DEFAULT_AUTH_TOKEN_TTL_SECONDS,
    /** Slows down failed logins; none: every attempt is checked at once. */
    private readonly throttle?: LoginThrottle,
  ) {}

  private get store(): AuthStore {
    return this.storeOf();
  }

  get enabled(): boolean {
    return this.store.enabled;
  }

  /**
   * Checks the password and issues a token; AuthFailed for a wrong user or password,
   * TooManyRequests (with details.retryAfterMs) while this user or address is slowed down.
   */
  async authenticate(name: string, password: string, remoteAddress = 'unknown'): Promise<string> {
    if (!this.store.enabled) throw new CairnError(ErrorCode.AuthNotEnabled);
    const attempt = await this.throttle?.admit(name, remoteAddress);
    // The revision before checking: should the password change while scrypt runs, the token
    // predates the change and is refused.
    const revision = this.store.revision;
    let ok = false;
    try {
      ok = await verifyPassword(password, this.store.user(name)?.passwordHash);
    } finally {
      attempt?.done(ok);
    }
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

  /**
   * Runs `check` for the caller's user (not at all with auth disabled) and returns what the
   * proposal carries: the user and the auth revision the check saw.
   */
  private stamp(caller: Caller, check: (user: string) => void): ProposalAuth {
    const authRevision = this.store.revision;
    const user = this.user(caller);
    if (user !== undefined) check(user);
    return { user: user ?? '', authRevision };
  }

  /** Root only (membership, maintenance, auth management, compaction). */
  admin(caller: Caller): ProposalAuth {
    return this.stamp(caller, (user) => needRoot(this.store, user));
  }

  /** Any authenticated user (lease grant). */
  authenticated(caller: Caller): ProposalAuth {
    return this.stamp(caller, () => undefined);
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
    if (user !== undefined) needPerm(this.store, user, 'read', req.key, req.rangeEnd);
  }

  /** Whether the caller may read `key` (timeToLive lists only those). */
  mayRead(caller: Caller, key: Uint8Array): boolean {
    const user = this.user(caller);
    return user === undefined || this.store.permitted(user, 'read', key, undefined);
  }

  /** A watch on [key, rangeEnd) needs read permission on the whole range. */
  watch(caller: Caller, key: Uint8Array, rangeEnd: Uint8Array | undefined): void {
    this.range(caller, { key, ...(rangeEnd !== undefined ? { rangeEnd } : {}) });
  }

  /**
   * Who opened a watch, as it is checked again on each auth change: the user, and the auth
   * revision of the token it came with (a later password change ends the watch, as it ends
   * the token). Undefined with auth disabled.
   */
  principal(caller: Caller): Principal | undefined {
    const user = this.user(caller);
    if (user === undefined) return undefined;
    const secret = this.store.secret;
    const claims = caller.token !== undefined && caller.token !== '' && secret !== undefined ? readToken(secret, caller.token) : undefined;
    return claims === undefined ? { user } : { user, tokenRevision: claims.authRevision };
  }

  /**
   * Whether a watch opened by `who` on [key, rangeEnd) may go on under the auth store as it is
   * now: undefined if so, else the error that ends it. The token's expiry is not looked at
   * again: a watch is authorized for as long as the grants that allowed it stand.
   */
  watchDenial(who: Principal | undefined, key: Uint8Array, rangeEnd: Uint8Array | undefined): CairnError | undefined {
    const store = this.store;
    if (!store.enabled) return undefined;
    const range = describeRange(key, rangeEnd);
    if (who === undefined) return denied(`watch canceled: authentication was enabled and the watch on ${range} has no user; reopen it with credentials`);
    const u = store.user(who.user);
    if (u === undefined) return denied(`watch canceled: user ${JSON.stringify(who.user)} was deleted`);
    if (who.tokenRevision !== undefined && who.tokenRevision < u.credentialsRevision) {
      return denied(`watch canceled: the password of user ${JSON.stringify(who.user)} changed; authenticate again`);
    }
    if (!store.permitted(who.user, 'read', key, rangeEnd)) {
      return denied(`watch canceled: user ${JSON.stringify(who.user)} no longer has read permission on ${range}`);
    }
    return undefined;
  }

  put(caller: Caller, req: PutRequest): ProposalAuth {
    return this.stamp(caller, (user) => checkPut(this.store, user, req));
  }

  deleteRange(caller: Caller, req: DeleteRangeRequest): ProposalAuth {
    return this.stamp(caller, (user) => checkDelete(this.store, user, req));
  }

  /** Compares need read; every op of both branches is checked, whichever would run. */
  txn(caller: Caller, req: TxnRequest): ProposalAuth {
    return this.stamp(caller, (user) => checkTxn(this.store, user, req));
  }

  /** Keep-alive and time-to-live of a lease: its owner or root (see checkLeaseAccess). */
  lease(caller: Caller, owner: string | undefined, keys: Iterable<Uint8Array>): void {
    this.stamp(caller, (user) => checkLeaseAccess(this.store, user, owner, keys));
  }

  /** Revoking a lease deletes its keys: lease access and write permission on each of them. */
  leaseRevoke(caller: Caller, owner: string | undefined, keys: readonly Uint8Array[]): ProposalAuth {
    return this.stamp(caller, (user) => checkLeaseRevoke(this.store, user, owner, keys));
  }
}

/** Who opened a long-lived stream (see Authorizer.principal). */
export interface Principal {
  readonly user: string;
  /** The auth revision its token was issued at; absent for a certificate's user. */
  readonly tokenRevision?: bigint;
}

const text = new TextDecoder();
const show = (b: Uint8Array): string => JSON.stringify(text.decode(b));

function describeRange(key: Uint8Array, rangeEnd: Uint8Array | undefined): string {
  if (rangeEnd === undefined || rangeEnd.length === 0) return show(key);
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return `[${show(key)}, end)`;
  return `[${show(key)}, ${show(rangeEnd)})`;
}
