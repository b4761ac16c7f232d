import {
  Authenticate,
  AuthDisable,
  AuthEnable,
  AuthStatus,
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
  type AuthStatusResponse,
  type AuthenticateResponse,
  type RoleGetResponse,
  type RoleListResponse,
  type UserGetResponse,
  type UserListResponse,
} from '@cairn/protocol';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { unaryMethod, type GrpcHost } from './call.js';
import * as c from './convert.js';

const permTypes: Readonly<Record<string, string>> = { read: 'READ', write: 'WRITE', readwrite: 'READWRITE' };

/** etcdserverpb.Auth over Cairn's auth.* handlers. */
export function authService(host: GrpcHost): UntypedServiceImplementation {
  const none = (): Record<string, never> => ({});
  const name = (r: c.Msg): { name: string } => ({ name: c.str(r['name']) });
  const role = (field: string) => (r: c.Msg): { role: string } => ({ role: c.str(r[field]) });
  return {
    AuthEnable: unaryMethod(host, AuthEnable.method, none, c.headerOnly),
    AuthDisable: unaryMethod(host, AuthDisable.method, none, c.headerOnly),
    AuthStatus: unaryMethod(host, AuthStatus.method, none, (r: AuthStatusResponse) => ({
      header: c.header(r.header),
      enabled: r.enabled,
      authRevision: r.authRevision.toString(),
    })),
    Authenticate: unaryMethod(
      host,
      Authenticate.method,
      (r) => ({ name: c.str(r['name']), password: c.str(r['password']) }),
      (r: AuthenticateResponse) => ({ header: c.header(r.header), token: r.token }),
    ),
    UserAdd: unaryMethod(
      host,
      UserAdd.method,
      (r) => {
        const noPassword = c.msg(r['options'])['no_password'] === true;
        return noPassword ? { name: c.str(r['name']), noPassword } : { name: c.str(r['name']), password: c.str(r['password']) };
      },
      c.headerOnly,
    ),
    UserGet: unaryMethod(host, UserGet.method, name, (r: UserGetResponse) => ({ header: c.header(r.header), roles: r.roles })),
    UserList: unaryMethod(host, UserList.method, none, (r: UserListResponse) => ({ header: c.header(r.header), users: r.users })),
    UserDelete: unaryMethod(host, UserDelete.method, name, c.headerOnly),
    UserChangePassword: unaryMethod(host, UserChangePassword.method, (r) => ({ name: c.str(r['name']), password: c.str(r['password']) }), c.headerOnly),
    UserGrantRole: unaryMethod(host, UserGrantRole.method, (r) => ({ user: c.str(r['user']), role: c.str(r['role']) }), c.headerOnly),
    UserRevokeRole: unaryMethod(host, UserRevokeRole.method, (r) => ({ user: c.str(r['name']), role: c.str(r['role']) }), c.headerOnly),
    RoleAdd: unaryMethod(host, RoleAdd.method, role('name'), c.headerOnly),
    RoleGet: unaryMethod(host, RoleGet.method, role('role'), (r: RoleGetResponse) => ({
      header: c.header(r.header),
      perm: r.perm.map((p) => ({ permType: permTypes[p.permType] ?? 'READ', key: p.key, range_end: p.rangeEnd ?? new Uint8Array(0) })),
    })),
    RoleList: unaryMethod(host, RoleList.method, none, (r: RoleListResponse) => ({ header: c.header(r.header), roles: r.roles })),
    RoleDelete: unaryMethod(host, RoleDelete.method, role('role'), c.headerOnly),
    RoleGrantPermission: unaryMethod(
      host,
      RoleGrantPermission.method,
      (r) => {
        const p = c.msg(r['perm']);
        return { name: c.str(r['name']), perm: { permType: c.enumName(p['permType'], 'read'), key: c.bytes(p['key']), ...c.optBytes('rangeEnd', p['range_end']) } };
      },
      c.headerOnly,
    ),
    RoleRevokePermission: unaryMethod(
      host,
      RoleRevokePermission.method,
      (r) => ({ role: c.str(r['role']), key: c.bytes(r['key']), ...c.optBytes('rangeEnd', r['range_end']) }),
      c.headerOnly,
    ),
  };
}
