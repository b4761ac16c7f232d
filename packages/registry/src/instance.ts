import { CairnError, ErrorCode } from '@cairn/client';
import { isHealthStatus, MAX_CHECK_OUTPUT_CHARS, type CheckState, type HealthStatus } from './checks/options.js';

/*
 * Key layout: one key per instance, `<prefix><service>/<id>`, e.g. `services/payments/pay-1`,
 * holding the instance as JSON and attached to the registering process's lease:
 *
 *   services/payments/pay-1  {"service":"payments","id":"pay-1","address":"10.0.0.7","port":8080,
 *                             "metadata":{"zone":"a"},"weight":1,"registeredAt":"2026-12-03T…",
 *                             "status":"passing","checks":[{"name":"http http://10.0.0.7:8080/health",
 *                             "status":"passing","output":"HTTP 200 OK"}]}
 *
 * `status` and `checks` came with health checks: a record without them (an older writer) reads
 * as passing with no checks, and older readers ignore them.
 */

export const DEFAULT_PREFIX = 'services/';

/** One registered instance of a service, as discoverers see it. */
export interface Instance {
  readonly service: string;
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly metadata: Readonly<Record<string, string>>;
  /** Relative share of traffic for the weighted picker (default 1; 0: never picked while others can be). */
  readonly weight: number;
  /** When this registration was (re)made, ISO 8601. */
  readonly registeredAt: string;
  /** The worst of its checks' statuses; passing for an instance without checks. */
  readonly status: HealthStatus;
  /** Its checks' last results, in the order they were registered. */
  readonly checks: readonly CheckState[];
}

/** Whether pickers may choose it and a default (healthy) view shows it: not critical. */
export function isHealthy(i: Instance): boolean {
  return i.status !== 'critical';
}

/** A service or id is one path segment: no slash, not empty, printable. */
function checkName(what: string, v: unknown): string {
  if (typeof v !== 'string' || v === '' || v.includes('/') || [...v].some((ch) => ch.charCodeAt(0) < 0x20)) {
    throw new CairnError(ErrorCode.InvalidArgument, `${what} must be a non-empty string without '/' or control characters, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function servicePrefix(prefix: string, service: string): string {
  return `${prefix.endsWith('/') || prefix === '' ? prefix : `${prefix}/`}${checkName('service', service)}/`;
}

export function instanceKey(prefix: string, service: string, id: string): string {
  return `${servicePrefix(prefix, service)}${checkName('id', id)}`;
}

/** Checks what a caller registers; throws `invalid_argument` naming the bad field. */
export function makeInstance(o: {
  service: string;
  id: string;
  address: string;
  port: number;
  metadata?: Readonly<Record<string, string>> | undefined;
  weight?: number | undefined;
}): Instance {
  const bad = (msg: string): never => {
    throw new CairnError(ErrorCode.InvalidArgument, msg);
  };
  if (typeof o.address !== 'string' || o.address === '') bad('address must be a non-empty string');
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) bad(`port must be an integer in 0..65535, got ${o.port}`);
  const weight = o.weight ?? 1;
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) bad(`weight must be a finite number >= 0, got ${String(weight)}`);
  const metadata = o.metadata ?? {};
  for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') bad(`metadata.${k} must be a string`);
  return {
    service: checkName('service', o.service),
    id: checkName('id', o.id),
    address: o.address,
    port: o.port,
    metadata: { ...metadata },
    weight,
    registeredAt: new Date().toISOString(),
    status: 'passing',
    checks: [],
  };
}

function parseChecksState(v: unknown): CheckState[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new CairnError(ErrorCode.InvalidArgument, 'checks must be an array');
  return v.map((c: unknown, i) => {
    const r = (typeof c === 'object' && c !== null ? c : {}) as Record<string, unknown>;
    if (typeof r['name'] !== 'string' || !isHealthStatus(r['status']) || typeof r['output'] !== 'string') {
      throw new CairnError(ErrorCode.InvalidArgument, `checks[${i}] must be {name, status, output}`);
    }
    return { name: r['name'], status: r['status'], output: r['output'].slice(0, MAX_CHECK_OUTPUT_CHARS) };
  });
}

/** Reads an instance stored under `key`; anything malformed is an `invalid_argument` error. */
export function parseInstance(key: string, value: string): Instance {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    throw new CairnError(ErrorCode.InvalidArgument, `${key}: not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CairnError(ErrorCode.InvalidArgument, `${key}: not a JSON object`);
  const r = v as Record<string, unknown>;
  try {
    const inst = makeInstance({
      service: r['service'] as string,
      id: r['id'] as string,
      address: r['address'] as string,
      port: r['port'] as number,
      metadata: (r['metadata'] ?? {}) as Record<string, string>,
      weight: (r['weight'] ?? 1) as number,
    });
    if (!key.endsWith(`/${inst.service}/${inst.id}`)) throw new CairnError(ErrorCode.InvalidArgument, 'service and id do not match the key');
    const status = r['status'] ?? 'passing';
    if (!isHealthStatus(status)) throw new CairnError(ErrorCode.InvalidArgument, `status must be passing, warning or critical, got ${JSON.stringify(status)}`);
    return { ...inst, registeredAt: typeof r['registeredAt'] === 'string' ? r['registeredAt'] : '', status, checks: parseChecksState(r['checks']) };
  } catch (err) {
    throw new CairnError(ErrorCode.InvalidArgument, `${key}: ${(err as Error).message}`);
  }
}

/** Whether two readings of an instance say the same thing (registeredAt and check outputs aside). */
export function sameInstance(a: Instance, b: Instance): boolean {
  return (
    a.address === b.address &&
    a.port === b.port &&
    a.weight === b.weight &&
    a.status === b.status &&
    a.checks.length === b.checks.length &&
    a.checks.every((c, i) => c.name === b.checks[i]!.name && c.status === b.checks[i]!.status) &&
    JSON.stringify(Object.entries(a.metadata).sort()) === JSON.stringify(Object.entries(b.metadata).sort())
  );
}
