import type { AlarmMember, AlarmType, MemberId } from '@cairn/protocol';
import type { Backend, BatchOp } from '../storage/backend.js';
import { TABLE_ALARM } from '../storage/keyspace.js';

/** An alarm change as it enters the log (raised by a member past its quota, or an operator). */
export interface AlarmOp {
  readonly action: 'activate' | 'deactivate';
  readonly memberId: MemberId;
  readonly alarm: Exclude<AlarmType, 'none'>;
}

const TYPES: readonly Exclude<AlarmType, 'none'>[] = ['nospace', 'corrupt'];

function alarmKey(memberId: bigint, type: Exclude<AlarmType, 'none'>): Uint8Array {
  const k = new Uint8Array(10);
  k[0] = TABLE_ALARM;
  new DataView(k.buffer).setBigUint64(1, BigInt.asUintN(64, memberId));
  k[9] = TYPES.indexOf(type);
  return k;
}

/**
 * The cluster's active alarms, replicated through the log like etcd's: a NOSPACE raised by one
 * member caps writes on every member until an operator disarms it. Deterministic.
 */
export class AlarmStore {
  /** "memberId/type" -> alarm, for a stable list order. */
  private readonly active = new Map<string, AlarmMember>();
  private ops: BatchOp[] = [];

  static load(backend: Backend): AlarmStore {
    const s = new AlarmStore();
    for (const [k] of backend.scan({ gte: new Uint8Array([TABLE_ALARM]), lt: new Uint8Array([TABLE_ALARM + 1]) })) {
      const memberId = new DataView(k.buffer, k.byteOffset, k.byteLength).getBigUint64(1);
      const alarm = TYPES[k[9]!];
      if (alarm !== undefined) s.active.set(`${memberId}/${alarm}`, { memberId, alarm });
    }
    return s;
  }

  has(type: Exclude<AlarmType, 'none'>): boolean {
    for (const a of this.active.values()) if (a.alarm === type) return true;
    return false;
  }

  /** Whether `type` is raised for this member. */
  hasFor(memberId: MemberId, type: Exclude<AlarmType, 'none'>): boolean {
    return this.active.has(`${memberId}/${type}`);
  }

  list(): AlarmMember[] {
    return [...this.active.values()].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : a.alarm < b.alarm ? -1 : 1));
  }

  /** Applies the op; returns the alarms it changed (etcd answers with those). */
  apply(op: AlarmOp): AlarmMember[] {
    const id = `${op.memberId}/${op.alarm}`;
    const a: AlarmMember = { memberId: op.memberId, alarm: op.alarm };
    if (op.action === 'activate') {
      if (this.active.has(id)) return [a];
      this.active.set(id, a);
      this.ops.push({ type: 'put', key: alarmKey(op.memberId, op.alarm), value: new Uint8Array([1]) });
      return [a];
    }
    if (!this.active.delete(id)) return [];
    this.ops.push({ type: 'del', key: alarmKey(op.memberId, op.alarm) });
    return [a];
  }

  drain(): BatchOp[] {
    const ops = this.ops;
    this.ops = [];
    return ops;
  }
}
