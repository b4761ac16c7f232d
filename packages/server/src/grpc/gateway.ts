import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { SessionHost } from '../api/session.js';
import type { Msg } from './convert.js';
import { GatewayStreamCall, GatewayUnaryCall, JsonObjects } from './gatewayCalls.js';
import { PROTO_FILES, protoDir } from './protos.js';

/** What the gateway adds to --max-request-bytes for a JSON body (base64 and field names). */
const JSON_OVERHEAD_FACTOR = 2;

type Kind = 'unary' | 'client_stream' | 'server_stream';

/** etcd's gateway paths (under /v3/, also /v3beta/) -> service, method, and how it streams. */
const routes: Readonly<Record<string, readonly [string, string, Kind]>> = {
  'kv/range': ['etcdserverpb.KV', 'Range', 'unary'],
  'kv/put': ['etcdserverpb.KV', 'Put', 'unary'],
  'kv/deleterange': ['etcdserverpb.KV', 'DeleteRange', 'unary'],
  'kv/txn': ['etcdserverpb.KV', 'Txn', 'unary'],
  'kv/compaction': ['etcdserverpb.KV', 'Compact', 'unary'],
  watch: ['etcdserverpb.Watch', 'Watch', 'client_stream'],
  'lease/grant': ['etcdserverpb.Lease', 'LeaseGrant', 'unary'],
  'lease/revoke': ['etcdserverpb.Lease', 'LeaseRevoke', 'unary'],
  'kv/lease/revoke': ['etcdserverpb.Lease', 'LeaseRevoke', 'unary'],
  'lease/keepalive': ['etcdserverpb.Lease', 'LeaseKeepAlive', 'client_stream'],
  'lease/timetolive': ['etcdserverpb.Lease', 'LeaseTimeToLive', 'unary'],
  'kv/lease/timetolive': ['etcdserverpb.Lease', 'LeaseTimeToLive', 'unary'],
  'lease/leases': ['etcdserverpb.Lease', 'LeaseLeases', 'unary'],
  'kv/lease/leases': ['etcdserverpb.Lease', 'LeaseLeases', 'unary'],
  'cluster/member/add': ['etcdserverpb.Cluster', 'MemberAdd', 'unary'],
  'cluster/member/remove': ['etcdserverpb.Cluster', 'MemberRemove', 'unary'],
  'cluster/member/update': ['etcdserverpb.Cluster', 'MemberUpdate', 'unary'],
  'cluster/member/list': ['etcdserverpb.Cluster', 'MemberList', 'unary'],
  'cluster/member/promote': ['etcdserverpb.Cluster', 'MemberPromote', 'unary'],
  'maintenance/alarm': ['etcdserverpb.Maintenance', 'Alarm', 'unary'],
  'maintenance/status': ['etcdserverpb.Maintenance', 'Status', 'unary'],
  'maintenance/defragment': ['etcdserverpb.Maintenance', 'Defragment', 'unary'],
  'maintenance/hash': ['etcdserverpb.Maintenance', 'Hash', 'unary'],
  'maintenance/hashkv': ['etcdserverpb.Maintenance', 'HashKV', 'unary'],
  'maintenance/snapshot': ['etcdserverpb.Maintenance', 'Snapshot', 'server_stream'],
  'maintenance/transfer-leadership': ['etcdserverpb.Maintenance', 'MoveLeader', 'unary'],
  'auth/enable': ['etcdserverpb.Auth', 'AuthEnable', 'unary'],
  'auth/disable': ['etcdserverpb.Auth', 'AuthDisable', 'unary'],
  'auth/status': ['etcdserverpb.Auth', 'AuthStatus', 'unary'],
  'auth/authenticate': ['etcdserverpb.Auth', 'Authenticate', 'unary'],
  'auth/user/add': ['etcdserverpb.Auth', 'UserAdd', 'unary'],
  'auth/user/get': ['etcdserverpb.Auth', 'UserGet', 'unary'],
  'auth/user/list': ['etcdserverpb.Auth', 'UserList', 'unary'],
  'auth/user/delete': ['etcdserverpb.Auth', 'UserDelete', 'unary'],
  'auth/user/changepw': ['etcdserverpb.Auth', 'UserChangePassword', 'unary'],
  'auth/user/grant': ['etcdserverpb.Auth', 'UserGrantRole', 'unary'],
  'auth/user/revoke': ['etcdserverpb.Auth', 'UserRevokeRole', 'unary'],
  'auth/role/add': ['etcdserverpb.Auth', 'RoleAdd', 'unary'],
  'auth/role/get': ['etcdserverpb.Auth', 'RoleGet', 'unary'],
  'auth/role/list': ['etcdserverpb.Auth', 'RoleList', 'unary'],
  'auth/role/delete': ['etcdserverpb.Auth', 'RoleDelete', 'unary'],
  'auth/role/grant': ['etcdserverpb.Auth', 'RoleGrantPermission', 'unary'],
  'auth/role/revoke': ['etcdserverpb.Auth', 'RoleRevokePermission', 'unary'],
  'lock/lock': ['v3lockpb.Lock', 'Lock', 'unary'],
  'lock/unlock': ['v3lockpb.Lock', 'Unlock', 'unary'],
  'election/campaign': ['v3electionpb.Election', 'Campaign', 'unary'],
  'election/proclaim': ['v3electionpb.Election', 'Proclaim', 'unary'],
  'election/leader': ['v3electionpb.Election', 'Leader', 'unary'],
  'election/observe': ['v3electionpb.Election', 'Observe', 'server_stream'],
  'election/resign': ['v3electionpb.Election', 'Resign', 'unary'],
};

/** grpc-gateway's HTTP status for each gRPC code (index = code). */
const httpStatus = [200, 499, 500, 400, 504, 404, 409, 403, 429, 412, 409, 400, 501, 500, 503, 500, 401];

