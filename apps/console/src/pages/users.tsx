// Users and roles (root only): who has which roles, and each role's key permissions.
import type { JSX } from 'preact';
import { bytesToString, prefixEnd, type Permission } from '@cairn/client';
import type { Session } from '../session.js';
import { Empty, ErrorBox, Section, Table, usePoll } from '../ui.js';

function describe(p: Permission): string {
  const key = bytesToString(p.key);
  if (p.rangeEnd === undefined || p.rangeEnd.length === 0) return `${p.permType} ${key}`;
  const end = bytesToString(p.rangeEnd);
  if (end === bytesToString(prefixEnd(p.key))) return `${p.permType} ${key}* (prefix)`;
  return `${p.permType} [${key}, ${end})`;
}

export function UsersPage({ session }: { readonly session: Session }): JSX.Element {
  const a = session.client.auth;
  const poll = usePoll(async () => {
    const [status, users, roles] = await Promise.all([a.status(), a.userList(), a.roleList()]);
    const withRoles = await Promise.all(users.users.map(async (name) => ({ name, roles: (await a.userGet(name)).roles })));
    const perms = await Promise.all(roles.roles.map(async (name) => ({ name, perms: (await a.roleGet(name)).perm })));
    return { enabled: status.enabled, users: withRoles, roles: perms };
  }, 5000);
  const d = poll.data;
  return (
    <>
      <ErrorBox error={poll.error} />
      {d !== undefined && <p class="summary">Authentication is {d.enabled ? 'on' : 'off'}.</p>}
      <Section title="Users">
        {d !== undefined && <Table rows={d.users} rowKey={(u) => u.name} empty="No users." columns={[{ label: 'User', sort: (u) => u.name }, { label: 'Roles', sort: (u) => u.roles.join(', ') }]} />}
      </Section>
      <Section title="Roles">
        {d !== undefined &&
          (d.roles.length === 0 ? (
            <Empty>No roles.</Empty>
          ) : (
            <Table rows={d.roles} rowKey={(r) => r.name} empty="No roles." columns={[{ label: 'Role', sort: (r) => r.name }, { label: 'Permissions', sort: (r) => r.perms.length, render: (r) => (r.name === 'root' ? 'everything' : r.perms.map(describe).join('; ') || 'none') }]} />
          ))}
      </Section>
    </>
  );
}
