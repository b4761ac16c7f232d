import {
  Authenticate,
  AuthDisable,
  AuthEnable,
  AuthStatus,
  CairnError,
  ErrorCode,
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
  validate,
} from '@cairn/protocol';
import type { Member } from '../member.js';
import type { AuthStore } from '../auth/store.js';
import type { Authorizer } from '../auth/authorizer.js';
import { hashPassword, newTokenSecret } from '../auth/password.js';
import { unary, type UnaryHandler } from './unary.js';

/**
 * The auth methods. Everything random (password salts, the token secret) is decided here,
 * before proposing; the applier only records what the log says.
 */
export function authHandlers(member: Member, auth: Authorizer): [string, UnaryHandler][] {
  // Read at each call: a snapshot install replaces the store().
  const store = (): AuthStore => member.applier.auth;
  return [
    unary(Authenticate, validate.authenticateRequest, async (req, caller) => ({
      header: member.header(),
      token: await auth.authenticate(req.name, req.password, caller.remoteAddress),
    })),
    unary(AuthStatus, validate.emptyRequest, () => ({ header: member.header(), enabled: store().enabled, authRevision: store().revision })),
    unary(AuthEnable, validate.emptyRequest, (_req, caller) => {
      // Anyone may enable auth while it is off; once on, only root may (it is then a no-op).
      const who = auth.admin(caller);
      return member.propose({ auth: { op: 'enable', secret: newTokenSecret() } }, who);
    }),
    unary(AuthDisable, validate.emptyRequest, (_req, caller) => {
      const who = auth.admin(caller);
      return member.propose({ auth: { op: 'disable' } }, who);
    }),
    unary(UserAdd, validate.userAddRequest, async (req, caller) => {
      // Checked before hashing: should root's grant go while scrypt runs, the applier refuses.
      const who = auth.admin(caller);
      if (req.noPassword !== true && (req.password === undefined || req.password === '')) {
        throw new CairnError(ErrorCode.InvalidArgument, 'invalid argument: a password is required (or noPassword)');
      }
      if (store().user(req.name) !== undefined) throw new CairnError(ErrorCode.UserAlreadyExists);
      const passwordHash = req.noPassword === true ? undefined : await hashPassword(req.password!);
      return member.propose({ auth: passwordHash === undefined ? { op: 'userAdd', name: req.name } : { op: 'userAdd', name: req.name, passwordHash } }, who);
    }),
    unary(UserGet, validate.userNameRequest, (req, caller) => {
      auth.adminOrSelf(caller, req.name);
      const u = store().user(req.name);
      if (u === undefined) throw new CairnError(ErrorCode.UserNotFound);
      return { header: member.header(), roles: [...u.roles] };
    }),
    unary(UserList, validate.emptyRequest, (_req, caller) => {
      auth.admin(caller);
      return { header: member.header(), users: store().userNames() };
    }),
    unary(UserDelete, validate.userNameRequest, (req, caller) => {
      const who = auth.admin(caller);
      return member.propose({ auth: { op: 'userDelete', name: req.name } }, who);
    }),
    unary(UserChangePassword, validate.userChangePasswordRequest, async (req, caller) => {
      const who = auth.admin(caller);
      if (req.password === '') throw new CairnError(ErrorCode.InvalidArgument, 'invalid argument: password must not be empty');
      if (store().user(req.name) === undefined) throw new CairnError(ErrorCode.UserNotFound);
      return member.propose({ auth: { op: 'userChangePassword', name: req.name, passwordHash: await hashPassword(req.password) } }, who);
    }),
    unary(UserGrantRole, validate.userRoleRequest, (req, caller) => {
      const who = auth.admin(caller);
      return member.propose({ auth: { op: 'userGrantRole', user: req.user, role: req.role } }, who);
    }),
    unary(UserRevokeRole, validate.userRoleRequest, (req, caller) => {
      const who = auth.admin(caller);
      return member.propose({ auth: { op: 'userRevokeRole', user: req.user, role: req.role } }, who);
    }),
    unary(RoleAdd, validate.roleNameRequest, (req, caller) => {
      const who = auth.admin(caller);
      return member.propose({ auth: { op: 'roleAdd', name: req.role } }, who);
    }),
    unary(RoleGet, validate.roleNameRequest, (req, caller) => {
      auth.adminOrHolder(caller, req.role);
      const r = store().role(req.role);
      if (r === undefined) throw new CairnError(ErrorCode.RoleNotFound);
      return { header: member.header(), perm: [...r.perms] };
    }),
    unary(RoleList, validate.emptyRequest, (_req, caller) => {
      auth.admin(caller);
      return { header: member.header(), roles: store().roleNames() };
    }),
    unary(RoleDelete, validate.roleNameRequest, (req, caller) => {
      const who = auth.admin(caller);
      return member.propose({ auth: { op: 'roleDelete', name: req.role } }, who);
    }),
    unary(RoleGrantPermission, validate.roleGrantPermissionRequest, (req, caller) => {
      const who = auth.admin(caller);
      if (req.perm.key.length === 0) throw new CairnError(ErrorCode.EmptyKey);
      return member.propose({ auth: { op: 'roleGrantPermission', name: req.name, perm: req.perm } }, who);
    }),
    unary(RoleRevokePermission, validate.roleRevokePermissionRequest, (req, caller) => {
      const who = auth.admin(caller);
      const op = req.rangeEnd === undefined
        ? { op: 'roleRevokePermission' as const, name: req.role, key: req.key }
        : { op: 'roleRevokePermission' as const, name: req.role, key: req.key, rangeEnd: req.rangeEnd };
      return member.propose({ auth: op }, who);
    }),
  ];
}
