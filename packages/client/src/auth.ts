import {
  AuthDisable,
  AuthEnable,
  AuthStatus,
  Authenticate,
  RoleAdd,
  RoleDelete,
  RoleGet,
  RoleGrantPermission,
  RoleList,
  RoleRevokePermission,
  UserAdd,
  UserChangePassword,
  UserDelete,
  UserGet,
  UserGrantRole,
  UserList,
  UserRevokeRole,

  type AuthHeaderResponse,
  type AuthStatusResponse,
  type AuthenticateResponse,
  type BytesLike,
  type PermissionType,
  type RoleGetResponse,
  type RoleListResponse,
  type UserGetResponse,
  type UserListResponse,
} from '@cairn/protocol';
import { callOptionsOf, resolveKeyRange, type KeyRange } from './options.js';
import type { CallOptions, Transport } from './transport.js';

export interface UserAddOptions extends CallOptions {
  /** A user that cannot log in with a password (client certificates only). */
  readonly noPassword?: boolean;
}

/** Users, roles and permissions; enabling and disabling authentication. */
export class Auth {
  private readonly transport: Transport;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  authenticate(name: string, password: string, options: CallOptions = {}): Promise<AuthenticateResponse> {
    return this.transport.request(Authenticate, { name, password }, callOptionsOf(options));
  }
  enable(options: CallOptions = {}): Promise<AuthHeaderResponse> {
    return this.transport.request(AuthEnable, {}, callOptionsOf(options));
  }
  disable(options: CallOptions = {}): Promise<AuthHeaderResponse> {
    return this.transport.request(AuthDisable, {}, callOptionsOf(options));
  }
  status(options: CallOptions = {}): Promise<AuthStatusResponse> {
    return this.transport.request(AuthStatus, {}, callOptionsOf(options));
  }

  userAdd(name: string, password: string | undefined, options: UserAddOptions = {}): Promise<AuthHeaderResponse> {
    const params = options.noPassword === true ? { name, noPassword: true } : { name, password: password ?? '' };
    return this.transport.request(UserAdd, params, callOptionsOf(options));
  }
  userGet(name: string, options: CallOptions = {}): Promise<UserGetResponse> {
    return this.transport.request(UserGet, { name }, callOptionsOf(options));
  }
  userList(options: CallOptions = {}): Promise<UserListResponse> {
    return this.transport.request(UserList, {}, callOptionsOf(options));
  }
  userDelete(name: string, options: CallOptions = {}): Promise<AuthHeaderResponse> {
    return this.transport.request(UserDelete, { name }, callOptionsOf(options));
  }
  userChangePassword(name: string, password: string, options: CallOptions = {}): Promise<AuthHeaderResponse> {
    return this.transport.request(UserChangePassword, { name, password }, callOptionsOf(options));
  }
  userGrantRole(user: string, role: string, options: CallOptions = {}): Promise<AuthHeaderResponse> {
    return this.transport.request(UserGrantRole, { user, role }, callOptionsOf(options));
  }
  userRevokeRole(user: string, role: string, options: CallOptions = {}): Promise<AuthHeaderResponse> {
    return this.transport.request(UserRevokeRole, { user, role }, callOptionsOf(options));
  }

  roleAdd(role: string, options: CallOptions = {}): Promise<AuthHeaderResponse> {
    return this.transport.request(RoleAdd, { role }, callOptionsOf(options));
  }
  roleGet(role: string, options: CallOptions = {}): Promise<RoleGetResponse> {
    return this.transport.request(RoleGet, { role }, callOptionsOf(options));
  }
  roleList(options: CallOptions = {}): Promise<RoleListResponse> {
    return this.transport.request(RoleList, {}, callOptionsOf(options));
  }
  roleDelete(role: string, options: CallOptions = {}): Promise<AuthHeaderResponse> {
    return this.transport.request(RoleDelete, { role }, callOptionsOf(options));
  }
  /** Grants `permType` on `key` (or the range `range` says: rangeEnd, prefix, fromKey). */
  roleGrantPermission(
    role: string,
    permType: PermissionType,
    key: BytesLike,
    range: KeyRange & CallOptions = {},
  ): Promise<AuthHeaderResponse> {
    const r = resolveKeyRange(key, range);
    const perm = r.rangeEnd === undefined ? { permType, key: r.key } : { permType, key: r.key, rangeEnd: r.rangeEnd };
    return this.transport.request(RoleGrantPermission, { name: role, perm }, callOptionsOf(range));
  }
  roleRevokePermission(role: string, key: BytesLike, range: KeyRange & CallOptions = {}): Promise<AuthHeaderResponse> {
    const r = resolveKeyRange(key, range);
    const params = r.rangeEnd === undefined ? { role, key: r.key } : { role, key: r.key, rangeEnd: r.rangeEnd };
    return this.transport.request(RoleRevokePermission, params, callOptionsOf(range));
  }
}
