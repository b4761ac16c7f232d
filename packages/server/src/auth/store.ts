import {
  CairnError,
  compareBytes,
  bytesEqual,
  decodeValue,
  encodeValue,
  ErrorCode,
  validate,
  type Permission,
} from '@cairn/protocol';
import type { Backend, BatchOp } from '../storage/backend.js';
import { TABLE_AUTH } from '../storage/keyspace.js';
import type { AuthOp } from './ops.js';
import { covered, grants, intervalOf, type Interval } from './ranges.js';

/** The role with every permission; a user holding it is an administrator. */
export const ROOT = 'root';

export interface UserRecord {
  readonly name: string;
  /** scrypt hash with its salt (see password.ts); absent: the user cannot log in by password. */
  readonly passwordHash?: string;
  /** Sorted, no duplicates. */
  readonly roles: readonly string[];
  /**
   * The auth revision at which these credentials were set (user added, password changed).
   * Tokens issued before it are refused: a new password logs everyone else out.
   */
  readonly credentialsRevision: bigint;
}

export interface RoleRecord {
  readonly name: string;
  /** Sorted by key then range end; one entry per (key, rangeEnd). */
  readonly perms: readonly Permission[];
}

// Keys of the auth table: 'a' then a sub-table byte then the name.
const SUB_USER = 0x75; // 'u'
const SUB_ROLE = 0x72; // 'r'
const SUB_META = 0x6d; // 'm'
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
const key = (sub: number, name: string): Uint8Array => {
  const n = utf8.encode(name);
  const k = new Uint8Array(n.length + 2);
  k[0] = TABLE_AUTH;
  k[1] = sub;
  k.set(n, 2);
  return k;
};
const META_ENABLED = 'enabled';
const META_REVISION = 'revision';
const META_SECRET = 'secret';

const invalidMgmt = (why: string): CairnError => new CairnError(ErrorCode.InvalidArgument, `invalid auth management: ${why}`);

function samePermKey(p: Permission, k: Uint8Array, end: Uint8Array | undefined): boolean {
  const pe = p.rangeEnd ?? new Uint8Array(0);
  return bytesEqual(p.key, k) && bytesEqual(pe, end ?? new Uint8Array(0));
}

function sortPerms(perms: Permission[]): Permission[] {
  return perms.sort((a, b) => compareBytes(a.key, b.key) || compareBytes(a.rangeEnd ?? new Uint8Array(0), b.rangeEnd ?? new Uint8Array(0)));
}

/**
 * Users, roles, permissions and the enabled flag: the replicated auth state. `apply` is part of
 * the deterministic applier (no clock, no randomness): the same ops give the same state on
 * every member. Changes are collected as batch ops and drained with the applier's batch, so
 * they land atomically with the applied index.
 *
 * Reads (`user`, `role`, `permitted` ...) see every applied op, durable or not; the member
 * answers a request only once the ops before it are durable.
 */
export class AuthStore {
  private enabledFlag = false;
  private rev = 0n;
  private secretBytes: Uint8Array | undefined;
  private readonly users = new Map<string, UserRecord>();
  private readonly roles = new Map<string, RoleRecord>();
  private ops: BatchOp[] = [];

  static load(backend: Backend): AuthStore {
    const s = new AuthStore();
    const start = new Uint8Array([TABLE_AUTH]);
    const end = new Uint8Array([TABLE_AUTH + 1]);
    for (const [k, v] of backend.scan({ gte: start, lt: end })) {
      const name = fromUtf8.decode(k.subarray(2));
      const value = decodeValue(v);
      if (k[1] === SUB_USER) {
        const u = value as UserRecord;
        s.users.set(name, { ...u, credentialsRevision: BigInt(u.credentialsRevision) });
      }
      else if (k[1] === SUB_ROLE) {
        const r = value as { name: string; perms: unknown[] };
        s.roles.set(name, { name: r.name, perms: r.perms.map((p, i) => validate.permission(p, `perms[${i}]`)) });
      } else if (k[1] === SUB_META) {
        if (name === META_ENABLED) s.enabledFlag = value === true;
        else if (name === META_REVISION) s.rev = BigInt(value as number | bigint);
        else if (name === META_SECRET) s.secretBytes = new Uint8Array(value as Uint8Array);
      }
    }
    return s;
  }

  get enabled(): boolean {
    return this.enabledFlag;
  }
  get revision(): bigint {
    return this.rev;
  }
  /** The token-signing secret, replicated through the log with `enable`. */
  get secret(): Uint8Array | undefined {
    return this.secretBytes;
  }
  user(name: string): UserRecord | undefined {
    return this.users.get(name);
  }
  role(name: string): RoleRecord | undefined {
    return this.roles.get(name);
  }
  userNames(): string[] {
    return [...this.users.keys()].sort();
  }
  roleNames(): string[] {
    return [...this.roles.keys()].sort();
  }
  isRoot(user: string): boolean {
    return this.users.get(user)?.roles.includes(ROOT) === true;
  }

  /** Whether `user` may `kind` every key of [key, rangeEnd) under the current grants. */
  permitted(user: string, kind: 'read' | 'write', key: Uint8Array, rangeEnd: Uint8Array | undefined): boolean {
    const u = this.users.get(user);
    if (u === undefined) return false;
    if (u.roles.includes(ROOT)) return true;
    const have: Interval[] = [];
    for (const r of u.roles) {
      for (const p of this.roles.get(r)?.perms ?? []) if (grants(p, kind)) have.push(intervalOf(p.key, p.rangeEnd));
    }
    return covered(intervalOf(key, rangeEnd), have);
  }

