import type { Member, MemberAddResponse, ResponseHeader } from '@cairn/client';
import { goQuote } from './goquote.js';
import { headerJson, memberJson, memberListJson } from './jsonPrinter.js';
import { hexId } from './printer.js';
import { omitEmpty as o, writeJson } from './json.js';

/*
 * What etcdctl prints for `member add/remove/update/promote` and `move-leader`
 * (ctlv3/command/printer_simple.go, member_command.go). They have a simple form and a JSON
 * form only: etcdctl refuses `-w table` and `-w fields` for them.
 */

/** Go's `%16x`: hex, padded on the left with spaces to 16 characters (not zeros). */
const hex16 = (id: bigint): string => hexId(id).padStart(16, ' ');

export function memberAddText(res: MemberAddResponse): string {
  const as = res.member.isLearner ? ' as learner ' : ' ';
  return `Member ${hex16(res.member.id)} added${as}to cluster ${hex16(res.header.clusterId)}\n`;
}

export type MemberChange = 'removed from' | 'updated in' | 'promoted in';

export function memberChangeText(change: MemberChange, id: bigint, header: ResponseHeader): string {
  return `Member ${hex16(id)} ${change} cluster ${hex16(header.clusterId)}\n`;
}

/**
 * The settings the new member starts with, after `member add`: its name, the initial cluster
 * (every member's `name=peerURL`, the new one under `name`; members that have not started yet
 * have an empty name), its peer URLs, and state `existing`. Shell-sourceable, Go-quoted.
 */
export function newMemberEnv(name: string, peerUrls: readonly string[], newId: bigint, members: readonly Member[]): string {
  const cluster = members.flatMap((m) => m.peerUrls.map((u) => `${m.id === newId ? name : m.name}=${u}`));
  return (
    '\n' +
    `CAIRN_NAME=${goQuote(name)}\n` +
    `CAIRN_INITIAL_CLUSTER=${goQuote(cluster.join(','))}\n` +
    `CAIRN_INITIAL_ADVERTISE_PEER_URLS=${goQuote(peerUrls.join(','))}\n` +
    'CAIRN_INITIAL_CLUSTER_STATE="existing"\n'
  );
}

/** etcd's types.ID: hex without padding. */
export function moveLeaderText(leader: bigint, target: bigint): string {
  return `Leadership transferred from ${hexId(leader)} to ${hexId(target)}\n`;
}

export function memberAddJson(res: MemberAddResponse): string {
  return `${writeJson({ header: headerJson(res.header), member: memberJson(res.member), members: o(res.members.map(memberJson)) })}\n`;
}

/** The answer to a remove, update or promote: `{"header":…,"members":[…]}`. */
export function memberChangeJson(res: { readonly header: ResponseHeader; readonly members: readonly Member[] }): string {
  return `${writeJson(memberListJson(res))}\n`;
}

export function headerOnlyJson(header: ResponseHeader): string {
  return `${writeJson({ header: headerJson(header) })}\n`;
}
