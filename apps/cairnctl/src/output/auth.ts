import { prefixEnd, type AlarmMember, type Permission, type ResponseHeader } from '@cairn/client';
import { headerJson } from './jsonPrinter.js';
import { base64, omitEmpty as o, writeJson, type Json } from './json.js';
import { bytesToString } from './printer.js';

/*
 * What etcdctl prints for user, role, auth and alarm commands (ctlv3/command/printer_simple.go).
 * `-w json` prints the response as etcdctl does (header plus the fields); the other formats
 * print the simple text, as etcdctl does for these commands.
 */

export function roleGetText(role: string, perms: readonly Permission[]): string {
  let out = `Role ${role}\n`;
  const line = (p: Permission): string => {
    const key = bytesToString(p.key);
    if (p.rangeEnd === undefined || p.rangeEnd.length === 0) return `\t${key}\n`;
    const end = bytesToString(p.rangeEnd);
    let s = p.rangeEnd.length === 1 && p.rangeEnd[0] === 0 ? `\t[${key}, <open ended>` : `\t[${key}, ${end})`;
    if (p.key.length > 0 && Buffer.compare(Buffer.from(prefixEnd(p.key)), Buffer.from(p.rangeEnd)) === 0) s += ` (prefix ${key})`;
    return `${s}\n`;
  };
  out += 'KV Read:\n';
  for (const p of perms) if (p.permType !== 'write') out += line(p);
  out += 'KV Write:\n';
  for (const p of perms) if (p.permType !== 'read') out += line(p);
  return out;
}

export function userGetText(name: string, roles: readonly string[]): string {
  return `User: ${name}\nRoles:${roles.map((r) => ` ${r}`).join('')}\n`;
}

export function alarmText(alarms: readonly AlarmMember[]): string {
  return alarms.map((a) => `memberID:${BigInt.asUintN(64, a.memberId)} alarm:${a.alarm.toUpperCase()}\n`).join('');
}

const permTypeJson = { read: undefined, write: 1, readwrite: 2 } as const;

export function permJson(p: Permission): Json {
  return { permType: permTypeJson[p.permType], key: o(base64(p.key)), range_end: p.rangeEnd === undefined ? undefined : o(base64(p.rangeEnd)) };
}

/** `-w json` of an auth response: the header first, then the response's own fields. */
export function authJson(header: ResponseHeader, fields: { readonly [key: string]: Json } = {}): string {
  return `${writeJson({ header: headerJson(header), ...fields })}\n`;
}
