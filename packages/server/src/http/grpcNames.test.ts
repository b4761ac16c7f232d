import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@cairn/protocol';
import { grpcCode, grpcName, UNKNOWN_METHOD } from './grpcNames.js';

describe('etcd gRPC names of Cairn methods', () => {
  it('maps each service and the methods etcd names differently', () => {
    expect(grpcName('kv.range')).toEqual({ type: 'unary', service: 'etcdserverpb.KV', method: 'Range' });
    expect(grpcName('kv.deleteRange')).toEqual({ type: 'unary', service: 'etcdserverpb.KV', method: 'DeleteRange' });
    expect(grpcName('lease.grant')).toEqual({ type: 'unary', service: 'etcdserverpb.Lease', method: 'LeaseGrant' });
    expect(grpcName('lease.keepAlive')).toEqual({ type: 'bidi_stream', service: 'etcdserverpb.Lease', method: 'LeaseKeepAlive' });
    expect(grpcName('watch')).toEqual({ type: 'bidi_stream', service: 'etcdserverpb.Watch', method: 'Watch' });
    expect(grpcName('maintenance.hashKv')).toEqual({ type: 'unary', service: 'etcdserverpb.Maintenance', method: 'HashKV' });
    expect(grpcName('maintenance.snapshot')).toEqual({ type: 'server_stream', service: 'etcdserverpb.Maintenance', method: 'Snapshot' });
    expect(grpcName('cluster.memberAdd')).toEqual({ type: 'unary', service: 'etcdserverpb.Cluster', method: 'MemberAdd' });
    expect(grpcName('auth.enable')).toEqual({ type: 'unary', service: 'etcdserverpb.Auth', method: 'AuthEnable' });
    expect(grpcName('auth.userAdd')).toEqual({ type: 'unary', service: 'etcdserverpb.Auth', method: 'UserAdd' });
  });

  it('puts every unknown method in one series', () => {
    for (const m of ['nope', 'nope.x', 'kv.', '', 'unknown']) expect(grpcName(m)).toBe(UNKNOWN_METHOD);
  });

  it('answers with etcd status codes', () => {
    expect(grpcCode('ok')).toBe('OK');
    expect(grpcCode(ErrorCode.NoLeader)).toBe('Unavailable');
    expect(grpcCode(ErrorCode.Compacted)).toBe('OutOfRange');
    expect(grpcCode(ErrorCode.PermissionDenied)).toBe('PermissionDenied');
    expect(grpcCode(ErrorCode.NoSpace)).toBe('ResourceExhausted');
    expect(grpcCode('not-a-code')).toBe('Unknown');
  });
});
