import { MemberAdd, MemberList, MemberPromote, MemberRemove, MemberUpdate, type Member, type ResponseHeader } from '@cairn/protocol';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { unaryMethod, type GrpcHost } from './call.js';
import * as c from './convert.js';

const members = (r: { header: ResponseHeader; members: Member[] }): c.Msg => ({ header: c.header(r.header), members: r.members.map(c.member) });
const urls = (v: unknown): string[] => c.list(v).filter((u): u is string => typeof u === 'string');

/** etcdserverpb.Cluster over Cairn's cluster.* handlers. */
export function clusterService(host: GrpcHost): UntypedServiceImplementation {
  return {
    MemberAdd: unaryMethod(
      host,
      MemberAdd.method,
      (r) => ({ peerUrls: urls(r['peerURLs']), ...c.optTrue('isLearner', r['isLearner']) }),
      (r: { header: ResponseHeader; member: Member; members: Member[] }) => ({ ...members(r), member: c.member(r.member) }),
    ),
    MemberRemove: unaryMethod(host, MemberRemove.method, (r) => ({ id: c.int(r['ID']) }), members),
    MemberUpdate: unaryMethod(host, MemberUpdate.method, (r) => ({ id: c.int(r['ID']), peerUrls: urls(r['peerURLs']) }), members),
    MemberList: unaryMethod(host, MemberList.method, (r) => c.optTrue('linearizable', r['linearizable']), members),
    MemberPromote: unaryMethod(host, MemberPromote.method, (r) => ({ id: c.int(r['ID']) }), members),
  };
}
