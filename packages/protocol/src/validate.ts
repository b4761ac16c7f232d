import { CairnError, ErrorCode } from './errors.js';
import type * as t from './types.js';

/**
 * Runtime checks for request parameters arriving from the wire. Each decoder returns a value of
 * the declared request type or throws CairnError(invalid_argument) naming the bad field. Numbers
 * are accepted where a bigint is declared (a convenience for hand-written clients) and converted.
 */
export type Decoder<T> = (value: unknown, path: string) => T;

function fail(path: string, what: string): never {
  throw new CairnError(ErrorCode.InvalidArgument, `invalid argument: ${path} ${what}`);
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

export const bytes: Decoder<Uint8Array> = (v, p) => {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return new TextEncoder().encode(v);
  return fail(p, 'must be bytes');
};

export const bool: Decoder<boolean> = (v, p) => (typeof v === 'boolean' ? v : fail(p, 'must be a boolean'));
export const str: Decoder<string> = (v, p) => (typeof v === 'string' ? v : fail(p, 'must be a string'));

const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** A signed 64-bit integer, as bigint. */
export const int64: Decoder<bigint> = (v, p) => {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
  else return fail(p, 'must be an integer');
  if (b > INT64_MAX || b < -INT64_MAX - 1n) fail(p, 'is out of the 64-bit range');
  return b;
};

/** An unsigned 64-bit id, as bigint. */
export const uint64: Decoder<bigint> = (v, p) => {
  const b = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : fail(p, 'must be an integer');
  if (b < 0n || b > UINT64_MAX) fail(p, 'is out of the unsigned 64-bit range');
  return b;
};

/** A non-negative JS integer (counts, limits, seconds). */
export const count: Decoder<number> = (v, p) => {
  if (typeof v === 'bigint' && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  return fail(p, 'must be a non-negative integer');
};

export function oneOf<T extends string>(...values: T[]): Decoder<T> {
  const set = new Set<string>(values);
  return (v, p) => (typeof v === 'string' && set.has(v) ? (v as T) : fail(p, `must be one of ${values.join(', ')}`));
}

export function array<T>(item: Decoder<T>, maxItems = Number.MAX_SAFE_INTEGER): Decoder<T[]> {
  return (v, p) => {
    if (!Array.isArray(v)) return fail(p, 'must be an array');
    if (v.length > maxItems) return fail(p, `has more than ${maxItems} items`);
    return v.map((x, i) => item(x, `${p}[${i}]`));
  };
}

type Fields<T> = { [K in keyof T]-?: Decoder<T[K]> | Optional<Exclude<T[K], undefined>> };
interface Optional<T> {
  readonly optional: Decoder<T>;
}
export function optional<T>(d: Decoder<T>): Optional<T> {
  return { optional: d };
}

/**
 * An object with exactly these fields. Absent (or nil) optional fields stay absent; unknown fields
 * are ignored so that newer clients can talk to older servers.
 */
export function object<T>(fields: Fields<T>): Decoder<T> {
  const entries = Object.entries(fields) as [string, Decoder<unknown> | Optional<unknown>][];
  return (v, p) => {
    if (!isRecord(v)) return fail(p || 'params', 'must be a map');
    const out: Record<string, unknown> = {};
    for (const [name, d] of entries) {
      const raw = v[name];
      const path = p ? `${p}.${name}` : name;
      if (typeof d === 'function') out[name] = d(raw, path);
      else if (raw !== undefined && raw !== null) out[name] = d.optional(raw, path);
    }
    return out as T;
  };
}

export function lazy<T>(f: () => Decoder<T>): Decoder<T> {
  return (v, p) => f()(v, p);
}

const sortOrder = oneOf<t.SortOrder>('none', 'ascend', 'descend');
const sortTarget = oneOf<t.SortTarget>('key', 'version', 'create', 'mod', 'value');

export const rangeRequest = object<t.RangeRequest>({
  key: bytes,
  rangeEnd: optional(bytes),
  limit: optional(count),
  revision: optional(int64),
  sortOrder: optional(sortOrder),
  sortTarget: optional(sortTarget),
  serializable: optional(bool),
  keysOnly: optional(bool),
  countOnly: optional(bool),
  minModRevision: optional(int64),
  maxModRevision: optional(int64),
  minCreateRevision: optional(int64),
  maxCreateRevision: optional(int64),
});

export const putRequest = object<t.PutRequest>({
  key: bytes,
  value: optional(bytes),
  lease: optional(int64),
  prevKv: optional(bool),
  ignoreValue: optional(bool),
  ignoreLease: optional(bool),
});

export const deleteRangeRequest = object<t.DeleteRangeRequest>({
  key: bytes,
  rangeEnd: optional(bytes),
  prevKv: optional(bool),
});

const compareResult = oneOf<t.CompareResult>('equal', 'greater', 'less', 'not_equal');
const compareTarget = oneOf<t.CompareTarget>('version', 'create', 'mod', 'value', 'lease');

const compareHead = object<{ key: Uint8Array; rangeEnd?: Uint8Array; result: t.CompareResult; target: t.CompareTarget }>({
  key: bytes,
  rangeEnd: optional(bytes),
  result: compareResult,
  target: compareTarget,
});

export const compare: Decoder<t.Compare> = (v, p) => {
  const head = compareHead(v, p);
  const raw = (v as Record<string, unknown>)['value'];
  const value = head.target === 'value' ? bytes(raw, `${p}.value`) : int64(raw, `${p}.value`);
  return { ...head, value } as t.Compare;
};

export const requestOp: Decoder<t.RequestOp> = (v, p) => {
  if (!isRecord(v)) return fail(p, 'must be a map');
  const present = (['range', 'put', 'deleteRange', 'txn'] as const).filter((k) => v[k] !== undefined && v[k] !== null);
  if (present.length !== 1) return fail(p, 'must hold exactly one of range, put, deleteRange, txn');
  switch (present[0]!) {
    case 'range':
      return { range: rangeRequest(v['range'], `${p}.range`) };
    case 'put':
      return { put: putRequest(v['put'], `${p}.put`) };
    case 'deleteRange':
      return { deleteRange: deleteRangeRequest(v['deleteRange'], `${p}.deleteRange`) };
    case 'txn':
      return { txn: txnRequest(v['txn'], `${p}.txn`) };
  }
};

// Item caps here only bound decoding work; the server enforces its configured maxTxnOps.
const MAX_DECODE_ITEMS = 100_000;
export const txnRequest: Decoder<t.TxnRequest> = object<t.TxnRequest>({
  compare: lazy(() => array(compare, MAX_DECODE_ITEMS)),
  success: lazy(() => array(requestOp, MAX_DECODE_ITEMS)),
  failure: lazy(() => array(requestOp, MAX_DECODE_ITEMS)),
});

export const compactionRequest = object<t.CompactionRequest>({ revision: int64, physical: optional(bool) });

export const leaseGrantRequest = object<t.LeaseGrantRequest>({ ttlSeconds: count, id: optional(int64) });
export const leaseIdRequest = object<t.LeaseRevokeRequest>({ id: int64 });
export const leaseTimeToLiveRequest = object<t.LeaseTimeToLiveRequest>({ id: int64, keys: optional(bool) });
export const emptyRequest = object<Record<string, never>>({});

export const watchCreateRequest = object<t.WatchCreateRequest>({
  key: bytes,
  rangeEnd: optional(bytes),
  startRevision: optional(int64),
  prevKv: optional(bool),
  filters: optional(array(oneOf<t.WatchFilter>('noput', 'nodelete'), 2)),
  progressNotify: optional(bool),
  fragment: optional(bool),
});

const url = array(str, 64);
export const memberListRequest = object<t.MemberListRequest>({ linearizable: optional(bool) });
export const memberAddRequest = object<t.MemberAddRequest>({ peerUrls: url, isLearner: optional(bool) });
export const memberIdRequest = object<t.MemberRemoveRequest>({ id: uint64 });
export const memberUpdateRequest = object<t.MemberUpdateRequest>({ id: uint64, peerUrls: url });
export const hashKvRequest = object<t.HashKvRequest>({ revision: optional(int64) });
export const alarmRequest = object<t.AlarmRequest>({
  action: oneOf('get', 'activate', 'deactivate'),
  memberId: optional(uint64),
  alarm: optional(oneOf<t.AlarmType>('none', 'nospace', 'corrupt')),
});
export const moveLeaderRequest = object<t.MoveLeaderRequest>({ targetId: uint64 });
export const snapshotAck = object<t.SnapshotAck>({ ack: count });

/** Names of users and roles: non-empty, bounded, no control characters. */
export const MAX_AUTH_NAME_BYTES = 256;
/** Longest password accepted (scrypt takes anything; this bounds the work per request). */
export const MAX_PASSWORD_BYTES = 1024;
export const authName: Decoder<string> = (v, p) => {
  const s = str(v, p);
  if (s.length === 0) return fail(p, 'must not be empty');
  if (new TextEncoder().encode(s).length > MAX_AUTH_NAME_BYTES) return fail(p, `is longer than ${MAX_AUTH_NAME_BYTES} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s)) return fail(p, 'must not contain control characters');
  return s;
};
export const password: Decoder<string> = (v, p) => {
  const s = str(v, p);
  if (new TextEncoder().encode(s).length > MAX_PASSWORD_BYTES) return fail(p, `is longer than ${MAX_PASSWORD_BYTES} bytes`);
  return s;
};
export const permission = object<t.Permission>({
  permType: oneOf<t.PermissionType>('read', 'write', 'readwrite'),
  key: bytes,
  rangeEnd: optional(bytes),
});
export const authenticateRequest = object<t.AuthenticateRequest>({ name: authName, password });
export const userAddRequest = object<t.UserAddRequest>({ name: authName, password: optional(password), noPassword: optional(bool) });
export const userNameRequest = object<t.UserNameRequest>({ name: authName });
export const userChangePasswordRequest = object<t.UserChangePasswordRequest>({ name: authName, password });
export const userRoleRequest = object<t.UserRoleRequest>({ user: authName, role: authName });
export const roleNameRequest = object<t.RoleNameRequest>({ role: authName });
export const roleGrantPermissionRequest = object<t.RoleGrantPermissionRequest>({ name: authName, perm: permission });
export const roleRevokePermissionRequest = object<t.RoleRevokePermissionRequest>({ role: authName, key: bytes, rangeEnd: optional(bytes) });
