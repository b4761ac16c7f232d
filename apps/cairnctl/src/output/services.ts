import type { ResponseHeader } from '@cairn/client';
import type { HealthStatus, Instance } from '@cairn/registry';
import { goQuote } from './goquote.js';
import { headerJson } from './jsonPrinter.js';
import { writeJson, type Json } from './json.js';
import { renderTable } from './table.js';

/*
 * What `cairnctl service list` and `service get` print. etcdctl has no such commands; the
 * shapes follow its conventions: `simple` is the table's cells, comma-separated, one line per
 * row (like `member list`), `table` has the same columns under a header, and `json` is one
 * object with the read's header. Unlike etcdctl's protobuf JSON, counts of zero are printed:
 * a script reads `.critical` without a default.
 */

/** A lease id as `lease` commands take and print it (etcdctl's %016x). */
const leaseHexOf = (id: bigint): string => BigInt.asUintN(64, id).toString(16).padStart(16, '0');

/** One service's instances, counted by status. */
export interface ServiceSummary {
  readonly name: string;
  readonly instances: number;
  readonly passing: number;
  readonly warning: number;
  readonly critical: number;
}

/** One instance with what the store says about it beside its record. */
export interface InstanceRow {
  readonly instance: Instance;
  readonly key: string;
  readonly modRevision: bigint;
  /** 0: not on a lease (written by hand). */
  readonly lease: bigint;
  /** Seconds left on the lease; undefined without a lease; -1 when it expired meanwhile. */
  readonly ttlSeconds: number | undefined;
  readonly grantedTtlSeconds: number | undefined;
}

export function summarise(name: string, instances: readonly Instance[]): ServiceSummary {
  const count = (s: HealthStatus): number => instances.filter((i) => i.status === s).length;
  return { name, instances: instances.length, passing: count('passing'), warning: count('warning'), critical: count('critical') };
}

const LIST_HEADER = ['SERVICE', 'INSTANCES', 'PASSING', 'WARNING', 'CRITICAL'];
const listCells = (s: ServiceSummary): string[] => [s.name, String(s.instances), String(s.passing), String(s.warning), String(s.critical)];

export const serviceListText = (list: readonly ServiceSummary[]): string => list.map((s) => `${listCells(s).join(', ')}\n`).join('');
export const serviceListTable = (list: readonly ServiceSummary[]): string => renderTable(LIST_HEADER, list.map(listCells));
export const serviceListJson = (header: ResponseHeader, list: readonly ServiceSummary[]): string =>
  `${writeJson({ header: headerJson(header), services: list.map((s) => ({ ...s })) })}\n`;

/** `10.0.0.7:8080`, `[::1]:8080`. */
export const hostPort = (i: Instance): string => (i.address.includes(':') ? `[${i.address}]:${i.port}` : `${i.address}:${i.port}`);

/** `9s`, `expired`, or `-` for an instance not on a lease. */
export const ttlText = (r: InstanceRow): string => (r.ttlSeconds === undefined ? '-' : r.ttlSeconds < 0 ? 'expired' : `${r.ttlSeconds}s`);

/** Metadata as `k=v` pairs by key, space-separated; a key or value that would be ambiguous is Go-quoted. */
export function metadataText(metadata: Readonly<Record<string, string>>): string {
  const q = (s: string): string => (s === '' || /[\s,="\\]/.test(s) || /[^\x21-\x7e]/.test(s) ? goQuote(s) : s);
  return Object.keys(metadata)
    .sort()
    .map((k) => `${q(k)}=${q(metadata[k]!)}`)
    .join(' ');
}

const GET_HEADER = ['ID', 'STATUS', 'ADDRESS', 'WEIGHT', 'TTL LEFT', 'METADATA'];
const getCells = (r: InstanceRow): string[] => [r.instance.id, r.instance.status, hostPort(r.instance), String(r.instance.weight), ttlText(r), metadataText(r.instance.metadata)];

export const serviceGetText = (rows: readonly InstanceRow[]): string => rows.map((r) => `${getCells(r).join(', ')}\n`).join('');
export const serviceGetTable = (rows: readonly InstanceRow[]): string => renderTable(GET_HEADER, rows.map(getCells));

export function instanceJson(r: InstanceRow): Json {
  const i = r.instance;
  return {
    id: i.id,
    status: i.status,
    address: i.address,
    port: i.port,
    weight: i.weight,
    metadata: { ...i.metadata },
    registered_at: i.registeredAt,
    lease: r.lease === 0n ? undefined : leaseHexOf(r.lease),
    ttl_left_seconds: r.ttlSeconds,
    granted_ttl_seconds: r.grantedTtlSeconds,
    checks: i.checks.map((c) => ({ name: c.name, status: c.status, output: c.output })),
    key: r.key,
    mod_revision: r.modRevision,
  };
}

export const serviceGetJson = (header: ResponseHeader, service: string, rows: readonly InstanceRow[]): string =>
  `${writeJson({ header: headerJson(header), service, instances: rows.map(instanceJson) })}\n`;