class BadRequest extends Error {}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * etcd's JSON gateway on the client port: `POST /v3/<service>/<method>` with the request as
 * JSON (proto field names, bytes in base64, 64-bit integers as strings), answered the same
 * way, zero values left out. It calls the gRPC service code itself, so it behaves exactly as
 * the gRPC port. Anything else goes on to `next` (metrics, health, version).
 */
export function gatewayHandler(
  host: SessionHost,
  services: () => Readonly<Record<string, UntypedServiceImplementation>>,
  next: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  const dir = protoDir();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : join(dir, target));
  root.loadSync([...PROTO_FILES], { keepCase: true });
  const methodOf = (service: string, method: string): protobuf.Method => root.lookupService(service).methods[method]!;
  /** JSON -> the object grpc-js would have decoded (the same options as protos.ts). */
  const decode = (type: protobuf.Type, v: unknown): Msg => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BadRequest('the body must be a JSON object');
    let m: protobuf.Message;
    try {
      m = type.fromObject(v as Record<string, unknown>);
    } catch (err) {
      throw new BadRequest(`bad ${type.name}: ${(err as Error).message}`);
    }
    return type.toObject(m, { longs: String, enums: String, bytes: Buffer, defaults: true, oneofs: true }) as Msg;
  };
  /** A response as etcd's gateway writes it (proto3 JSON without zero values). */
  const encode = (type: protobuf.Type, m: Msg): unknown =>
    withoutDefaults(type, type.toObject(type.fromObject(m as Record<string, unknown>), { longs: String, enums: String, bytes: String }));
  const maxBodyBytes = host.limits.maxRequestBytes * JSON_OVERHEAD_FACTOR;
  const errorBody = (err: { code?: number; details?: string }): { error: string; message: string; code: number } => {
    const code = err.code ?? 2;
    const message = err.details ?? 'unknown error';
    return { error: message, message, code };
  };

  return (req, res) => {
    const m = /^\/v3(?:beta|alpha)?\/(.+?)\/?$/.exec((req.url ?? '').split('?')[0] ?? '');
    const route = m === null ? undefined : routes[m[1]!];
    if (route === undefined) return next(req, res);
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return json(res, 405, { error: 'method not allowed', message: 'method not allowed', code: 12 });
    }
    const [service, method, kind] = route;
    const impl = services()[service]?.[method] as ((...args: unknown[]) => void) | undefined;
    if (impl === undefined) return json(res, 501, { error: 'not implemented', message: 'not implemented', code: 12 });
    const desc = methodOf(service, method);
    const reqType = root.lookupType(desc.requestType);
    const resType = root.lookupType(desc.responseType);
    const fail = (status: number, err: { code?: number; details?: string }): void => {
      if (!res.headersSent) json(res, status, errorBody(err));
      else res.end();
    };
    const onMessage = (text: string, use: (m: Msg) => void): void => {
      try {
        use(decode(reqType, JSON.parse(text)));
      } catch (err) {
        fail(400, { code: 3, details: err instanceof BadRequest ? err.message : `bad JSON: ${(err as Error).message}` });
      }
    };
    if (kind === 'client_stream') {
      const call = new GatewayStreamCall({}, req, res, (msg) => encode(resType, msg), errorBody);
      impl(call);
      let bytes = 0;
      const objects = new JsonObjects((text) => onMessage(text, (msg) => call.push(msg)));
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        bytes += chunk.length;
        if (bytes > maxBodyBytes) {
          call.emit('error', { code: 3, details: 'etcdserver: request is too large' });
          req.destroy();
          return;
        }
        objects.feed(chunk);
      });
      return;
    }
    readBody(req, maxBodyBytes).then(
      (text) =>
        onMessage(text === '' ? '{}' : text, (msg) => {
          if (kind === 'server_stream') {
            impl(new GatewayStreamCall(msg, req, res, (out) => encode(resType, out), errorBody));
            return;
          }
          impl(new GatewayUnaryCall(msg, req, res), (err: { code?: number; details?: string } | null, out?: Msg) => {
            if (err !== null && err !== undefined) return fail(httpStatus[err.code ?? 2] ?? 500, err);
            try {
              json(res, 200, encode(resType, out ?? {}));
            } catch (e) {
              fail(500, { code: 13, details: `cannot encode the response: ${(e as Error).message}` });
            }
          });
        }),
      () => fail(400, { code: 3, details: 'etcdserver: request is too large' }),
    );
  };
}

/** Drops fields at their proto3 default (0, "", false, empty lists, an enum's first value), as jsonpb does. */
function withoutDefaults(type: protobuf.Type, o: Record<string, unknown>): Record<string, unknown> {
  for (const f of type.fieldsArray) {
    const v = o[f.name];
    f.resolve();
    const sub = f.resolvedType instanceof protobuf.Type ? f.resolvedType : undefined;
    if (Array.isArray(v)) {
      if (v.length === 0) delete o[f.name];
      else if (sub !== undefined) o[f.name] = v.map((x: Record<string, unknown>) => withoutDefaults(sub, x));
      continue;
    }
    if (v === undefined || v === null) continue;
    if (sub !== undefined) {
      o[f.name] = withoutDefaults(sub, v as Record<string, unknown>);
      continue;
    }
    const zeroEnum = f.resolvedType instanceof protobuf.Enum ? Object.keys(f.resolvedType.values)[0] : undefined;
    if (v === '0' || v === 0 || v === '' || v === false || (zeroEnum !== undefined && v === zeroEnum)) delete o[f.name];
  }
  return o;
}

/** The whole body as text, refusing (and dropping the connection) past `maxBytes`. */
function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > maxBytes) {
        reject(new Error('too large'));
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}
