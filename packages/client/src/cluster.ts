import {
  Alarm,
  MemberList,
  Status,
  type AlarmMember,
  type AlarmResponse,
  type MemberListResponse,
  type StatusResponse,
} from '@cairn/protocol';
import type { CallOptions, Transport } from './transport.js';
import { callOptionsOf } from './options.js';

export interface MemberListOptions extends CallOptions {
  /** Ask the leader (through a quorum read) rather than the contacted member's view. */
  readonly linearizable?: boolean;
}

/** Cluster membership. */
export class Cluster {
  private readonly transport: Transport;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  memberList(options: MemberListOptions = {}): Promise<MemberListResponse> {
    const params = options.linearizable === true ? { linearizable: true } : {};
    return this.transport.request(MemberList, params, callOptionsOf(options));
  }
}

/** Per-member maintenance. Each call is answered by the member the client is connected to. */
export class Maintenance {
  private readonly transport: Transport;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  status(options: CallOptions = {}): Promise<StatusResponse> {
    return this.transport.request(Status, {}, callOptionsOf(options));
  }

  /** The cluster's active alarms (NOSPACE ...). */
  alarmList(options: CallOptions = {}): Promise<AlarmResponse> {
    return this.transport.request(Alarm, { action: 'get' }, callOptionsOf(options));
  }

  /** Disarms `alarm`, or every active alarm when none is given. */
  alarmDisarm(alarm?: AlarmMember, options: CallOptions = {}): Promise<AlarmResponse> {
    const params = alarm === undefined ? { action: 'deactivate' as const } : { action: 'deactivate' as const, memberId: alarm.memberId, alarm: alarm.alarm };
    return this.transport.request(Alarm, params, callOptionsOf(options));
  }
}