  apply(op: AuthOp): void {
    switch (op.op) {
      case 'enable': {
        if (this.enabledFlag) return;
        const root = this.users.get(ROOT);
        if (root === undefined) throw new CairnError(ErrorCode.RootUserNotExist);
        if (!root.roles.includes(ROOT)) throw new CairnError(ErrorCode.RootRoleNotExist);
        this.enabledFlag = true;
        this.secretBytes = op.secret;
        this.putMeta(META_ENABLED, true);
        this.putMeta(META_SECRET, op.secret);
        break;
      }
      case 'disable':
        if (!this.enabledFlag) return;
        this.enabledFlag = false;
        this.putMeta(META_ENABLED, false);
        break;
      case 'userAdd': {
        if (this.users.has(op.name)) throw new CairnError(ErrorCode.UserAlreadyExists);
        const credentialsRevision = this.rev + 1n;
        this.putUser(
          op.passwordHash === undefined
            ? { name: op.name, roles: [], credentialsRevision }
            : { name: op.name, passwordHash: op.passwordHash, roles: [], credentialsRevision },
        );
        break;
      }
      case 'userDelete': {
        if (!this.users.has(op.name)) throw new CairnError(ErrorCode.UserNotFound);
        if (this.enabledFlag && op.name === ROOT) throw invalidMgmt('cannot delete the root user while auth is enabled');
        this.users.delete(op.name);
        this.ops.push({ type: 'del', key: key(SUB_USER, op.name) });
        break;
      }
      case 'userChangePassword': {
        const u = this.mustUser(op.name);
        this.putUser({ ...u, passwordHash: op.passwordHash, credentialsRevision: this.rev + 1n });
        break;
      }
      case 'userGrantRole': {
        const u = this.mustUser(op.user);
        if (!this.roles.has(op.role)) throw new CairnError(ErrorCode.RoleNotFound);
        if (u.roles.includes(op.role)) return;
        this.putUser({ ...u, roles: [...u.roles, op.role].sort() });
        break;
      }
      case 'userRevokeRole': {
        const u = this.mustUser(op.user);
        if (!u.roles.includes(op.role)) throw new CairnError(ErrorCode.RoleNotGranted);
        if (this.enabledFlag && op.user === ROOT && op.role === ROOT) throw invalidMgmt('cannot revoke root from the root user while auth is enabled');
        this.putUser({ ...u, roles: u.roles.filter((r) => r !== op.role) });
        break;
      }
      case 'roleAdd':
        if (this.roles.has(op.name)) throw new CairnError(ErrorCode.RoleAlreadyExists);
        this.putRole({ name: op.name, perms: [] });
        break;
      case 'roleDelete': {
        if (!this.roles.has(op.name)) throw new CairnError(ErrorCode.RoleNotFound);
        if (this.enabledFlag && op.name === ROOT) throw invalidMgmt('cannot delete the root role while auth is enabled');
        this.roles.delete(op.name);
        this.ops.push({ type: 'del', key: key(SUB_ROLE, op.name) });
        // Users lose the role too; names in order, so the batch is the same everywhere.
        for (const name of this.userNames()) {
          const u = this.users.get(name)!;
          if (u.roles.includes(op.name)) this.putUser({ ...u, roles: u.roles.filter((r) => r !== op.name) });
        }
        break;
      }
      case 'roleGrantPermission': {
        const r = this.mustRole(op.name);
        const rest = r.perms.filter((p) => !samePermKey(p, op.perm.key, op.perm.rangeEnd));
        const perm: Permission =
          op.perm.rangeEnd === undefined || op.perm.rangeEnd.length === 0
            ? { permType: op.perm.permType, key: op.perm.key }
            : { permType: op.perm.permType, key: op.perm.key, rangeEnd: op.perm.rangeEnd };
        this.putRole({ name: r.name, perms: sortPerms([...rest, perm]) });
        break;
      }
      case 'roleRevokePermission': {
        const r = this.mustRole(op.name);
        const rest = r.perms.filter((p) => !samePermKey(p, op.key, op.rangeEnd));
        if (rest.length === r.perms.length) throw new CairnError(ErrorCode.PermissionNotGranted);
        this.putRole({ name: r.name, perms: rest });
        break;
      }
    }
    this.rev += 1n;
    this.putMeta(META_REVISION, this.rev);
  }

  /** The batch ops of everything applied since the last drain. */
  drain(): BatchOp[] {
    const ops = this.ops;
    this.ops = [];
    return ops;
  }

  private mustUser(name: string): UserRecord {
    const u = this.users.get(name);
    if (u === undefined) throw new CairnError(ErrorCode.UserNotFound);
    return u;
  }
  private mustRole(name: string): RoleRecord {
    const r = this.roles.get(name);
    if (r === undefined) throw new CairnError(ErrorCode.RoleNotFound);
    return r;
  }
  private putUser(u: UserRecord): void {
    this.users.set(u.name, u);
    this.ops.push({ type: 'put', key: key(SUB_USER, u.name), value: encodeValue(u) });
  }
  private putRole(r: RoleRecord): void {
    this.roles.set(r.name, r);
    this.ops.push({ type: 'put', key: key(SUB_ROLE, r.name), value: encodeValue(r) });
  }
  private putMeta(name: string, value: unknown): void {
    this.ops.push({ type: 'put', key: key(SUB_META, name), value: encodeValue(value) });
  }
}
