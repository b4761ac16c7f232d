// Auth under faults: an administrator turns auth on, then keeps revoking and granting back the
// write permission of user alice's role on the prefix `a/`, while alice writes there through
// random members. Each member checks alice's request against its own (possibly stale) copy of
// the auth store and stamps the proposal with that store's revision, as the client API does;
// the applier must check it again when the store moved in between (apply/authCheck.ts).
import { toBytes, type Permission } from '@cairn/protocol';
import type { AuthOp } from '../src/auth/ops.js';
import type { ReferenceEvent } from './checks.js';
import type { Outcome, Workload } from './workload.js';

export const AUTH_PREFIX = 'a/';
const USER = 'alice';
const ROLE = 'writer';
const perm: Permission = { permType: 'readwrite', key: toBytes(AUTH_PREFIX), rangeEnd: toBytes('a0') };

/** A call and when it returned (undefined: its outcome is unknown; it may apply any time after `call`). */
interface Timed {
  readonly call: number;
  readonly ret: number | undefined;
}

export interface AliceWrite extends Timed {
  readonly value: string;
}

export interface PermissionChange extends Timed {
  readonly grant: boolean;
}

export class AuthClients {
  readonly writes: AliceWrite[] = [];
  /** Revokes and grants that may have applied (failed ones left out). */
  readonly changes: PermissionChange[] = [];
  private enabled = false;
  private seq = 0;

  constructor(private readonly w: Workload) {}

  private returned(o: Outcome<unknown>): number | undefined {
    return o.kind === 'ok' ? this.w.loop.now : undefined;
  }

  /** Sets up root, alice and her role, enables auth; then toggles the permission until `untilMs`. */
  async admin(client: number, untilMs: number): Promise<void> {
    const steps: AuthOp[] = [
      { op: 'userAdd', name: 'root' },
      { op: 'roleAdd', name: 'root' },
      { op: 'userGrantRole', user: 'root', role: 'root' },
      { op: 'userAdd', name: USER },
      { op: 'roleAdd', name: ROLE },
      { op: 'userGrantRole', user: USER, role: ROLE },
      { op: 'roleGrantPermission', name: ROLE, perm },
      { op: 'enable', secret: new Uint8Array(32).fill(7) },
    ];
    for (const op of steps) {
      // Retried until it certainly happened (an "already exists" answer says it did).
      for (;;) {
        if (this.w.loop.now >= untilMs) return;
        await this.w.sleep(20 + this.w.rng.nextInt(100));
        const slot = this.w.pick();
        if (slot === undefined) continue;
        const o = await this.w.call(slot, () => slot.member!.propose({ auth: op }));
        this.w.note(client, `auth ${op.op} on ${slot.name}`, o);
        if (o.kind === 'ok' || (o.kind === 'failed' && /exist/.test(o.code))) break;
      }
    }
    this.enabled = true;
    let granted = true;
    while (this.w.loop.now < untilMs) {
      await this.w.sleep(100 + this.w.rng.nextInt(1500));
      const slot = this.w.pick();
      if (slot === undefined) continue;
      const grant: boolean = !granted;
      const op: AuthOp = grant ? { op: 'roleGrantPermission', name: ROLE, perm } : { op: 'roleRevokePermission', name: ROLE, key: perm.key, rangeEnd: perm.rangeEnd! };
      const call = this.w.loop.now;
      const o = await this.w.call(slot, () => slot.member!.propose({ auth: op }));
      this.w.note(client, `${grant ? 'grant' : 'revoke'} ${USER}'s write on ${AUTH_PREFIX} on ${slot.name}`, o);
      if (o.kind !== 'failed') this.changes.push({ grant, call, ret: this.returned(o) });
      if (o.kind === 'ok') granted = grant;
    }
  }

  /** Alice writes under `a/` through random members, checked by that member as the API would. */
  async alice(client: number, untilMs: number): Promise<void> {
    while (this.w.loop.now < untilMs) {
      await this.w.sleep(20 + this.w.rng.nextInt(150));
      if (!this.enabled) continue;
      const slot = this.w.pick();
      if (slot === undefined) continue;
      const m = slot.member!;
      const key = toBytes(`${AUTH_PREFIX}${this.w.rng.nextInt(3)}`);
      const value = `alice-${++this.seq}`;
      const call = this.w.loop.now;
      const o = await this.w.call(slot, async () => {
        const store = m.applier.auth;
        if (!store.permitted(USER, 'write', key, undefined)) return 'denied here' as const;
        return m.propose({ put: { key, value: toBytes(value) } }, { user: USER, authRevision: store.revision });
      });
      if (o.kind === 'ok' && o.value === 'denied here') continue;
      this.w.note(client, `alice put ${value} on ${slot.name}`, o);
      if (o.kind !== 'failed') this.writes.push({ value, call, ret: this.returned(o) });
    }
  }
}

/**
 * No write of alice's is in the history if a revoke of her permission was acknowledged before
 * the write was even called, unless a grant may have applied between that revoke and the write.
 */
export function checkAuth(auth: AuthClients, history: ReadonlyMap<bigint, readonly ReferenceEvent[]>): string[] {
  const visible = new Set<string>();
  for (const events of history.values()) for (const e of events) if (e.type === 'put' && e.key.startsWith(AUTH_PREFIX)) visible.add(e.value);
  const out: string[] = [];
  for (const w of auth.writes) {
    if (!visible.has(w.value)) continue;
    const appliedBy = w.ret ?? Infinity;
    for (const r of auth.changes) {
      if (r.grant || r.ret === undefined || r.ret >= w.call) continue;
      const regranted = auth.changes.some((g) => g.grant && g.call < appliedBy && (g.ret ?? Infinity) > r.call);
      if (!regranted) {
        out.push(`alice's write ${w.value} (called at ${w.call} ms) was applied, but her permission was revoked at ${r.call}..${r.ret} ms and never granted back before it`);
        break;
      }
    }
    if (out.length > 5) break;
  }
  return out;
}
