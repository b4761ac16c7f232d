import { status } from '@grpc/grpc-js';
import { CairnError, ErrorCode } from '@cairn/protocol';
import { describe, expect, it } from 'vitest';
import { grpcStatusOf } from './status.js';

describe('grpcStatusOf', () => {
  it("answers with etcd's gRPC codes and exact messages, whatever detail Cairn's message had", () => {
    expect(grpcStatusOf(new CairnError(ErrorCode.Compacted, 'compacted at 7'))).toEqual({
      code: status.OUT_OF_RANGE,
      message: 'etcdserver: mvcc: required revision has been compacted',
    });
    expect(grpcStatusOf(new CairnError(ErrorCode.LeaseNotFound))).toEqual({ code: status.NOT_FOUND, message: 'etcdserver: requested lease not found' });
    expect(grpcStatusOf(new CairnError(ErrorCode.PermissionDenied))).toEqual({ code: status.PERMISSION_DENIED, message: 'etcdserver: permission denied' });
    expect(grpcStatusOf(new CairnError(ErrorCode.RequestTooLarge, 'request is too large: 9 bytes'))).toEqual({
      code: status.INVALID_ARGUMENT,
      message: 'etcdserver: request is too large',
    });
    expect(grpcStatusOf(new CairnError(ErrorCode.NoSpace))).toEqual({ code: status.RESOURCE_EXHAUSTED, message: 'etcdserver: mvcc: database space exceeded' });
    expect(grpcStatusOf(new CairnError(ErrorCode.NoLeader)).code).toBe(status.UNAVAILABLE);
  });

  it("keeps Cairn's message where etcd's clients do not match on it", () => {
    expect(grpcStatusOf(new CairnError(ErrorCode.InvalidArgument, 'invalid argument: limit must be a count'))).toEqual({
      code: status.INVALID_ARGUMENT,
      message: 'etcdserver: invalid argument: limit must be a count',
    });
  });
});
